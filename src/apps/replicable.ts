// What every built-in app offers beyond the StreamService contract: its shared state
// and each connection's state as plain data, so ST-TCP can copy an app to a backup
// and resume it byte-exact. The apps themselves live beside this file.
import type { StreamApp, StreamConnection, StreamService } from '../stack/app.js';

export type AppKind = 'echo' | 'blob' | 'http' | 'resp';
export const APP_KINDS: readonly AppKind[] = ['echo', 'blob', 'http', 'resp'] as const;

/** One connection's handler, able to say where it is. */
export interface AppSession extends StreamApp {
  /** Plain data: numbers, strings, booleans, Uint8Array, arrays and objects of them. */
  snapshot(): unknown;
}

export interface ReplicableApp {
  readonly kind: AppKind;
  /** Pass to Host.listen (or the node:net adapter): opens a fresh session per connection. */
  readonly service: StreamService;
  open(conn: StreamConnection): AppSession;
  /** Continues a session from `state` (an earlier AppSession.snapshot()) on another connection object. */
  resume(conn: StreamConnection, state: unknown): AppSession;
  /** State shared by all connections (the key-value store, say), as plain data. */
  snapshot(): unknown;
  /** Replaces the shared state with an earlier snapshot(). */
  restore(state: unknown): void;
  /** Event counters (connections, protocol errors, aborts). */
  counters(): Readonly<Record<string, number>>;
}

/** Counter bag used by the apps. */
export class Counters {
  private readonly c: Record<string, number> = {};
  inc(name: string, by = 1): void { this.c[name] = (this.c[name] ?? 0) + by; }
  get(): Readonly<Record<string, number>> { return { ...this.c }; }
}
