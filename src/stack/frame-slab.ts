// Outgoing frames carved from shared slabs instead of one ArrayBuffer each. A fresh
// ArrayBuffer per 1514-byte frame costs about a microsecond (a zeroed off-heap backing
// store, its tracking, and the external-memory pressure that drives V8 into extra
// scavenges and mark-compacts): on a bulk transfer that was the largest single cost of
// building a frame. A slab is filled front to back and never reused, so every frame is
// a zeroed region of its own that stays valid and unchanged as long as anyone holds it
// (holding one frame keeps its slab alive: the price is at most one slab per frame kept).

/** Bytes per slab; frames larger than a quarter of it get a buffer of their own. */
export const FRAME_SLAB_BYTES = 256 * 1024;

export class FrameSlab {
  private slab: ArrayBuffer | undefined;
  private used = 0;

  constructor(private readonly slabBytes: number = FRAME_SLAB_BYTES) {
    if (!(Number.isInteger(slabBytes) && slabBytes >= 64)) throw new RangeError(`FrameSlab: bad slab size ${slabBytes}`);
  }

  /** A zeroed frame of `len` bytes (a view of its own; never handed out twice). */
  take(len: number): Uint8Array {
    if (len * 4 > this.slabBytes) return new Uint8Array(len);
    // 8-byte alignment keeps DataView/word access on frame boundaries cheap.
    const size = (len + 7) & ~7;
    if (this.slab === undefined || this.used + size > this.slabBytes) {
      this.slab = new ArrayBuffer(this.slabBytes);
      this.used = 0;
    }
    const f = new Uint8Array(this.slab, this.used, len);
    this.used += size;
    return f;
  }
}
