// Receive flow control for the built-in apps: an app whose output is backed up (the
// client reads more slowly than it sends, or pipelines requests) stops reading, so TCP
// closes the client's window instead of the app buffering input until a limit cuts the
// connection off. On a connection that cannot pause (an in-memory test connection) the
// gate does nothing and the app's hard limits still apply.
import { pausable, type StreamConnection } from '../stack/app.js';
import type { Counters } from './replicable.js';

export class ReadGate {
  private paused = false;

  constructor(private readonly conn: StreamConnection, private readonly stats: Counters) {}

  /** Reading paused (true) or not; each pause is counted. */
  set(paused: boolean): void {
    const c = this.conn;
    if (paused === this.paused || !pausable(c)) return;
    this.paused = paused;
    if (paused) { this.stats.inc('read-paused'); c.pauseReading(); } else c.resumeReading();
  }

  isPaused(): boolean { return this.paused; }
}
