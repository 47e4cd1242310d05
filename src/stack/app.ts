// The application contract: a deterministic, sans-IO service per connection. The
// same app object runs on the simulator, on a TAP device, and replicated by ST-TCP,
// so it never reads a clock, sets a timer or draws a random number.

/** What an application sees of one TCP connection. */
export interface StreamConnection {
  /** Stable id for logs, e.g. "10.0.0.2:40000>10.0.0.1:80". */
  readonly id: string;
  /**
   * Queues bytes for sending. Returns how many bytes were accepted (0..data.length);
   * the rest must be offered again after onWritable(). Never throws for a closed
   * connection: returns 0.
   */
  write(data: Uint8Array): number;
  /** Bytes the send buffer can still accept now. */
  writableBytes(): number;
  /** Half-close: FIN after all queued bytes. */
  end(): void;
  /** Abort: RST, discard queued bytes. */
  destroy(): void;
}

export type CloseReason = 'closed' | 'reset' | 'timeout' | 'aborted';

/** Per-connection handler an application returns for each accepted connection. */
export interface StreamApp {
  /**
   * The handshake completed (optional). For an active open this is the first
   * callback; for a passive open the app is made at establishment and this follows at once.
   */
  onOpen?(): void;
  /** Bytes received, in order, exactly once. */
  onData(data: Uint8Array): void;
  /** The peer half-closed (FIN received and all data before it delivered). */
  onEnd(): void;
  /** Send-buffer space became available after write() accepted less than offered. */
  onWritable?(): void;
  /** The connection is gone. No calls follow. */
  onClose?(reason: CloseReason): void;
}

/**
 * A connection that can stop the peer sending: while reading is paused the bytes stay in
 * the TCP receive buffer and the advertised window closes (the host's connections, an
 * ST-TCP shadow). An app that cannot use more input pauses instead of buffering it.
 */
export interface PausableConnection extends StreamConnection {
  pauseReading(): void;
  resumeReading(): void;
}

export function pausable(c: StreamConnection): c is PausableConnection {
  const p = c as Partial<PausableConnection>;
  return typeof p.pauseReading === 'function' && typeof p.resumeReading === 'function';
}

/** A service: makes one StreamApp per accepted connection. */
export type StreamService = (conn: StreamConnection) => StreamApp;
