// The contract between a sans-IO network host and the drivers that move its frames
// (the simulator, a Linux TAP device). Drivers own time and I/O; hosts own neither.

/** A frame leaving a host on one of its interfaces. */
export interface OutgoingFrame {
  ifIndex: number;
  frame: Uint8Array;
}

/**
 * A host (or any box: switch, splicer) as a driver sees it.
 * Order a driver follows after every handle* call: drain pollTransmit() until it
 * returns undefined, then read pollDeadline() and arrange a handleTimeout() call then.
 * Time is integer microseconds from an arbitrary origin, never decreasing.
 */
export interface FrameEndpoint {
  /** A frame arrived on interface `ifIndex`. Bad frames are counted and dropped, never thrown. */
  handleFrame(ifIndex: number, frame: Uint8Array, nowUs: number): void;
  /** Fires due timers. Calls before the deadline are harmless no-ops. */
  handleTimeout(nowUs: number): void;
  /** The next frame to send, or undefined when there is none. */
  pollTransmit(): OutgoingFrame | undefined;
  /** The earliest time handleTimeout should be called, or undefined for never. */
  pollDeadline(): number | undefined;
}
