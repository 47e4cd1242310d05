// Judging captures taken on both sides of a CRAFT splicer (the client's LAN port and
// the back ends' ports): the sequence offsets the splicer logged for each splice must be
// the ones its two handshakes imply; every byte it sent one side must be a byte the other
// side sent, at that offset; each side's sequence runs forward modulo retransmission (a
// hole only where the network lost data upstream); and nothing it sent ACKs unseen data.
import { execFile } from 'node:child_process';

/** A splice as the splicer logged it (craft-host-main.ts 'splice' lines). */
export interface LoggedSplice { id: number; backendId: string; client: string; backend: string; localPort: number; seqC2B: number; seqB2C: number }

export interface SegmentRow { src: string; dst: string; seq: number; ack: number; len: number; flags: number; frame: number }

export interface SpliceCaptureCheck {
  splicesSeen: number;
  /** Data segments the splicer sent the client / the back end that were checked against the other side. */
  b2cChecked: number;
  c2bChecked: number;
  /** Splices whose logged offsets differ from what the two handshakes in the capture imply (must be 0). */
  offsetMismatches: number;
  /** Segments sent by the splicer with no counterpart at the right offset on the other side (must be 0). */
  b2cUnmatched: number;
  c2bUnmatched: number;
  /**
   * Holes in the sequence of data the splicer sent each side (a segment beyond the highest
   * byte sent so far). A hole is explained when the sender on the other side retransmitted
   * some of the missing bytes (the network lost them before they reached the splicer).
   */
  gaps: number;
  /** Holes the other side's sender did not retransmit into: the splicer skipped data (must be 0). */
  unexplainedGaps: number;
  /** Frames the splicer sent that ACK data the capture never saw, per side (tshark; must be 0). */
  ackedUnseen: { clientSide: number; backendSide: number };
  problems: string[];
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile('tshark', args, { maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
    if (err !== null) reject(new Error(`tshark ${args.join(' ')}: ${stderr.trim()}`)); else resolve(stdout);
  }));
}

/** TCP segments of a capture: "ip:port" ends, raw seq/ack, payload length, flag bits. */
export async function readSegments(file: string, filter = 'tcp'): Promise<SegmentRow[]> {
  const out = await run(['-n', '-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=,',
    '-e', 'frame.number', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport',
    '-e', 'tcp.seq_raw', '-e', 'tcp.ack_raw', '-e', 'tcp.len', '-e', 'tcp.flags']);
  const rows: SegmentRow[] = [];
  for (const l of out.split('\n')) {
    const f = l.split(',');
    if (f.length < 9) continue;
    rows.push({ frame: Number(f[0]), src: `${f[1]}:${f[2]}`, dst: `${f[3]}:${f[4]}`, seq: Number(f[5]), ack: Number(f[6]), len: Number(f[7]), flags: Number(f[8]) });
  }
  return rows;
}

/** Is [a, a+n) (mod 2^32) inside the union of `ivals` (sorted by start, relative to a base)? */
function covered(base: number, ivals: Array<[number, number]>, a: number, n: number): boolean {
  let s = (a - base) >>> 0;
  const e = s + n;
  for (const [x, y] of ivals) {
    if (x > s) return false;
    if (y > s) s = y;
    if (s >= e) return true;
  }
  return s >= e;
}

function intervals(base: number, segs: SegmentRow[]): Array<[number, number]> {
  return segs.map((r) => { const x = (r.seq - base) >>> 0; return [x, x + r.len] as [number, number]; }).sort((p, q) => p[0] - q[0]);
}

/** Holes [maxEnd, seq) in a sender's data, in capture order. */
function holes(segs: SegmentRow[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let end: number | undefined;
  for (const r of segs) {
    if (end !== undefined && ((r.seq - end) | 0) > 0) out.push([end, r.seq]);
    const e = (r.seq + r.len) >>> 0;
    if (end === undefined || ((e - end) | 0) > 0) end = e;
  }
  return out;
}

/** Did the sender of `segs` retransmit into [from, from+n) (a segment starting below its highest byte sent)? */
function retransmittedInto(segs: SegmentRow[], from: number, n: number): boolean {
  let end: number | undefined;
  for (const r of segs) {
    const rel = (r.seq - from) | 0;
    if (end !== undefined && ((r.seq - end) | 0) < 0 && rel < n && rel + r.len > 0) return true;
    const e = (r.seq + r.len) >>> 0;
    if (end === undefined || ((e - end) | 0) > 0) end = e;
  }
  return false;
}

/**
 * Checks a capture holding both sides (`file`) against the splices the splicer logged.
 * `service` is "ip:port" of the service; back-end-side frames are the ones to or from a
 * logged back-end address.
 */
export async function checkSpliceCapture(file: string, service: string, splices: LoggedSplice[]): Promise<SpliceCaptureCheck> {
  const rows = await readSegments(file);
  const serviceIp = service.split(':')[0]!;
  const problems: string[] = [];
  let gaps = 0, unexplainedGaps = 0, offsetMismatches = 0, b2cChecked = 0, c2bChecked = 0, b2cUnmatched = 0, c2bUnmatched = 0, seen = 0;
  const byPair = new Map<string, SegmentRow[]>();
  /** Sequence number of each direction's SYN (the last one seen). */
  const syns = new Map<string, number>();
  for (const r of rows) {
    if ((r.flags & 0x02) !== 0) syns.set(`${r.src}>${r.dst}`, r.seq);
    if (r.len === 0) continue;
    const k = `${r.src}>${r.dst}`;
    const l = byPair.get(k);
    if (l === undefined) byPair.set(k, [r]); else l.push(r);
  }
  for (const sp of splices) {
    const beLocal = `${serviceIp}:${sp.localPort}`;
    const toClient = byPair.get(`${service}>${sp.client}`) ?? [];
    const fromBackend = byPair.get(`${sp.backend}>${beLocal}`) ?? [];
    const fromClient = byPair.get(`${sp.client}>${service}`) ?? [];
    const toBackend = byPair.get(`${beLocal}>${sp.backend}`) ?? [];
    if (toClient.length === 0 && toBackend.length === 0) { problems.push(`splice #${sp.id} (${sp.client} - ${sp.backend} via :${sp.localPort}): no data captured`); continue; }
    seen++;
    // The offsets the splicer logged must be the ones its two handshakes imply: the client's
    // response byte 1 (after the SYN-ACK we sent it) is the back end's byte 1 (after its SYN-ACK).
    const synAckToClient = syns.get(`${service}>${sp.client}`);
    const synAckFromBackend = syns.get(`${sp.backend}>${beLocal}`);
    const synFromClient = syns.get(`${sp.client}>${service}`);
    const synToBackend = syns.get(`${beLocal}>${sp.backend}`);
    if (synAckToClient === undefined || synAckFromBackend === undefined || synFromClient === undefined || synToBackend === undefined) {
      problems.push(`splice #${sp.id}: a handshake is missing from the capture`);
    } else {
      const b2c = (synAckToClient - synAckFromBackend) >>> 0;
      const c2b = (synToBackend - synFromClient) >>> 0;
      if (b2c !== sp.seqB2C || c2b !== sp.seqC2B) {
        offsetMismatches++;
        problems.push(`splice #${sp.id}: logged offsets ${sp.seqB2C}/${sp.seqC2B}, handshakes imply ${b2c}/${c2b}`);
      }
    }
    // b2c: every byte sent to the client is a byte the back end sent, at the offset (the back
    // end's kernel may hand larger, GSO segments to the wire that our TAP receives cut to MSS).
    if (toClient.length > 0) {
      const base = (toClient[0]!.seq - 0x100000) >>> 0;
      const iv = intervals(base, fromBackend.map((r) => ({ ...r, seq: (r.seq + sp.seqB2C) >>> 0 })));
      for (const r of toClient) {
        b2cChecked++;
        if (!covered(base, iv, r.seq, r.len)) { b2cUnmatched++; if (problems.length < 5) problems.push(`splice #${sp.id}: frame ${r.frame} to the client (seq ${r.seq}, ${r.len} B) is no back-end data`); }
      }
    }
    // Each side's sequence runs forward modulo retransmission: a hole must be a loss upstream.
    for (const [out, src, off] of [[toClient, fromBackend, sp.seqB2C], [toBackend, fromClient, sp.seqC2B]] as const) {
      for (const [a, b] of holes(out)) {
        gaps++;
        const from = (a - off) >>> 0;
        if (!retransmittedInto(src, from, (b - a) >>> 0)) {
          unexplainedGaps++;
          if (problems.length < 5) problems.push(`splice #${sp.id}: the splicer skipped ${(b - a) >>> 0} bytes at ${a}`);
        }
      }
    }
    // c2b: the request went out on our own connection before the splice (segmented our way), so coverage.
    if (toBackend.length > 0) {
      const base = (toBackend[0]!.seq - 0x100000) >>> 0;          // well before any of this stream's data
      const iv = intervals(base, fromClient.map((r) => ({ ...r, seq: (r.seq + sp.seqC2B) >>> 0 })));
      for (const r of toBackend) {
        c2bChecked++;
        if (!covered(base, iv, r.seq, r.len)) { c2bUnmatched++; if (problems.length < 5) problems.push(`splice #${sp.id}: frame ${r.frame} to the back end (seq ${r.seq}, ${r.len} B) is no client data`); }
      }
    }
  }
  // ACKs for data the other side never sent (in the capture) would mean a wrong ACK offset.
  const backends = [...new Set(splices.map((x) => x.backend.split(':')[0]!))];
  const beSide = backends.length > 0 ? `(${backends.map((b) => `ip.addr == ${b}`).join(' || ')})` : 'frame';
  const count = async (f: string): Promise<number> => (await run(['-n', '-r', file, '-Y', f, '-T', 'fields', '-e', 'frame.number'])).split('\n').filter((l) => l.trim() !== '').length;
  const ackedUnseen = {
    clientSide: await count(`tcp.analysis.ack_lost_segment && ip.src == ${serviceIp} && !${beSide}`),
    backendSide: await count(`tcp.analysis.ack_lost_segment && ip.src == ${serviceIp} && ${beSide}`),
  };
  return { splicesSeen: seen, offsetMismatches, b2cChecked, c2bChecked, b2cUnmatched, c2bUnmatched, gaps, unexplainedGaps, ackedUnseen, problems };
}
