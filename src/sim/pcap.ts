// Classic libpcap file writer (magic 0xa1b2c3d4, version 2.4, LINKTYPE_ETHERNET,
// microsecond timestamps from the virtual clock). Bytes are kept in memory, bounded,
// and written out on request; capture points live in the simulator, not here.
import { writeFileSync } from 'node:fs';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;

export interface PcapOptions {
  /** Largest number of bytes kept of one frame (the header's snaplen). Default 262144. */
  snapLenBytes?: number;
  /** Stop recording (and count frames as skipped) once the file would exceed this. Default 512 MiB. */
  maxFileBytes?: number;
}

export class PcapWriter {
  readonly snapLenBytes: number;
  readonly maxFileBytes: number;
  private readonly chunks: Uint8Array[] = [];
  private sizeBytes = 0;
  private recorded = 0;
  private skipped = 0;

  constructor(opts: PcapOptions = {}) {
    this.snapLenBytes = opts.snapLenBytes ?? 262_144;
    this.maxFileBytes = opts.maxFileBytes ?? 512 * 1024 * 1024;
    const g = new DataView(new ArrayBuffer(PCAP_GLOBAL_HEADER_BYTES));
    g.setUint32(0, PCAP_MAGIC_US, true);
    g.setUint16(4, 2, true); // version_major
    g.setUint16(6, 4, true); // version_minor
    g.setInt32(8, 0, true); // thiszone: UTC
    g.setUint32(12, 0, true); // sigfigs
    g.setUint32(16, this.snapLenBytes, true);
    g.setUint32(20, LINKTYPE_ETHERNET, true);
    this.push(new Uint8Array(g.buffer));
  }

  /** Appends one frame seen at virtual time `timeUs`. */
  record(timeUs: number, frame: Uint8Array): void {
    const inclLen = Math.min(frame.length, this.snapLenBytes);
    if (this.sizeBytes + PCAP_RECORD_HEADER_BYTES + inclLen > this.maxFileBytes) {
      this.skipped++;
      return;
    }
    const r = new DataView(new ArrayBuffer(PCAP_RECORD_HEADER_BYTES));
    r.setUint32(0, Math.floor(timeUs / 1_000_000), true); // ts_sec
    r.setUint32(4, timeUs % 1_000_000, true); // ts_usec
    r.setUint32(8, inclLen, true);
    r.setUint32(12, frame.length, true); // orig_len
    this.push(new Uint8Array(r.buffer));
    this.push(frame.slice(0, inclLen));
    this.recorded++;
  }

  /** Frames written so far. */
  frameCount(): number {
    return this.recorded;
  }

  /** Frames not written because the file hit maxFileBytes. */
  skippedCount(): number {
    return this.skipped;
  }

  /** The whole file as one byte array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.sizeBytes);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  writeFile(path: string): void {
    writeFileSync(path, this.bytes());
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.sizeBytes += b.length;
  }
}
