// A Linux TAP device opened from TypeScript: /dev/net/tun + TUNSETIFF through koffi
// (libc ioctl/read/write/poll), frames read by a worker thread that polls the
// nonblocking fd and hands them over in batches, so the event loop never blocks.
// What runs a host on the device is tap-driver.ts; namespaces are src/lab's business.
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import koffi from 'koffi';

// <linux/if_tun.h>
const TUNSETIFF = 0x400454ca; // _IOW('T', 202, int)
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on 64-bit Linux. */
const IFREQ_BYTES = 40;

/** Largest frame read: the MTU must stay below this. */
export const TAP_FRAME_MAX_BYTES = 9216;
/** Bytes per batch buffer handed from the reader thread to the event loop. */
const BATCH_BYTES = 256 * 1024;
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
  write(fd: number, buf: Uint8Array, n: number): number;
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
      write: lib.func('long write(int fd, const void *buf, unsigned long n)') as Libc['write'],
    };
  }
  return libc;
}

export interface TapCounters { framesIn: number; framesOut: number; batchesIn: number; writeErrors: number }

export class TapDevice {
  private worker: Worker | undefined;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(8)); // [stop, batches in flight]
  private closed = false;
  readonly counters: TapCounters = { framesIn: 0, framesOut: 0, batchesIn: 0, writeErrors: 0 };

  private constructor(readonly fd: number, readonly name: string) {}

  /**
   * Attaches to TAP device `name` in the calling process's network namespace (creating
   * a non-persistent one if it does not exist). Throws TapError with a one-line reason.
   */
  static open(name: string): TapDevice {
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
    new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI, true);
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
    return new TapDevice(fd, name);
  }

  /** Sends one Ethernet frame. Returns false (and counts) when the kernel refused it. */
  write(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const n = loadLibc().write(this.fd, frame, frame.length);
    if (n !== frame.length) { this.counters.writeErrors++; return false; }
    this.counters.framesOut++;
    return true;
  }

  /**
   * Starts the reader thread; `onFrames` gets each batch (frames are views into one
   * buffer, valid until the callback returns unless copied). `onError` gets a fatal read error.
   */
  startReading(onFrames: (frames: Uint8Array[]) => void, onError: (e: TapError) => void, reader: TapReader = 'worker'): void {
    if (this.worker !== undefined || this.reading || this.closed) return;
    if (reader === 'async-poll') { this.readWithAsyncPoll(onFrames, onError); return; }
    const koffiPath = createRequire(import.meta.url).resolve('koffi');
    const w = new Worker(READER_SOURCE, {
      eval: true,
      workerData: { koffiPath, fd: this.fd, ctl: this.ctl, frameMax: TAP_FRAME_MAX_BYTES, batchBytes: BATCH_BYTES, maxInFlight: MAX_BATCHES_IN_FLIGHT },
    });
    w.on('message', (m: { buf?: Uint8Array; lens?: number[]; error?: string }) => {
      if (m.error !== undefined) { onError(new TapError('TAP_IO', `reading TAP '${this.name}': ${m.error}`)); return; }
      Atomics.sub(this.ctl, 1, 1);
      Atomics.notify(this.ctl, 1);
      if (this.closed || m.buf === undefined || m.lens === undefined) return;
      const frames: Uint8Array[] = [];
      let off = 0;
      for (const n of m.lens) { frames.push(m.buf.subarray(off, off + n)); off += n; }
      this.counters.batchesIn++;
      this.counters.framesIn += frames.length;
      onFrames(frames);
    });
    w.on('error', (e) => onError(new TapError('TAP_IO', `TAP reader thread: ${e.message}`)));
    this.worker = w;
  }

  private reading = false;

  private readWithAsyncPoll(onFrames: (frames: Uint8Array[]) => void, onError: (e: TapError) => void): void {
    const lib = koffi.load('libc.so.6');
    const poll = lib.func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)');
    const readFn = lib.func('long read(int fd, _Out_ void *buf, unsigned long n)') as (fd: number, buf: Uint8Array, n: number) => number;
    const EAGAIN = (koffi.os.errno as Record<string, number>).EAGAIN;
    this.reading = true;
    const pfd = new Uint8Array(8);
    const dv = new DataView(pfd.buffer);
    dv.setInt32(0, this.fd, true);
    dv.setInt16(4, 1, true); // POLLIN
    const drain = (): boolean => {
      // Everything queued now, read on the event loop (nonblocking), handed over as one batch.
      const buf = new Uint8Array(BATCH_BYTES);
      const frames: Uint8Array[] = [];
      let off = 0;
      while (off + TAP_FRAME_MAX_BYTES <= BATCH_BYTES) {
        const n = readFn(this.fd, buf.subarray(off), TAP_FRAME_MAX_BYTES);
        if (n <= 0) {
          const e = koffi.errno();
          if (n < 0 && e !== EAGAIN) { onError(new TapError('TAP_IO', `reading TAP '${this.name}': errno ${e}`)); return false; }
          break;
        }
        frames.push(buf.subarray(off, off + n));
        off += n;
      }
      if (frames.length > 0) {
        this.counters.batchesIn++;
        this.counters.framesIn += frames.length;
        onFrames(frames);
      }
      return true;
    };
    const arm = (): void => {
      if (this.closed) return;
      // poll() runs on koffi's async thread with a 100 ms cap, so nothing is ever parked
      // in a blocking read when the process wants to exit.
      (poll as unknown as { async: (...a: unknown[]) => void }).async(pfd, 1, 100, (err: unknown, r: number) => {
        if (this.closed) return;
        if (err) { onError(new TapError('TAP_IO', `poll on TAP '${this.name}': ${String(err)}`)); return; }
        if (r > 0 && !drain()) return;
        arm();
      });
    };
    arm();
  }

  /** Stops the reader (within its 100 ms poll timeout) and closes the fd. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, 0, 1);
    Atomics.notify(this.ctl, 1);
    const w = this.worker;
    if (w !== undefined) await new Promise<void>((resolve) => { w.once('exit', () => resolve()); });
    closeSync(this.fd);
  }
}

// The reader thread (CommonJS, evaluated): poll(POLLIN, 100 ms), then read() until
// EAGAIN or the batch is full, then transfer the batch to the event loop.
const READER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
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
while (Atomics.load(ctl, 0) === 0 && !failed) {
  const inflight = Atomics.load(ctl, 1);
  if (inflight >= maxInFlight) { Atomics.wait(ctl, 1, inflight, 100); continue; }
  const r = poll(pfd, 1, 100);
  if (r <= 0) continue;
  const buf = new Uint8Array(batchBytes);
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
    parentPort.postMessage({ buf, lens }, [buf.buffer]);
  }
}
`;
