/**
 * The JavaScript side of the hot path alone, without the kernel: synthetic batches (records as
 * the addon fills them) through each stage in turn, so the cost of every stage per message shows
 * by difference. One JSON line per stage; ns per message over 1,000,000 messages in batches of 64.
 *
 *   node dist/bench/pipeline-bench.js [messages]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Batch, CgroupIndex, ContainerMetadataReader, FLAGS, parseSyslogRange, RecordBuilder, SenderResolver } from '../collector';
import { type CgroupTreeFs } from '../collector/cgroup-index';
import { RateLimiter, Router } from '../routing';
import { createEncoder } from '../sinks/format';
import { FileSink } from '../sinks/file-sink';

const MESSAGES = Number(process.argv[2] ?? 1_000_000);
const BATCH = 64;
const SLOT = 256;
const CONTAINERS = 8;

function syntheticBatch(): Batch {
  const payload = new ArrayBuffer(BATCH * SLOT);
  const index = new ArrayBuffer(BATCH * 96);
  const bytes = Buffer.from(payload);
  const f64 = new Float64Array(index);
  const u32 = new Uint32Array(index);
  const i32 = new Int32Array(index);
  const idx = Buffer.from(index);
  for (let i = 0; i < BATCH; i++) {
    const line = `<13>Nov 28 13:40:51 myapp[${1000 + (i % 4)}]: GET /api/v1/orders/list status=200 bytes=5123 duration_ms=12 user=alice worker=0${i % 4} seq=${String(i).padStart(8, '0')}`;
    const n = bytes.write(line, i * SLOT, 'latin1');
    f64[i * 12 + 0] = 1000 + (i % CONTAINERS); // cgroup id
    f64[i * 12 + 1] = 5000 + (i % 4); // process key
    f64[i * 12 + 2] = Date.now() * 1000;
    u32[i * 24 + 6] = i * SLOT;
    u32[i * 24 + 7] = n;
    u32[i * 24 + 8] = n;
    i32[i * 24 + 9] = 1000 + (i % 4);
    u32[i * 24 + 10] = 0;
    u32[i * 24 + 11] = 0;
    u32[i * 24 + 13] = FLAGS.creds | FLAGS.pidfd | FLAGS.cgroup | FLAGS.commCached | FLAGS.timestamp;
    idx.write('myapp', i * 96 + 64, 'latin1');
  }
  const b = new Batch(payload, index);
  b.count = BATCH;
  return b;
}

function resolver(): SenderResolver {
  const dirs = new Map<string, number>([['/cg', 1]]);
  for (let c = 0; c < CONTAINERS; c++) dirs.set(`/cg/system.slice/docker-${String(c).repeat(64).slice(0, 64)}.scope`, 1000 + c);
  dirs.set('/cg/system.slice', 999);
  const tree: CgroupTreeFs = {
    subdirs: (d) => [...dirs.keys()].filter((k) => path.dirname(k) === d && k !== d).map((k) => path.basename(k)),
    inode: (d) => dirs.get(d) ?? null,
    watch: () => null,
  };
  const index = new CgroupIndex({ mount: '/cg', treeFs: tree, resolveById: null, watch: false });
  index.start();
  return new SenderResolver({ index, metadata: new ContainerMetadataReader({ dockerRoot: null, podmanRoot: null, podsLogRoot: null, containersLogRoot: null }) });
}

function run(stage: string, perMessage: (b: Batch, i: number, now: number) => void, perBatch: () => void = () => undefined): void {
  const b = syntheticBatch();
  const rounds = Math.ceil(MESSAGES / BATCH);
  for (let r = 0; r < rounds / 10; r++) for (let i = 0; i < BATCH; i++) perMessage(b, i, Date.now()); // warm up
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    const now = Date.now();
    for (let i = 0; i < BATCH; i++) perMessage(b, i, now);
    perBatch();
  }
  const ns = Number(process.hrtime.bigint() - t0) / (rounds * BATCH);
  process.stdout.write(`${JSON.stringify({ case: `pipeline-${stage}`, ns_per_msg: Math.round(ns) })}\n`);
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-pipeline-bench-'));
  try {
    const res = resolver();
    const builder = new RecordBuilder({ resolver: res });
    const router = new Router([], { sinkNames: ['files'], defaultSinks: ['files'], defaultRateLimit: { interval_secs: 30, burst: 0 } });
    const limiter = new RateLimiter({ onNotice: () => undefined });
    const encode = createEncoder('text', { hostname: 'h' });
    let sink = 0;
    run('payload-decode', (b, i) => void (sink += b.text(i).length));
    run('parse', (b, i, now) => {
      const start = b.payloadOffset(i);
      sink += parseSyslogRange(b.bytes, start, start + b.length(i), now).message.length;
    });
    run('build-record', (b, i, now) => void (sink += builder.build(b, i, now).pid));
    run('build+route+limit', (b, i, now) => {
      const rec = builder.build(b, i, now);
      const d = router.route(rec);
      if (limiter.allow(rec, d)) sink++;
    });
    run('build+encode-text', (b, i, now) => void (sink += encode(builder.build(b, i, now)).length));
    const files = new FileSink({ dir, format: 'text', rotateBytes: 0, flushIntervalMs: 0, idleCloseMs: 0 });
    run(
      'full-text-files',
      (b, i, now) => {
        const rec = builder.build(b, i, now);
        const d = router.route(rec);
        if (limiter.allow(rec, d)) files.write(rec);
      },
      () => files.flush(),
    );
    files.close();
    if (sink < 0) process.stdout.write('');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
