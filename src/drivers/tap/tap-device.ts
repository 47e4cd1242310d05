// A Linux TAP device opened from TypeScript: /dev/net/tun + TUNSETIFF through koffi
// (libc ioctl/read/write/poll). Frames are read by a worker thread that polls the
// nonblocking fd and hands them over in batches. Frames are written on the event loop, or
// (writer 'thread', for bulk throughput) by a second worker thread: the frames of one
// event-loop turn are copied into one buffer that moves to that thread and comes back
// when written (a small pool: no allocation, no GC per batch) — the write syscall carries
// the kernel's whole receive path (bridge, veth, the peer's TCP), which then runs beside
// the event loop instead of on it. The event loop never blocks. Optional IFF_VNET_HDR:
// checksum and segmentation offloads (struct virtio_net_hdr before every frame), so our
// stack can hand over 64 KB TCP segments.
// What runs a host on the device is tap-driver.ts; namespaces are src/lab's business.
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import koffi from 'koffi';
import { foldChecksum, onesSum, pseudoHeaderSum } from '../../wire/checksum.js';

// <linux/if_tun.h>
const TUNSETIFF = 0x400454ca; // _IOW('T', 202, int)
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const TUNSETOFFLOAD = 0x400454d0; // _IOW('T', 208, unsigned int), the value is the argument
const TUNSETVNETHDRSZ = 0x400454d8; // _IOW('T', 216, int), a pointer to the size
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
// <linux/virtio_net.h> struct virtio_net_hdr (the legacy 10-byte form; little-endian here)
export const VNET_HDR_BYTES = 10;
const VNET_F_NEEDS_CSUM = 1;
const VNET_GSO_TCPV4 = 1;
const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on 64-bit Linux. */
const IFREQ_BYTES = 40;

/** Largest frame read: the MTU must stay below this. */
export const TAP_FRAME_MAX_BYTES = 9216;
/** With offloads the kernel may hand over coalesced TCP segments up to 64 KB. */
const OFFLOAD_FRAME_MAX_BYTES = 65536 + 64;
/** Bytes per batch buffer handed from the reader thread to the event loop. */
const BATCH_BYTES = 256 * 1024;
const OFFLOAD_BATCH_BYTES = 1024 * 1024;
/** Staging buffer for the frames of one event-loop turn (a full one goes at once). */
const TX_STAGE_BYTES = 512 * 1024;
/** Frames of one turn written on the event loop itself when the writer thread is idle. */
const DIRECT_WRITE_MAX_FRAMES = 2;
/** Bytes handed to the writer thread and not yet written; past it frames are refused (counted). */
const TX_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** Batches handed over but not yet processed; past it the reader waits (and the kernel queue drops). */
const MAX_BATCHES_IN_FLIGHT = 16;

export type TapErrorCode = 'TAP_NOT_ROOT' | 'TAP_NO_TUN' | 'TAP_BUSY' | 'TAP_NOT_TAP' | 'TAP_BAD_NAME' | 'TAP_IO';

/** One-line errors that say what is wrong and what to do; `code` is stable for tests. */
export class TapError extends Error {
  constructor(readonly code: TapErrorCode, message: string) {
    super(message);
    this.name = 'TapError';
  }
}

interface Libc {
  ioctl(fd: number, req: number, arg: Uint8Array): number;
  ioctlValue(fd: number, req: number, arg: number): number;
  write(fd: number, buf: Uint8Array, n: number): number;
}

/**
 * How frames are written; 'direct' (default): write() on the event loop, each frame at
 * once; 'thread': copied, and at the end of the event-loop turn handed as one batch to a
 * writer thread that write()s them (bulk throughput: the lab's pair servers and clients). (A SharedArrayBuffer ring was measured first: V8 copies
 * into shared memory at about 1 GB/s, several times slower than into an ArrayBuffer.)
 */
export type TapWriter = 'thread' | 'direct';

export interface TapOpenOptions {
  /**
   * IFF_VNET_HDR with TUN_F_CSUM | TUN_F_TSO4: frames larger than the MTU that carry
   * TCP/IPv4 go to the kernel as one GSO packet cut into pieces of `mss` less the
   * segment's options (the stack must only make them while the peer's MSS is at least
   * `mss`: tcp tsoMaxBytes does); received frames may carry partial checksums (completed
   * here) and may be coalesced TCP segments up to 64 KB.
   */
  offload?: { mss: number; mtu: number };
  writer?: TapWriter;
}

/**
 * How frames are read; neither blocks the event loop. 'worker' (default): a worker
 * thread polls the nonblocking fd, reads every queued frame and transfers the batch.
 * 'async-poll': poll() runs as a koffi async call (its own thread, 100 ms cap) and the
 * event loop then reads every queued frame itself (nonblocking), saving the transfer.
 * (A blocking read on libuv's thread pool was tried and dropped: a read parked in the
 * kernel keeps process.exit() waiting for that thread.)
 */
export type TapReader = 'worker' | 'async-poll';

let libc: Libc | undefined;
function loadLibc(): Libc {
  if (libc === undefined) {
    const lib = koffi.load('libc.so.6');
    libc = {
      ioctl: lib.func('int ioctl(int fd, unsigned long req, _Inout_ void *arg)') as Libc['ioctl'],
      ioctlValue: lib.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']) as Libc['ioctlValue'],
      write: lib.func('long write(int fd, const void *buf, unsigned long n)') as Libc['write'],
    };
  }
  return libc;
}

export interface TapCounters {
  framesIn: number; framesOut: number; batchesIn: number;
  /** write() refused the frame (direct writer), or the ring was full (thread writer). */
  writeErrors: number;
  /** Frames larger than the MTU sent as one GSO packet (offload). */
  gsoOut: number;
  /** Received frames whose partial checksum we completed (offload). */
  csumCompleted: number;
  /** Received frames the kernel had coalesced (offload). */
  gsoIn: number;
}

// ctl slots (Int32, shared with both threads)
const C_STOP = 0, C_RX_INFLIGHT = 1, C_TX_QUEUED = 2, C_TX_ERRORS = 3;

export class TapDevice {
  private worker: Worker | undefined;
  private writerThread: Worker | undefined;
  /** Each thread's exit, watched from its start (one may end before close() awaits it). */
  private readonly exits: Promise<void>[] = [];
  private port: MessagePort | undefined;
  private onMessage: ((m: ReaderMessage) => void) | undefined;
  private drainNow: (() => void) | undefined;
  private onReadable: (() => void) | undefined;
  /** Batches read and not yet wholly taken, oldest first (from rxHead). */
  private rxQueue: RxBatch[] = [];
  private rxHead = 0;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(32));
  private closed = false;
  readonly counters: TapCounters = { framesIn: 0, framesOut: 0, batchesIn: 0, writeErrors: 0, gsoOut: 0, csumCompleted: 0, gsoIn: 0 };
  private readonly vnet: boolean;
  private readonly hdr: number;
  private readonly frameMax: number;
  private readonly batchBytes: number;
  private txPort: MessagePort | undefined;
  private txStage: Uint8Array | undefined;
  /** Staging buffers the writer thread has given back. */
  private readonly txPool: Uint8Array[] = [];
  private txLens: number[] = [];
  private txOff = 0;

  private constructor(readonly fd: number, readonly name: string, private readonly opts: TapOpenOptions) {
    this.vnet = opts.offload !== undefined;
    this.hdr = this.vnet ? VNET_HDR_BYTES : 0;
    this.frameMax = this.vnet ? OFFLOAD_FRAME_MAX_BYTES : TAP_FRAME_MAX_BYTES;
    this.batchBytes = this.vnet ? OFFLOAD_BATCH_BYTES : BATCH_BYTES;
    if ((opts.writer ?? 'direct') === 'thread') this.startWriter();
  }

  /** Whether frames carry a virtio_net_hdr (offloads on). */
  get offload(): boolean { return this.vnet; }

  /**
   * Attaches to TAP device `name` in the calling process's network namespace (creating
   * a non-persistent one if it does not exist). Throws TapError with a one-line reason.
   */
  static open(name: string, opts: TapOpenOptions = {}): TapDevice {
    if (name.length === 0 || name.length >= IFNAMSIZ || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new TapError('TAP_BAD_NAME', `bad TAP device name '${name}': 1–15 characters of [A-Za-z0-9_.-]`);
    }
    let fd: number;
    try {
      fd = openSync('/dev/net/tun', constants.O_RDWR | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO') {
        throw new TapError('TAP_NO_TUN', 'no /dev/net/tun: load the tun module (modprobe tun) or create the node (mknod /dev/net/tun c 10 200)');
      }
      if (code === 'EACCES' || code === 'EPERM') {
        throw new TapError('TAP_NOT_ROOT', 'not permitted to open /dev/net/tun: run as root (or with CAP_NET_ADMIN)');
      }
      throw new TapError('TAP_IO', `cannot open /dev/net/tun: ${(e as Error).message}`);
    }
    const ifr = new Uint8Array(IFREQ_BYTES);
    ifr.set(new TextEncoder().encode(name));
    new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | (opts.offload ? IFF_VNET_HDR : 0), true);
    const r = loadLibc().ioctl(fd, TUNSETIFF, ifr);
    if (r < 0) {
      const errno = koffi.errno();
      closeSync(fd);
      const E = koffi.os.errno as Record<string, number>;
      if (errno === E.EPERM || errno === E.EACCES) {
        throw new TapError('TAP_NOT_ROOT', `not permitted to attach TAP '${name}': run as root (CAP_NET_ADMIN), or create it for this user with 'ip tuntap add dev ${name} mode tap user $USER'`);
      }
      if (errno === E.EBUSY) {
        throw new TapError('TAP_BUSY', `TAP device '${name}' is busy: another process has it open; stop that process or use another name`);
      }
      if (errno === E.EINVAL) {
        throw new TapError('TAP_NOT_TAP', `'${name}' exists and is not a TAP device without packet info; delete it (ip link del ${name}) or use another name`);
      }
      throw new TapError('TAP_IO', `TUNSETIFF on '${name}' failed with errno ${errno}`);
    }
    if (opts.offload) {
      const sz = new Uint8Array(4);
      new DataView(sz.buffer).setInt32(0, VNET_HDR_BYTES, true);
      const a = loadLibc().ioctl(fd, TUNSETVNETHDRSZ, sz);
      const b = a < 0 ? a : loadLibc().ioctlValue(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4);
      if (b < 0) {
        const errno = koffi.errno();
        closeSync(fd);
        throw new TapError('TAP_IO', `enabling offloads on TAP '${name}' failed with errno ${errno}: run without offloads`);
      }
    }
    return new TapDevice(fd, name, opts);
  }

  /**
   * Sends one Ethernet frame. Returns false (and counts) when the kernel refused it or
   * the transmit ring is full. With offloads, a TCP/IPv4 frame longer than the MTU goes
   * as one GSO packet; without them such a frame is refused.
   */
  write(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const total = this.hdr + frame.length;
    let ok: boolean;
    if (this.txPort === undefined) {
      let buf = frame;
      if (this.vnet) {
        buf = new Uint8Array(total);
        buf.set(frame, VNET_HDR_BYTES);
        if (!this.vnetHeader(buf, 0, frame.length)) { this.counters.writeErrors++; return false; }
      } else if (frame.length > this.frameMax) { this.counters.writeErrors++; return false; }
      ok = loadLibc().write(this.fd, buf, total) === total;
    } else {
      ok = this.enqueue(frame, total);
    }
    if (!ok) { this.counters.writeErrors++; return false; }
    this.counters.framesOut++;
    return true;
  }

  /** Batches the reader thread has handed over and the event loop has not processed yet. */
  pendingBatches(): number { return Atomics.load(this.ctl, C_RX_INFLIGHT); }

  /** Frames the writer thread could not write (the kernel refused them). */
  writerErrors(): number { return Atomics.load(this.ctl, C_TX_ERRORS); }

  /** Copies the frame into the staging buffer; the batch goes to the writer thread at the end of this turn. */
  private enqueue(frame: Uint8Array, total: number): boolean {
    if (total > TX_STAGE_BYTES) return false;
    if (Atomics.load(this.ctl, C_TX_QUEUED) + this.txOff + total > TX_MAX_QUEUED_BYTES) return false;
    if (this.txStage !== undefined && this.txOff + total > TX_STAGE_BYTES) this.flushWrites();
    const stage = this.txStage ?? (this.txStage = this.takeStage());
    const at = this.txOff;
    stage.set(frame, at + this.hdr);
    if (this.vnet && !this.vnetHeader(stage, at, frame.length)) return false;
    if (this.txOff === 0) queueMicrotask(() => this.flushWrites());
    this.txLens.push(total);
    this.txOff += total;
    return true;
  }

  /** Hands the frames written so far to the writer thread (one copy of the used bytes, transferred). */
  private flushWrites(): void {
    const buf = this.txStage;
    if (this.txOff === 0 || this.txPort === undefined || buf === undefined) return;
    if (this.txLens.length <= DIRECT_WRITE_MAX_FRAMES && Atomics.load(this.ctl, C_TX_QUEUED) === 0) {
      // A turn that sends a frame or two (a reply, an ACK) while the writer thread has
      // nothing queued: written here, in order, sparing the round trip a thread wakeup.
      let off = 0;
      for (const n of this.txLens) {
        if (loadLibc().write(this.fd, buf.subarray(off, off + n), n) !== n) this.counters.writeErrors++;
        off += n;
      }
      this.txLens = [];
      this.txOff = 0;
      return;
    }
    Atomics.add(this.ctl, C_TX_QUEUED, this.txOff);
    this.txPort.postMessage({ buf, lens: this.txLens }, [buf.buffer as ArrayBuffer]);
    this.txStage = undefined;
    this.txLens = [];
    this.txOff = 0;
  }

  /** A staging buffer: one the writer gave back, else a new one (at most queued/stage + 1 exist). */
  private takeStage(): Uint8Array {
    const port = this.txPort!;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const back = (m.message as { back?: Uint8Array }).back;
      if (back !== undefined) this.txPool.push(back);
    }
    return this.txPool.pop() ?? new Uint8Array(TX_STAGE_BYTES);
  }

  /**
   * Fills the virtio_net_hdr at buf[at, at+10) for the frame that follows it. Frames up to
   * the MTU: no offload (our stack's checksums are complete). Larger TCP/IPv4 frames: GSO
   * TCPV4 at our MSS less the segment's options, checksum partial (the field then holds
   * the pseudo-header sum, as the kernel's segmentation expects). Else false: unsendable.
   */
  private vnetHeader(buf: Uint8Array, at: number, frameLen: number): boolean {
    buf.fill(0, at, at + VNET_HDR_BYTES);
    const off = this.opts.offload!;
    if (frameLen <= 14 + off.mtu) return true;
    const f = at + VNET_HDR_BYTES;
    if (frameLen > 14 + 65535 || buf[f + 12] !== 0x08 || buf[f + 13] !== 0x00 || buf[f + 14 + 9] !== 6) return false;
    const ihl = (buf[f + 14]! & 0x0f) * 4;
    const l4 = f + 14 + ihl;
    const thl = (buf[l4 + 12]! >> 4) * 4;
    const dv = new DataView(buf.buffer, buf.byteOffset + at, VNET_HDR_BYTES);
    dv.setUint8(0, VNET_F_NEEDS_CSUM);
    dv.setUint8(1, VNET_GSO_TCPV4);
    dv.setUint16(2, 14 + ihl + thl, true);
    dv.setUint16(4, off.mss - (thl - 20), true);
    dv.setUint16(6, 14 + ihl, true);
    dv.setUint16(8, 16, true);
    const ip = f + 14;
    const src = ((buf[ip + 12]! << 24) | (buf[ip + 13]! << 16) | (buf[ip + 14]! << 8) | buf[ip + 15]!) >>> 0;
    const dst = ((buf[ip + 16]! << 24) | (buf[ip + 17]! << 16) | (buf[ip + 18]! << 8) | buf[ip + 19]!) >>> 0;
    const partial = ~foldChecksum(pseudoHeaderSum(src, dst, 6, frameLen - 14 - ihl)) & 0xffff;
    buf[l4 + 16] = partial >> 8;
    buf[l4 + 17] = partial & 0xff;
    this.counters.gsoOut++;
    return true;
  }

  /**
   * A received frame (with its virtio_net_hdr when offloads are on) → the Ethernet frame,
   * its partial checksum completed. A view into `buf`.
   */
  private received(buf: Uint8Array, off: number, n: number): Uint8Array {
    if (!this.vnet) return buf.subarray(off, off + n);
    const f = buf.subarray(off + VNET_HDR_BYTES, off + n);
    const flags = buf[off]!;
    if (buf[off + 1]! !== 0) this.counters.gsoIn++;
    if ((flags & VNET_F_NEEDS_CSUM) !== 0) {
      const start = buf[off + 6]! | (buf[off + 7]! << 8);
      const field = start + (buf[off + 8]! | (buf[off + 9]! << 8));
      if (field + 2 <= f.length) {
        // The field holds the pseudo-header sum; the checksum covers it and the rest from start.
        const c = foldChecksum(onesSum(f, start, f.length - start));
        f[field] = c >> 8;
        f[field + 1] = c & 0xff;
        this.counters.csumCompleted++;
      }
    }
    return f;
  }

  private startWriter(): void {
    const koffiPath = createRequire(import.meta.url).resolve('koffi');
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(WRITER_SOURCE, { eval: true, workerData: { koffiPath, fd: this.fd, ctl: this.ctl, port: port2 }, transferList: [port2] });
    port1.unref();
    this.txPort = port1;
    // An error here is a bug in the source above; the reader reports device failures.
    w.on('error', (e) => { this.counters.writeErrors++; console.error(`TAP writer thread: ${e.message}`); });
    this.exits.push(new Promise<void>((resolve) => { w.once('exit', () => resolve()); }));
    w.unref();
    this.writerThread = w;
  }

  /**
   * Starts reading. Frames the reader has read wait in this device's queue, oldest first,
   * until taken with takeFrames(); `onReadable` says a batch has arrived (called on the
   * event loop; it may come from inside drainReadable()). The reader stops reading while
   * MAX_BATCHES_IN_FLIGHT batches wait (then the kernel's queue fills and drops).
   * `onError` gets a fatal read error.
   */
  startReading(onReadable: () => void, onError: (e: TapError) => void, reader: TapReader = 'worker'): void {
    if (this.worker !== undefined || this.reading || this.closed) return;
    this.onReadable = onReadable;
    if (reader === 'async-poll') { this.readWithAsyncPoll(onError); return; }
    const koffiPath = createRequire(import.meta.url).resolve('koffi');
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(READER_SOURCE, {
      eval: true,
      workerData: { koffiPath, fd: this.fd, ctl: this.ctl, frameMax: this.frameMax, batchBytes: this.batchBytes, maxInFlight: MAX_BATCHES_IN_FLIGHT, port: port2 },
      transferList: [port2],
    });
    this.onMessage = (m) => {
      if (m.error !== undefined) { onError(new TapError('TAP_IO', `reading TAP '${this.name}': ${m.error}`)); return; }
      if (this.closed || m.buf === undefined || m.lens === undefined) { this.batchDone(); return; }
      this.queueBatch(m.buf, m.lens, m.readUs ?? monotonicUs(), true);
    };
    port1.on('message', (m: ReaderMessage) => this.onMessage?.(m));
    w.on('error', (e) => onError(new TapError('TAP_IO', `TAP reader thread: ${e.message}`)));
    this.exits.push(new Promise<void>((resolve) => { w.once('exit', () => resolve()); }));
    this.port = port1;
    this.worker = w;
  }

  /** A batch read into `buf` (frames of `lens` bytes back to back) joins the queue. */
  private queueBatch(buf: Uint8Array, lens: number[], readUs: number, fromWorker: boolean): void {
    const frames: Uint8Array[] = [];
    let off = 0;
    for (const n of lens) { frames.push(this.received(buf, off, n)); off += n; }
    this.counters.batchesIn++;
    this.counters.framesIn += frames.length;
    this.rxQueue.push({ frames, next: 0, readUs, fromWorker });
    this.onReadable?.();
  }

  /** The reader thread may read another batch. */
  private batchDone(): void {
    Atomics.sub(this.ctl, C_RX_INFLIGHT, 1);
    Atomics.notify(this.ctl, C_RX_INFLIGHT);
  }

  /** Frames read and not yet taken. */
  waitingFrames(): number {
    let n = 0;
    for (let i = this.rxHead; i < this.rxQueue.length; i++) n += this.rxQueue[i]!.frames.length - this.rxQueue[i]!.next;
    return n;
  }

  /**
   * When the oldest waiting frame was read (monotonic µs, monotonicUs()'s clock: the time
   * the reader found the device readable, so no frame of the batch was read before it).
   */
  oldestReadUs(): number | undefined {
    return this.rxHead < this.rxQueue.length ? this.rxQueue[this.rxHead]!.readUs : undefined;
  }

  /**
   * Hands up to `max` waiting frames, oldest first, to `fn` (each a view that stays valid
   * after the call: every batch has a buffer of its own); none of a batch read after
   * `notAfterUs`; stops after a frame for which `fn` returns false, or when the device is
   * closed meanwhile. Returns how many were handed over.
   */
  takeFrames(max: number, fn: (frame: Uint8Array, readUs: number) => boolean | void, notAfterUs = Infinity): number {
    let n = 0;
    while (n < max && this.rxHead < this.rxQueue.length && !this.closed) {
      const b = this.rxQueue[this.rxHead]!;
      if (b.next < b.frames.length) {
        if (b.readUs > notAfterUs) break;
        const f = b.frames[b.next]!;
        b.frames[b.next++] = EMPTY;
        n++;
        if (fn(f, b.readUs) === false) break;
        continue;
      }
      this.rxQueue[this.rxHead++] = undefined as unknown as RxBatch;
      if (this.rxHead === this.rxQueue.length) { this.rxQueue.length = 0; this.rxHead = 0; }
      if (b.fromWorker) this.batchDone();
    }
    // A batch emptied by the last frame taken is released at once (the reader may go on).
    while (this.rxHead < this.rxQueue.length && this.rxQueue[this.rxHead]!.next === this.rxQueue[this.rxHead]!.frames.length) {
      const b = this.rxQueue[this.rxHead]!;
      this.rxQueue[this.rxHead++] = undefined as unknown as RxBatch;
      if (this.rxHead === this.rxQueue.length) { this.rxQueue.length = 0; this.rxHead = 0; }
      if (b.fromWorker) this.batchDone();
    }
    return n;
  }

  /**
   * Moves every batch already read (those the reader thread has handed over but the
   * event loop has not been told of yet, or, with 'async-poll', what the fd has now) into
   * the queue, synchronously: a driver about to fire overdue timers sees what came first.
   */
  drainReadable(): void {
    if (this.closed) return;
    if (this.drainNow !== undefined) { this.drainNow(); return; }
    const port = this.port;
    if (port === undefined || this.onMessage === undefined) return;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.onMessage(m.message as ReaderMessage);
  }

  private reading = false;

  private readWithAsyncPoll(onError: (e: TapError) => void): void {
    const lib = koffi.load('libc.so.6');
    const poll = lib.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)');
    const readFn = lib.func('long read(int fd, _Out_ void *buf, unsigned long n)') as (fd: number, buf: Uint8Array, n: number) => number;
    const EAGAIN = (koffi.os.errno as Record<string, number>).EAGAIN;
    this.reading = true;
    const pfd = new Uint8Array(8);
    const dv = new DataView(pfd.buffer);
    dv.setInt32(0, this.fd, true);
    dv.setInt16(4, 1, true); // POLLIN
    const scratch = new Uint8Array(this.batchBytes);
    const drain = (): boolean => {
      const readUs = monotonicUs();
      // Everything queued now, read on the event loop (nonblocking), handed over as one
      // batch: a copy of exactly the bytes read (frames may be kept by the endpoint).
      const lens: number[] = [];
      let off = 0;
      while (off + this.frameMax <= this.batchBytes) {
        const n = readFn(this.fd, scratch.subarray(off), this.frameMax);
        if (n <= 0) {
          const e = koffi.errno();
          if (n < 0 && e !== EAGAIN) { onError(new TapError('TAP_IO', `reading TAP '${this.name}': errno ${e}`)); return false; }
          break;
        }
        lens.push(n);
        off += n;
      }
      if (lens.length > 0) this.queueBatch(scratch.slice(0, off), lens, readUs, false);
      return true;
    };
    this.drainNow = () => { drain(); };
    const arm = (): void => {
      if (this.closed) return;
      // poll() runs on koffi's async thread with a 100 ms cap, so nothing is ever parked
      // in a blocking read when the process wants to exit.
      (poll as unknown as { async: (...a: unknown[]) => void }).async(pfd, 1, 100, (err: unknown, r: number) => {
        if (this.closed) return;
        if (err) { onError(new TapError('TAP_IO', `poll on TAP '${this.name}': ${String(err)}`)); return; }
        // While the driver has MAX_BATCHES_IN_FLIGHT batches still to take, read nothing
        // (the kernel queue holds, then drops) and look again in a millisecond.
        if (this.rxQueue.length - this.rxHead >= MAX_BATCHES_IN_FLIGHT) { setTimeout(arm, 1); return; }
        if (r > 0 && !drain()) return;
        arm();
      });
    };
    arm();
  }

  /** Stops the reader (within its 100 ms poll timeout) and the writer (after the frames queued), closes the fd. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, C_STOP, 1);
    Atomics.notify(this.ctl, C_RX_INFLIGHT);
    this.flushWrites();
    this.txPort?.postMessage({ stop: true });
    this.txPort?.close();
    this.port?.close();
    this.writerThread?.ref(); // unref'd while idle; its exit is awaited now
    await Promise.all(this.exits);
    closeSync(this.fd);
  }
}

interface ReaderMessage { buf?: Uint8Array; lens?: number[]; readUs?: number; error?: string }
interface RxBatch { frames: Uint8Array[]; next: number; readUs: number; fromWorker: boolean }
const EMPTY = new Uint8Array(0);

/** Monotonic microseconds (CLOCK_MONOTONIC, the same in every thread): the stamps of read batches. */
export function monotonicUs(): number { return Number(process.hrtime.bigint() / 1000n); }

// The reader thread (CommonJS, evaluated): poll(POLLIN, 100 ms), then read() into its
// scratch buffer until EAGAIN or it is full, then transfer a copy of exactly the bytes read
// (not a fresh full-size buffer per wakeup: with offloads that is 1 MB per ACK batch).
const READER_SOURCE = `
const { workerData } = require('node:worker_threads');
const parentPort = workerData.port;
const koffi = require(workerData.koffiPath);
const lib = koffi.load('libc.so.6');
const poll = lib.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)');
const read = lib.func('long read(int fd, _Out_ void *buf, unsigned long n)');
const { fd, ctl, frameMax, batchBytes, maxInFlight } = workerData;
const EAGAIN = koffi.os.errno.EAGAIN;
const pfd = new Uint8Array(8);
const dv = new DataView(pfd.buffer);
dv.setInt32(0, fd, true);
dv.setInt16(4, 1, true); // POLLIN
let failed = false;
const scratch = new Uint8Array(batchBytes);
while (Atomics.load(ctl, 0) === 0 && !failed) {
  const inflight = Atomics.load(ctl, 1);
  if (inflight >= maxInFlight) { Atomics.wait(ctl, 1, inflight, 100); continue; }
  const r = poll(pfd, 1, 100);
  if (r <= 0) continue;
  const readUs = Number(process.hrtime.bigint() / 1000n);
  const buf = scratch;
  const lens = [];
  let off = 0;
  while (off + frameMax <= batchBytes) {
    const n = read(fd, buf.subarray(off), frameMax);
    if (n <= 0) {
      const e = koffi.errno();
      if (n < 0 && e !== EAGAIN && Atomics.load(ctl, 0) === 0) { parentPort.postMessage({ error: 'errno ' + e }); failed = true; }
      break;
    }
    lens.push(n);
    off += n;
  }
  if (lens.length > 0) {
    Atomics.add(ctl, 1, 1);
    const out = buf.slice(0, off); // exactly what was read: a batch of ACKs is small
    parentPort.postMessage({ buf: out, lens, readUs }, [out.buffer]);
  }
}
parentPort.close();
`;

// The writer thread (CommonJS, evaluated): write()s each frame of each batch it is
// handed, in order, takes the bytes off the queued count and hands the buffer back;
// exits on 'stop'.
const WRITER_SOURCE = `
const { workerData } = require('node:worker_threads');
const koffi = require(workerData.koffiPath);
const lib = koffi.load('libc.so.6');
const write = lib.func('long write(int fd, const void *buf, unsigned long n)');
const { fd, ctl, port } = workerData;
port.on('message', (m) => {
  if (m.stop) { port.close(); return; }
  let off = 0;
  for (const n of m.lens) {
    if (write(fd, m.buf.subarray(off, off + n), n) !== n) Atomics.add(ctl, ${C_TX_ERRORS}, 1);
    off += n;
  }
  Atomics.sub(ctl, ${C_TX_QUEUED}, off);
  port.postMessage({ back: m.buf }, [m.buf.buffer]);
});
`;
