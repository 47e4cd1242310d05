// The simulator's agenda: a binary min-heap of events ordered by (virtual time,
// insertion sequence), so events at the same microsecond run in the order they were
// scheduled. What an event does is the simulator's business, not this file's.

export interface QueuedEvent {
  /** Virtual time in integer microseconds. */
  readonly timeUs: number;
  /** Insertion sequence, assigned by the queue; the tie-breaker. */
  seq: number;
}

export class EventQueue<E extends QueuedEvent> {
  private readonly heap: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(ev: E): void {
    if (!Number.isSafeInteger(ev.timeUs) || ev.timeUs < 0) {
      throw new RangeError(`event time must be a non-negative integer of microseconds, got ${ev.timeUs}`);
    }
    ev.seq = this.nextSeq++;
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      swap(h, i, parent);
      i = parent;
    }
  }

  peek(): E | undefined {
    return this.heap[0];
  }

  pop(): E | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && before(h[l]!, h[m]!)) m = l;
        if (r < n && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        swap(h, i, m);
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.timeUs < b.timeUs || (a.timeUs === b.timeUs && a.seq < b.seq);
}

function swap<T>(h: T[], i: number, j: number): void {
  const t = h[i]!;
  h[i] = h[j]!;
  h[j] = t;
}
