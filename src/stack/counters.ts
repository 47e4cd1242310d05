// Named event counters for a host: every drop has a reason, every frame is counted.
// Plain numbers in a record so drivers and tests can read and print them.

export class Counters {
  private readonly values: Record<string, number> = Object.create(null) as Record<string, number>;

  inc(name: string, n = 1): void {
    this.values[name] = (this.values[name] ?? 0) + n;
  }

  get(name: string): number {
    return this.values[name] ?? 0;
  }

  snapshot(): Readonly<Record<string, number>> {
    return { ...this.values };
  }
}
