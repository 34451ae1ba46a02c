/**
 * The naive Node receiver of PERF-ANCHORS.md: `node dist/bench/naive-receiver.js SOCKET FILE`.
 *
 * What a Node user would write first: npm unix-dgram, one callback per datagram (one recvmsg
 * each, no credentials: its API has no setsockopt), the text plus '\n' into a write stream,
 * back-pressure ignored. Prints `ready` once bound; SIGTERM ends the stream and exits 0.
 */
import fs from 'node:fs';

interface UnixDgramSocket {
  bind(path: string): void;
  close(): void;
}
interface UnixDgram {
  createSocket(type: 'unix_dgram', onMessage: (buf: Buffer) => void): UnixDgramSocket;
}

const [socketPath, file] = process.argv.slice(2);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const unix = require('unix-dgram') as UnixDgram;
const out = fs.createWriteStream(file, { flags: 'a' });
const socket = unix.createSocket('unix_dgram', (buf) => out.write(buf.toString() + '\n'));
socket.bind(socketPath);
fs.chmodSync(socketPath, 0o666);
process.on('SIGTERM', () => {
  socket.close();
  out.end(() => process.exit(0));
});
process.stdout.write('ready\n');
