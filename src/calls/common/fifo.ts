// A first-in first-out queue whose take is O(1) at any length. Array.prototype.shift
// moves every remaining element once an array is too large for the engine to trim it in
// place (tens of thousands of entries), which turns draining a long queue quadratic.
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number { return this.items.length - this.head; }

  push(x: T): void { this.items.push(x); }

  /** The oldest entry, without taking it. */
  peek(): T | undefined { return this.head < this.items.length ? this.items[this.head] : undefined; }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    // Compact once the taken prefix is at least half the array: amortised O(1).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
    return x;
  }
}
