// Small pieces the real-socket drivers share: the wall clock in epoch µs (the
// only clock reading in the calls code), a timer that re-arms at an engine's
// deadline, and parsing "ip:port". Engines never import this file.
import { performance } from 'node:perf_hooks';

/** Wall-clock microseconds since the Unix epoch (monotonic within a process). */
export function wallUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function splitAddr(addr: string): { ip: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { ip: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

/** One timer following a deadline in epoch µs; `fire` runs when it is due. */
export class DeadlineTimer {
  private handle: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  constructor(private readonly fire: () => void) {}

  arm(deadlineUs: number | undefined): void {
    if (deadlineUs === undefined) { this.cancel(); return; }
    if (this.armedFor !== undefined && this.armedFor <= deadlineUs && this.handle) return;
    this.cancel();
    const delayMs = Math.max(0, (deadlineUs - wallUs()) / 1000);
    this.armedFor = deadlineUs;
    this.handle = setTimeout(() => { this.handle = undefined; this.armedFor = undefined; this.fire(); }, Math.min(delayMs, 2 ** 31 - 1));
  }

  cancel(): void { if (this.handle) clearTimeout(this.handle); this.handle = undefined; this.armedFor = undefined; }
}
