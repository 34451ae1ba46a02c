/**
 * The winston sink with real winston transports: the File transport that ships with winston
 * gets every record as a line, a transport's own level option filters by syslog severity, a
 * transport that cannot keep up fills our bounded queue (counted drops) rather than memory,
 * and a module or transport that does not exist is refused with what exists.
 */
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import TransportStream from 'winston-transport';
import { type LogRecord } from '../../collector';
import { createEncoder } from '../../sinks/format';
import { loadTransportClass, WinstonSink, type WinstonSinkOptions } from '../../sinks/winston-sink';
import { captureDiagnostics } from '../helpers/capture';
import { readLines } from '../helpers/daemon';
import { removeDir, tempDir, waitFor } from '../helpers/fixtures';
import { recordFrom } from '../helpers/records';

let dir: string;
beforeEach(() => {
  dir = tempDir('cs-winston-');
});
afterEach(() => removeDir(dir));

function options(over: Partial<WinstonSinkOptions>): WinstonSinkOptions {
  return {
    name: 'audit',
    module: 'winston',
    transport: 'File',
    options: {},
    format: 'text',
    hostname: 'node-1',
    queueMaxMessages: 10_000,
    closeTimeoutMs: 5000,
    ...over,
  };
}

/** Severity 0..7 in turn, from container `web`. */
function rec(i: number): LogRecord {
  return recordFrom({ name: 'web' }, `<${8 + (i % 8)}>Nov 28 13:40:51 app[7]: message ${i}`);
}

/** A transport slower than the messages: each log() completes a millisecond later. */
class SlowTransport extends TransportStream {
  readonly got: Record<string | symbol, unknown>[] = [];
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.got.push(info);
    setTimeout(next, 1);
  }
}

describe('the winston sink', () => {
  test("winston's own File transport gets every record as the line the file sink would write", async () => {
    const file = path.join(dir, 'audit.log');
    const sink = new WinstonSink(options({ options: { filename: file } }));
    const recs = Array.from({ length: 1000 }, (_, i) => rec(i));
    for (const r of recs) sink.write(r);
    await sink.close();
    const encode = createEncoder('text');
    expect(readLines(file)).toEqual(recs.map((r) => encode(r).slice(0, -1)));
    expect(sink.stats()).toMatchObject({ written: 1000, dropped: {}, queueMessages: 0, lastError: null });
  });

  test("the transport's level option filters by syslog severity (emerg … debug)", async () => {
    const file = path.join(dir, 'warn.log');
    const sink = new WinstonSink(options({ format: 'json', options: { filename: file, level: 'warning' } }));
    for (let i = 0; i < 80; i++) sink.write(rec(i));
    await sink.close();
    const lines = readLines(file).map((l) => JSON.parse(l) as { severity: string; container: { name: string } });
    expect(lines).toHaveLength(50); // severities 0..4 (emerg … warning) of every 8
    expect(new Set(lines.map((l) => l.severity))).toEqual(new Set(['emerg', 'alert', 'crit', 'err', 'warning']));
    expect(lines[0].container.name).toBe('web');
    expect(sink.stats()).toMatchObject({ written: 80, dropped: {} }); // handed to winston; the transport chose
  });

  test('the info a transport gets: syslog level, the sender text, identity fields, and the line as info[MESSAGE]', async () => {
    const t = new SlowTransport();
    const sink = new WinstonSink(options({ format: 'rfc5424' }), { transport: t });
    sink.write(recordFrom({ name: 'web', pod_namespace: 'prod', pod_name: 'web-1' }, '<11>Nov 28 13:40:51 app[7]: disk is full'));
    await sink.close();
    expect(t.got).toHaveLength(1);
    expect(t.got[0]).toMatchObject({
      level: 'error',
      message: 'disk is full',
      facility: 1,
      severity: 3,
      app: 'app',
      pid: 1234,
      container: 'web',
      runtime: 'docker',
      pod_namespace: 'prod',
      pod_name: 'web-1',
    });
    expect(t.got[0][Symbol.for('message')]).toMatch(/^<11>1 \S+ node-1 app 1234 - \[container-syslog@32473 runtime="docker" .*\] disk is full$/);
    expect(sink.stats()).toMatchObject({ written: 1, dropped: {} });
  });

  test('a transport that cannot keep up fills the bounded queue, not memory: drops are counted, the rest arrives in order', async () => {
    const t = new SlowTransport();
    const sink = new WinstonSink(options({ queueMaxMessages: 100 }), { transport: t });
    let sent = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 100; i++) sink.write(rec(sent++));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(sink.stats().dropped.queue_full).toBeGreaterThan(0);
    expect(sink.stats().queueMessages).toBeLessThanOrEqual(100);
    await sink.close();
    const st = sink.stats();
    expect(Object.keys(st.dropped)).toEqual(['queue_full']);
    expect(st.written + st.dropped.queue_full).toBe(sent);
    expect(t.got).toHaveLength(st.written);
    const order = t.got.map((i) => Number(/message (\d+)$/.exec(String(i.message))?.[1]));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  test('close() gives up after close_timeout_ms: what was not handed over counts as shutdown', async () => {
    const t = new (class extends TransportStream {
      override log(_info: unknown, _next: () => void): void {
        // never completes
      }
    })();
    const cap = captureDiagnostics();
    const sink = new WinstonSink(options({ closeTimeoutMs: 200 }), { transport: t, diagnostics: cap.diagnostics });
    for (let i = 0; i < 500; i++) sink.write(rec(i));
    await waitFor(() => sink.stats().written > 0, 2000, 'the first hand-over');
    await sink.close();
    const st = sink.stats();
    expect(st.written + (st.dropped.shutdown ?? 0)).toBe(500);
    expect(st.dropped.shutdown).toBeGreaterThan(400);
    expect(st.lastError).toBe('the transport did not finish writing within 200 ms');
    expect(cap.lines().map((l) => l.message)).toContain("Sink 'audit': the transport did not finish writing within 200 ms; what it still held may be lost.");
  });

  test('a module or transport that does not exist is refused, naming what exists', () => {
    expect(() => loadTransportClass('winston', 'Fiel')).toThrow(/the module 'winston' has no transport 'Fiel' \(found: .*File/);
    expect(() => loadTransportClass('no-such-transport-package', null)).toThrow("cannot load the module 'no-such-transport-package' (MODULE_NOT_FOUND)");
    expect(loadTransportClass('winston', 'Stream')).toBe(winston.transports.Stream);
    expect(loadTransportClass('winston-transport', null)).toBe(TransportStream);
    expect(() => new WinstonSink(options({ options: {} }))).toThrow(/cannot create the transport File: .*filename/i);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
