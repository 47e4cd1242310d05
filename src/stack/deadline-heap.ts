// A min-heap of (deadline, item) with lazy invalidation, so a host with many
// connections finds the next timer and the due items without scanning all of them.
// Items re-arm by pushing again; stale entries are skipped against `current(item)`.

interface Slot<T> { at: number; item: T }

export class DeadlineHeap<T> {
  private heap: Slot<T>[] = [];

  /** `current(item)` returns the item's deadline now (undefined = none / item gone). */
  constructor(private readonly current: (item: T) => number | undefined) {}

  get size(): number { return this.heap.length; }

  push(at: number, item: T): void {
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  /** The earliest live deadline, discarding stale slots on the way. */
  peek(): number | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.current(top.item) === top.at) return top.at;
      this.pop();
    }
    return undefined;
  }

  /** Removes and returns every item whose live deadline is ≤ nowUs (each once). */
  takeDue(nowUs: number): T[] {
    const due: T[] = [];
    const seen = new Set<T>();
    while (this.heap.length > 0 && this.heap[0]!.at <= nowUs) {
      const top = this.pop();
      if (this.current(top.item) === top.at && !seen.has(top.item)) { seen.add(top.item); due.push(top.item); }
    }
    return due;
  }

  /** Drops stale slots when the heap has grown far beyond `liveCount` (bounds memory). */
  compact(liveCount: number): void {
    if (this.heap.length <= 4 * liveCount + 64) return;
    const live = this.heap.filter((s) => this.current(s.item) === s.at);
    this.heap = [];
    const seen = new Set<T>();
    for (const s of live) if (!seen.has(s.item)) { seen.add(s.item); this.push(s.at, s.item); }
  }

  private pop(): Slot<T> {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
