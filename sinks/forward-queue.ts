/**
 * The forward sink's memory queue, and the framing of what it sends (RFC 6587 octet counting,
 * `LEN SP MSG`, or a '\n' after each message).
 *
 * A ring of `cap` slots holding encoded messages (strings) with their UTF-8 byte lengths beside
 * them in a Uint32Array, so framing never measures a string twice. Bounded twice: at most `cap`
 * messages and at most `maxBytes` bytes of them; the sink asks `fits()` and drops what does not
 * fit, the ring never grows. Messages go in at the tail and leave from the head in order. Of the
 * `count` queued, the first `sent` have been handed to the socket and wait for its write
 * callback: `release()` frees them from the head once confirmed, `unsendAll()` makes them
 * unsent again when the connection is lost, so the next connection sends them again, in order.
 *
 * Why separate from the connection: the ring is the only state `write()` touches per message
 * (besides the disk buffer), and it is all arithmetic on indexes; the connection only takes
 * batches from it (`frameUnsent`, one Buffer of at most `maxBytes` bytes for one socket write)
 * or single messages for UDP (`firstUnsent`). Nothing here allocates per message except the
 * batch Buffer itself, and nothing here does I/O.
 */
import { type DiskPosition } from './disk-buffer';

/** One socket write, from its `write()` until its callback. */
export interface Batch {
  /** Messages from the memory ring (from its head), and their bytes. */
  mem: number;
  memBytes: number;
  /** Messages in the batch, and bytes on the wire. */
  count: number;
  wireBytes: number;
  /** After a batch from disk: where the disk may be committed to. */
  disk: DiskPosition | null;
}

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : String(n).length;
}

function writeDecimal(buf: Buffer, off: number, n: number): number {
  const d = digits(n);
  let v = n;
  for (let i = off + d - 1; i >= off; i--) {
    buf[i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  return off + d;
}

/** Lines from the disk ('\n'-terminated) framed for the wire, and how many. */
export function frameLines(lines: Buffer, octets: boolean): { buf: Buffer; count: number } {
  let count = 0;
  let from = 0;
  if (!octets) {
    for (let nl = lines.indexOf(10, from); nl >= 0; nl = lines.indexOf(10, from)) {
      count++;
      from = nl + 1;
    }
    return { buf: lines, count };
  }
  let wire = 0;
  for (let nl = lines.indexOf(10, from); nl >= 0; nl = lines.indexOf(10, from)) {
    wire += digits(nl - from) + 1 + (nl - from);
    count++;
    from = nl + 1;
  }
  const buf = Buffer.allocUnsafe(wire);
  let off = 0;
  from = 0;
  for (let nl = lines.indexOf(10, from); nl >= 0; nl = lines.indexOf(10, from)) {
    off = writeDecimal(buf, off, nl - from);
    buf[off++] = 0x20;
    off += lines.copy(buf, off, from, nl);
    from = nl + 1;
  }
  return { buf, count };
}

/** The bounded ring of encoded messages. See the top of this file. */
export class ForwardQueue {
  readonly cap: number;
  readonly maxBytes: number;
  private readonly ring: (string | undefined)[];
  private readonly ringBytes: Uint32Array;
  private head: number;
  /** Messages queued (read-only outside this class). */
  count: number;
  /** Of `count`, handed to the socket and not yet confirmed (from `head`; read-only outside this class). */
  sent: number;
  /** Bytes of the `count` messages (read-only outside this class). */
  bytes: number;

  constructor(cap: number, maxBytes: number) {
    this.cap = cap;
    this.maxBytes = maxBytes;
    this.ring = new Array<string | undefined>(cap).fill(undefined);
    this.ringBytes = new Uint32Array(cap);
    this.head = 0;
    this.count = 0;
    this.sent = 0;
    this.bytes = 0;
  }

  /** Whether a message of `bytes` bytes may be queued now. */
  fits(bytes: number): boolean {
    return this.count < this.cap && this.bytes + bytes <= this.maxBytes;
  }

  /** Queues `msg` of `bytes` UTF-8 bytes at the tail; the caller has checked `fits()`. */
  push(msg: string, bytes: number): void {
    let slot = this.head + this.count;
    if (slot >= this.cap) slot -= this.cap;
    this.ring[slot] = msg;
    this.ringBytes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /**
   * Frames as many unsent messages as fit in `maxBytes` (at least one; the caller checked that
   * `sent < count`) into one Buffer, marks them sent, and fills `batch` with their counts.
   */
  frameUnsent(octets: boolean, maxBytes: number, batch: Batch): Buffer {
    const cap = this.cap;
    let i = this.head + this.sent;
    if (i >= cap) i -= cap;
    let n = 0;
    let memBytes = 0;
    let wire = 0;
    const left = this.count - this.sent;
    let j = i;
    while (n < left) {
      const b = this.ringBytes[j];
      const w = octets ? digits(b) + 1 + b : b + 1;
      if (n > 0 && wire + w > maxBytes) break;
      wire += w;
      memBytes += b;
      n++;
      if (++j === cap) j = 0;
    }
    const buf = Buffer.allocUnsafe(wire);
    let off = 0;
    j = i;
    for (let k = 0; k < n; k++) {
      const b = this.ringBytes[j];
      if (octets) {
        off = writeDecimal(buf, off, b);
        buf[off++] = 0x20;
        off += buf.write(this.ring[j] as string, off, b, 'utf8');
      } else {
        off += buf.write(this.ring[j] as string, off, b, 'utf8');
        buf[off++] = 0x0a;
      }
      if (++j === cap) j = 0;
    }
    batch.mem = n;
    batch.memBytes = memBytes;
    batch.count = n;
    batch.wireBytes = wire;
    this.sent += n;
    return buf;
  }

  /** The first unsent message (the caller checked that `sent < count`); `markSent()` after handing it over. */
  firstUnsent(): string {
    let i = this.head + this.sent;
    if (i >= this.cap) i -= this.cap;
    return this.ring[i] as string;
  }

  markSent(n: number): void {
    this.sent += n;
  }

  /** The connection is gone: what was handed to it and not confirmed is to be sent again. */
  unsendAll(): void {
    this.sent = 0;
  }

  /** Bytes of the message at the head. */
  headBytes(): number {
    return this.ringBytes[this.head];
  }

  /** Frees `n` confirmed messages of `bytes` bytes at the head. */
  release(n: number, bytes: number): void {
    const cap = this.cap;
    let h = this.head;
    for (let k = 0; k < n; k++) {
      this.ring[h] = undefined;
      if (++h === cap) h = 0;
    }
    this.head = h;
    this.count -= n;
    this.sent -= n;
    this.bytes -= bytes;
  }

  /** Empties the ring; returns its messages and their byte lengths, oldest first. */
  takeAll(): { msgs: string[]; lens: number[] } {
    const msgs: string[] = [];
    const lens: number[] = [];
    let h = this.head;
    for (let k = 0; k < this.count; k++) {
      msgs.push(this.ring[h] as string);
      lens.push(this.ringBytes[h]);
      if (++h === this.cap) h = 0;
    }
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
    this.sent = 0;
    this.bytes = 0;
    return { msgs, lens };
  }
}
