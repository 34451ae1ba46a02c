/**
 * The collector's own diagnostics: structured lines through winston (here a Stream transport
 * into a buffer), sentences with fields, and `limited()` keeping a repeating failure to one
 * line per interval per key, with the count of what it held back. Also the forwarder's lines
 * as an operator sees them.
 */
import { PassThrough } from 'node:stream';
import winston from 'winston';
import { createDiagnostics } from '../../sinks/diagnostics';
import { FORWARD_DEFAULTS, ForwardSink } from '../../sinks/forward';
import { captureDiagnostics } from '../helpers/capture';
import { waitFor } from '../helpers/fixtures';
import { recordFrom } from '../helpers/records';
import { freePort } from '../helpers/rsyslog';

describe('diagnostics', () => {
  test('json lines: one object per line with level, message, timestamp and the fields', async () => {
    const cap = captureDiagnostics();
    cap.diagnostics.info('Accepting messages on \'/run/log\'.', { socket: '/run/log', rung: 5 });
    cap.diagnostics.error('Cannot open \'x\': EACCES, dropping messages for this file.', { code: 'EACCES' });
    await cap.diagnostics.close();
    const lines = cap.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const [a, b] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toMatchObject({ level: 'info', message: "Accepting messages on '/run/log'.", socket: '/run/log', rung: 5 });
    expect(b).toMatchObject({ level: 'error', code: 'EACCES' });
    expect(String(a.timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('text lines: time, level, the sentence, then key=value fields, one line each', async () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (d: Buffer) => (text += d.toString()));
    const d = createDiagnostics({ level: 'info', file: null, format: 'text', transport: new winston.transports.Stream({ stream }) });
    d.warn('Sink \'central\' is dropping messages (queue_full); 12 dropped so far.', { sink: 'central', reason: 'queue_full', dropped: 12, note: 'two words' });
    d.debug('not shown at level info');
    await d.close();
    expect(text).toMatch(/^\S+ warn Sink 'central' is dropping messages \(queue_full\); 12 dropped so far\. sink=central reason=queue_full dropped=12 note="two words"\n$/);
  });

  test('limited(): one line per key and interval; the next says how many were held back', async () => {
    let now = 1_000_000;
    const cap = captureDiagnostics({ intervalMs: 60_000, now: () => now });
    const d = cap.diagnostics;
    for (let i = 0; i < 5; i++) d.limited('warn', 'forward:central:connect', 'Cannot connect to central:6514 (ECONNREFUSED).', { attempt: i });
    d.limited('warn', 'forward:other:connect', 'Cannot connect to other:514 (ECONNREFUSED).');
    now += 59_999;
    d.limited('warn', 'forward:central:connect', 'Cannot connect to central:6514 (ECONNREFUSED).', { attempt: 5 });
    now += 1;
    d.limited('warn', 'forward:central:connect', 'Cannot connect to central:6514 (ECONNREFUSED).', { attempt: 6 });
    await d.close();
    expect(cap.lines().map((l) => [l.message, l.attempt])).toEqual([
      ['Cannot connect to central:6514 (ECONNREFUSED).', 0],
      ['Cannot connect to other:514 (ECONNREFUSED).', undefined],
      ['Cannot connect to central:6514 (ECONNREFUSED). (5 more like this since the last report)', 6],
    ]);
  });

  test("a forwarder's failures are sentences with fields, rate-limited however often they happen", async () => {
    const port = await freePort();
    let now = Date.now();
    const cap = captureDiagnostics({ now: () => now });
    const sink = new ForwardSink({ ...FORWARD_DEFAULTS, name: 'central', host: '127.0.0.1', port, defaultHostname: 'h', reconnectBaseMs: 5, reconnectMaxMs: 10 }, { diagnostics: cap.diagnostics });
    sink.write(recordFrom({ name: 'web' }, '<13>Nov 28 13:40:51 app: one'));
    await waitFor(() => sink.stats().reconnects >= 10, 5000, 'ten attempts');
    expect(cap.lines()).toHaveLength(1);
    now += 60_000;
    await waitFor(() => cap.lines().length === 2, 5000, 'the next report');
    await sink.close();
    const [first, second] = cap.lines();
    expect(first).toMatchObject({ level: 'warn', sink: 'central', target: `127.0.0.1:${port}`, code: 'ECONNREFUSED', queued: 1 });
    expect(first.message).toMatch(/^Cannot connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\); retrying in \d+\.\d s, 1 message queued\.$/);
    expect(second.message).toMatch(/; retrying in \d+\.\d s, 1 message queued\. \(\d+ more like this since the last report\)$/);
    expect(sink.stats()).toMatchObject({ written: 0, dropped: { shutdown: 1 } });
  });
});
