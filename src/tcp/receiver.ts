// The receiving half: segment acceptability (RFC 9293 §3.10.7.4 first check),
// trimming to the window, in-order delivery and out-of-order reassembly, FIN
// processing, ACK scheduling (RFC 1122 §4.2.3.2, RFC 5681 §4.2) and read().

import type { TcpRepr } from '../wire/tcp.js';
import { enterTimeWait } from './lifecycle.js';
import { receiveWindow } from './output.js';
import { seqAdd, seqDiff, seqGe, seqGt, seqLt } from './seq.js';
import type { Tcb } from './tcb.js';

/** RFC 9293 §3.3: segment length counts SYN and FIN. */
export function segmentLength(seg: TcpRepr): number {
  return seg.payload.length + (seg.flags.syn ? 1 : 0) + (seg.flags.fin ? 1 : 0);
}

/**
 * RFC 9293 §3.10.7.4 first check, the four cases of the acceptability table.
 * A segment with text arriving on a zero window with SEQ = RCV.NXT is acceptable
 * for its ACK only ("special allowance"); its text is trimmed later.
 */
export function segmentAcceptable(t: Tcb, seg: TcpRepr): boolean {
  const len = segmentLength(seg);
  const wnd = receiveWindow(t);
  const seq = seg.seq;
  if (len === 0) {
    if (wnd === 0) return seq === t.rcvNxt;
    return seqGe(seq, t.rcvNxt) && seqLt(seq, seqAdd(t.rcvNxt, wnd));
  }
  if (wnd === 0) return seq === t.rcvNxt;
  const last = seqAdd(seq, len - 1);
  const end = seqAdd(t.rcvNxt, wnd);
  return (seqGe(seq, t.rcvNxt) && seqLt(seq, end)) || (seqGe(last, t.rcvNxt) && seqLt(last, end));
}

/** Full-sized segment from the peer's point of view (for "ACK every second full-sized segment"). */
function fullSized(t: Tcb, len: number): boolean {
  // The peer's segment size is learned like Linux's rcv_mss: the largest payload seen so far.
  if (len > t.rcvMss) t.rcvMss = Math.min(len, t.cfg.mss);
  return len >= t.rcvMss;
}

/**
 * Seventh and eighth steps (segment text, FIN) for an acceptable segment in a state
 * that still receives (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
 */
export function processText(t: Tcb, seg: TcpRepr, nowUs: number): void {
  let seq = seg.seq;
  let payload = seg.payload;
  const finSeq = seqAdd(seg.seq, seg.payload.length);
  let fin = seg.flags.fin;
  // Trim the part already received.
  if (seqLt(seq, t.rcvNxt)) {
    const skip = seqDiff(t.rcvNxt, seq);
    payload = skip >= payload.length ? payload.subarray(payload.length) : payload.subarray(skip);
    seq = t.rcvNxt;
    if (seg.payload.length > 0) t.ackNow = true; // a retransmission of data we hold: tell the peer at once
  }
  // Trim what lies beyond the advertised right edge (RFC 9293 §3.10.7.4: "trimmed ... to fit the window").
  const wndEnd = t.rcvAdv;
  if (seqGt(seqAdd(seq, payload.length), wndEnd)) {
    const keep = Math.max(0, seqDiff(wndEnd, seq));
    payload = payload.subarray(0, keep);
    fin = false;
    t.ackNow = true;
  }
  if (fin && seqLt(finSeq, t.rcvNxt)) {
    fin = false; // a duplicate FIN: ACK it again
    t.ackNow = true;
  }

  if (payload.length > 0) {
    if (seq === t.rcvNxt) {
      deliver(t, payload);
      const hadHoles = t.reassembly.bufferedBytes() > 0;
      for (let chunk = t.reassembly.take(t.rcvNxt); chunk !== undefined; chunk = t.reassembly.take(t.rcvNxt)) {
        deliver(t, chunk);
      }
      if (hadHoles) {
        t.ackNow = true; // RFC 5681 §4.2: ACK at once when a segment fills (part of) a hole
      } else if (fullSized(t, payload.length)) {
        t.unackedFullSegments++;
        // RFC 1122 §4.2.3.2: ACK at least every second full-sized segment.
        if (t.unackedFullSegments >= 2) t.ackNow = true;
      }
      if (!t.ackNow && t.delackDeadlineUs === undefined) {
        if (t.cfg.delayedAckUs === 0) t.ackNow = true;
        else t.delackDeadlineUs = nowUs + t.cfg.delayedAckUs;
      }
      t.emit({ type: 'readable' });
    } else {
      // RFC 5681 §4.2 / RFC 9293 §3.10.7.4: out-of-order data, kept (bounded) and ACKed at once.
      const r = t.reassembly.insert(seq, payload, t.rcvNxt);
      if (r === 'stored') t.stats.outOfOrderSegments++;
      else if (r !== 'duplicate') t.stats.outOfOrderDropped++;
      t.ackNow = true;
    }
  }

  if (fin) {
    if (finSeq === t.rcvNxt) processFin(t, nowUs);
    else if (seqGt(finSeq, t.rcvNxt)) {
      t.peerFinSeq = finSeq; // beyond a hole: processed when the hole fills
      t.ackNow = true;
    }
  } else if (t.peerFinSeq !== undefined && t.peerFinSeq === t.rcvNxt) {
    processFin(t, nowUs);
  }
}

function deliver(t: Tcb, data: Uint8Array): void {
  // Copy: the caller's buffer (a frame) may be reused by the driver.
  t.rcvQueue.push(data.slice());
  t.rcvQueueBytes += data.length;
  t.rcvNxt = seqAdd(t.rcvNxt, data.length);
  t.stats.bytesIn += data.length;
}

/** RFC 9293 §3.10.7.4 eighth step: the FIN is in order; advance over it and change state. */
function processFin(t: Tcb, nowUs: number): void {
  t.rcvNxt = seqAdd(t.rcvNxt, 1);
  t.peerFinSeq = undefined;
  t.finReceived = true;
  t.ackNow = true;
  t.reassembly.clear();
  t.emit({ type: 'peer-fin' });
  switch (t.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      t.state = 'CLOSE-WAIT';
      break;
    case 'FIN-WAIT-1':
      // Our FIN acknowledged already → TIME-WAIT, else simultaneous close → CLOSING.
      if (t.finSent && seqGt(t.sndUna, t.finSeq)) enterTimeWait(t, nowUs);
      else t.state = 'CLOSING';
      break;
    case 'FIN-WAIT-2':
      enterTimeWait(t, nowUs);
      break;
    default:
      break;
  }
}

/** Consume up to maxBytes in-order bytes. Schedules a window update when the window opens a lot. */
export function readBytes(t: Tcb, maxBytes: number): Uint8Array {
  const n = Math.min(maxBytes, t.rcvQueueBytes);
  if (n <= 0) return new Uint8Array(0);
  const before = receiveWindow(t);
  let out: Uint8Array;
  const first = t.rcvQueue[0]!;
  if (first.length === n) {
    out = first;
    t.rcvQueue.shift();
  } else if (first.length > n) {
    out = first.subarray(0, n);
    t.rcvQueue[0] = first.subarray(n);
  } else {
    out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = t.rcvQueue[0]!;
      const take = Math.min(c.length, n - off);
      out.set(c.subarray(0, take), off);
      off += take;
      if (take === c.length) t.rcvQueue.shift();
      else t.rcvQueue[0] = c.subarray(take);
    }
  }
  t.rcvQueueBytes -= n;
  // RFC 9293 §3.8.6.2.2 + RFC 1122 §4.2.3.3: send a window update once the window can open
  // by at least min(RCV.BUFF/2, MSS) and at least doubles (so a blocked sender learns soon).
  if (!t.finReceived && (t.state === 'ESTABLISHED' || t.state === 'FIN-WAIT-1' || t.state === 'FIN-WAIT-2')) {
    const room = Math.min(t.cfg.rcvBufBytes - t.rcvQueueBytes, t.rcvWndShift === 0 ? 0xffff : 0xffff << t.rcvWndShift);
    const threshold = Math.min(Math.floor(t.cfg.rcvBufBytes / 2), t.cfg.mss);
    if (room - before >= threshold && before * 2 <= room) t.ackNow = true;
  }
  return out;
}
