/**
 * The throughput ceiling: `node dist/bench/ceiling-receiver.js SOCKET FILE`.
 *
 * The project's addon with nothing on top: recvmmsg batches of 256 with attribution `none`
 * (SCM_CREDENTIALS still arrive, as they do for every collector mode), each payload plus '\n'
 * copied into one 64 KiB buffer, written to FILE with one write(2) whenever it fills and every
 * 100 ms. No parsing, no records, no routing: the most any receiver built on this addon can take
 * on this machine, and the reference every throughput ratio is taken against. Prints `ready` once
 * bound; SIGTERM drains the socket, writes the rest and exits 0.
 */
import fs from 'node:fs';
import { Receiver } from '../collector';

const [socketPath, file] = process.argv.slice(2);
const CHUNK = 64 * 1024;
const fd = fs.openSync(file, 'a');
const chunk = Buffer.allocUnsafe(CHUNK);
let used = 0;

function flush(): void {
  let off = 0;
  while (off < used) off += fs.writeSync(fd, chunk, off, used - off);
  used = 0;
}

const receiver = new Receiver({ socketPath, method: 'none', batchSize: 256 }, (b) => {
  for (let i = 0; i < b.count; i++) {
    const p = b.payload(i);
    if (used + p.length + 1 > CHUNK) flush();
    if (p.length + 1 > CHUNK) {
      fs.writeSync(fd, p);
      fs.writeSync(fd, '\n');
      continue;
    }
    used += p.copy(chunk, used);
    chunk[used++] = 10;
  }
});
receiver.start();
const timer = setInterval(flush, 100);
process.on('SIGTERM', () => {
  clearInterval(timer);
  receiver.stop();
  flush();
  fs.closeSync(fd);
  process.exit(0);
});
process.stdout.write('ready\n');
