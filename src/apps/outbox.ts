// Everything an app has produced but the connection has not yet accepted, as plain
// data (so it snapshots): literal bytes, ranges of the blob pattern, ranges of a file,
// and a half-close marker. write()'s accepted count and onWritable drive it.
import type { StreamConnection } from '../stack/app.js';
import { blobChunk } from './blob-pattern.js';
import type { FileStore } from './http/file-store.js';

export type OutItem =
  | { kind: 'bytes'; data: Uint8Array }
  | { kind: 'blob'; pos: number; end: number }
  | { kind: 'file'; path: string; pos: number; end: number }
  | { kind: 'end' };

export interface OutboxState { items: OutItem[] }

/** Largest chunk generated or read from a file per write() call. */
const CHUNK_BYTES = 64 * 1024;

export class Outbox {
  private items: OutItem[] = [];
  private literalBytes = 0;
  private failed = false;

  constructor(private readonly conn: StreamConnection, private readonly store?: FileStore) {}

  /** Literal bytes waiting (generated and file ranges are produced on demand and not counted). */
  queuedBytes(): number { return this.literalBytes; }
  /** Items (responses, replies) waiting; apps bound this to bound their memory. */
  queuedItems(): number { return this.items.length; }
  isEmpty(): boolean { return this.items.length === 0; }

  pushBytes(data: Uint8Array): void {
    if (data.length === 0) return;
    this.items.push({ kind: 'bytes', data });
    this.literalBytes += data.length;
  }
  pushBlob(pos: number, end: number): void { if (end > pos) this.items.push({ kind: 'blob', pos, end }); }
  pushFile(path: string, pos: number, end: number): void { if (end > pos) this.items.push({ kind: 'file', path, pos, end }); }
  pushEnd(): void { this.items.push({ kind: 'end' }); }

  /** Writes until the connection refuses or nothing is left. Returns true when empty. */
  pump(): boolean {
    while (this.items.length > 0 && !this.failed) {
      const it = this.items[0];
      if (it.kind === 'end') {
        this.items.shift();
        this.conn.end();
        continue;
      }
      if (it.kind === 'bytes') {
        const n = this.conn.write(it.data);
        this.literalBytes -= n;
        if (n < it.data.length) { it.data = it.data.subarray(n); return false; }
        this.items.shift();
        continue;
      }
      // With no room, still offer one byte: onWritable() is promised only after a
      // write() that accepted less than it was offered.
      const room = Math.max(1, Math.min(this.conn.writableBytes(), CHUNK_BYTES, it.end - it.pos));
      let chunk: Uint8Array;
      if (it.kind === 'blob') chunk = blobChunk(it.pos, room);
      else {
        chunk = this.store === undefined ? new Uint8Array(0) : this.store.read(it.path, it.pos, room);
        if (chunk.length === 0) {
          // The file shrank or vanished after its length was promised: the response
          // cannot be completed, so the connection is aborted rather than truncated.
          this.failed = true;
          this.items = [];
          this.literalBytes = 0;
          this.conn.destroy();
          return true;
        }
      }
      const n = this.conn.write(chunk);
      it.pos += n;
      if (it.pos >= it.end) this.items.shift();
      if (n < chunk.length) return false;
    }
    return this.items.length === 0;
  }

  snapshot(): OutboxState {
    return { items: this.items.map((it) => (it.kind === 'bytes' ? { kind: 'bytes', data: it.data.slice() } : { ...it })) };
  }

  restoreFrom(s: OutboxState): void {
    this.items = s.items.map((it) => (it.kind === 'bytes' ? { kind: 'bytes', data: it.data.slice() } : { ...it }));
    this.literalBytes = 0;
    for (const it of this.items) if (it.kind === 'bytes') this.literalBytes += it.data.length;
  }
}

/** Joins byte chunks (input buffers). */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
