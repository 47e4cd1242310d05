// What every role `unbroken serve` runs hands back to serve.ts, and the error a role
// raises for a setting it cannot honour (printed without a stack, exit code 2).

export interface RunningRole {
  /** Key facts for the server.started log line (addresses, devices). */
  describe: Record<string, unknown>;
  /** Stops the role and removes what it created; returns what could not be undone. */
  stop(): Promise<string[]>;
}

export class ServeError extends Error {
  constructor(message: string) { super(message); this.name = 'ServeError'; }
}
