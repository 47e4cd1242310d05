// `unbroken calls run`: two controllers and N gateways as child processes on
// loopback with real sockets, a seeded call mix, SIGKILL of the primary, features
// and hang-ups after failover, and the report. Every child is stopped by pid.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '../../util/rng.js';
import { planCallMix, stableCalls } from '../scenario/call-mix.js';
import { SqliteCdrStore } from '../cdr/sqlite-store.js';
import { openCdrStore } from '../cdr/open-store.js';
import type { ControllerChildConfig, ControllerStatus, FromChild, GatewayChildConfig, GatewayStatus, ToChild } from './ipc.js';
import type { ControllerEvent } from '../controller/controller.js';
import type { GatewayEvent } from '../gateway/media-gateway.js';
import { PcapWriter } from './pcap-writer.js';
import { wallUs } from './driver-util.js';
import { GAP_LOG_MIN_US } from '../rtp/receiver.js';

export interface CallsRunOptions {
  readonly gateways: number;
  readonly calls: number;
  readonly crashPrimaryAtS: number | undefined;
  readonly durationS: number;
  readonly seed: number;
  readonly cdr: string | undefined;
  readonly pcap: string | undefined;
  readonly controllerTimeoutMs: number;
  /** H.248 carrier between controllers and gateways (default UDP). */
  readonly transport?: 'udp' | 'tcp';
  /** Controllers' port (default 2944, on 127.0.0.1 and 127.0.0.2); 0 = any free port. */
  readonly port?: number;
  readonly log: (line: string) => void;
}

export interface CallsRunReport {
  readonly seed: number;
  readonly gateways: number;
  readonly linesPerGateway: number;
  readonly callsPlaced: number;
  readonly mix: Record<string, number>;
  readonly crashAtS: number | null;
  readonly stableAtCrash: number;
  readonly preserved: number;
  /** Calls the alternate rebuilt from records + audits (a gateway already with it needs no rebuild). */
  readonly rebuiltByAlternate: number;
  readonly lostStableCalls: string[];
  readonly releasedAtFailover: number;
  readonly failoverDetectionMs: number | null;
  readonly allControllableMs: number | null;
  readonly largestRtpGapMs: number;
  /** Largest gap overlapping the failover window; null = none of at least rtpGapLoggedFromMs. */
  readonly largestRtpGapAcrossFailoverMs: number | null;
  readonly rtpGapLoggedFromMs: number;
  readonly featuresAfterFailover: Record<string, number>;
  readonly hangupsAfterFailover: number;
  readonly cdrsWritten: number;
  readonly cdrErrors: number;
  readonly cdrDuplicatesRefused: number;
  readonly callsWithoutCdr: string[];
  readonly orphanContexts: number;
  readonly commandsRejected: number;
  readonly pcapMessages: number | null;
  /** Calls a live controller still holds after everyone hung up (should be 0). */
  readonly callsStillTracked: number;
}

interface Child { proc: ChildProcess; name: string; addr: string; pid: number }

const CHILD_DIR = new URL('.', import.meta.url);

export async function runCalls(o: CallsRunOptions): Promise<CallsRunReport> {
  const children: Child[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'unbroken-calls-'));
  const cdrSpec = o.cdr ?? join(tmp, 'cdr.db');
  const transport = o.transport ?? 'udp';
  // The capture is written as UDP datagrams (what tshark decodes as Megaco); a TCP run has no such capture.
  if (o.pcap && transport !== 'udp') throw new Error('--pcap needs --transport udp');
  const pcap = o.pcap ? new PcapWriter() : undefined;
  const ctlEvents: { ctl: number; e: ControllerEvent }[] = [];
  const gwEvents: { mgId: string; e: GatewayEvent }[] = [];
  const cdrOutcomes: { callId: string; outcome: string; detail?: string }[] = [];
  const statusWaiters = new Map<number, (m: FromChild) => void>();
  let queryId = 0;
  const lines = Math.max(3, Math.ceil((o.calls * 3) / o.gateways) + 1);
  if (o.gateways < 1 || o.gateways > 99 || lines > 99) throw new Error('at most 99 gateways of 99 lines: lower --calls or raise --gateways');

  const spawn = (file: string, name: string, cfg: object, onMsg: (m: FromChild) => void): Promise<Child> => new Promise((resolve, reject) => {
    const proc = fork(new URL(file, CHILD_DIR).pathname, [JSON.stringify(cfg)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const t = setTimeout(() => reject(new Error(`${name} did not start`)), 15_000);
    proc.on('message', (m: FromChild) => {
      if (m.t === 'ready') { clearTimeout(t); const c = { proc, name, addr: m.addr, pid: m.pid }; children.push(c); resolve(c); return; }
      if (m.t === 'status') { statusWaiters.get(m.id)?.(m); statusWaiters.delete(m.id); return; }
      if (m.t === 'pcap') { pcap?.add(m.tsUs, m.src, m.dst, Buffer.from(m.data, 'base64')); return; }
      if (m.t === 'fatal') o.log(`${name}: ${m.detail}`);
      onMsg(m);
    });
    proc.once('exit', () => clearTimeout(t));
    // Track the pid at once so a failure before 'ready' still stops it.
    if (proc.pid !== undefined) children.push({ proc, name: `${name}(starting)`, addr: '', pid: proc.pid });
  });

  // A child starved of CPU on a loaded machine can answer late: ask again (bounded) rather
  // than count a silent gateway's contexts and records as none.
  const query = async (c: Child): Promise<FromChild | undefined> => {
    for (let i = 0; i < 3; i++) { const m = await queryOnce(c); if (m || !c.proc.connected) return m; }
    return undefined;
  };
  const queryOnce = (c: Child): Promise<FromChild | undefined> => new Promise((resolve) => {
    const id = ++queryId;
    const t = setTimeout(() => { statusWaiters.delete(id); resolve(undefined); }, 3_000);
    statusWaiters.set(id, (m) => { clearTimeout(t); resolve(m); });
    if (c.proc.connected) c.proc.send({ t: 'query', id } satisfies ToChild); else { clearTimeout(t); resolve(undefined); }
  });

  try {
    const rng = new SeededRng(o.seed);
    const durationUs = Math.round(o.durationS * 1e6);
    const mix = planCallMix(rng, o.gateways, lines, o.calls, durationUs);
    const ctlCfg = (id: string, i: number): ControllerChildConfig => ({
      transport, ip: `127.0.0.${i + 1}`, port: o.port ?? 2944,
      id, gateways: o.gateways, lines, cdr: cdrSpec, keepaliveUs: Math.round((o.controllerTimeoutMs * 1000) / 3), inactivityUs: o.controllerTimeoutMs * 1000,
      noAnswerUs: 4_000_000, rebuildWaitUs: 30_000_000, pcap: !!pcap,
    });
    const ctls: Child[] = [];
    for (const [i, id] of ['mgc-a', 'mgc-b'].entries()) {
      ctls.push(await spawn('controller-main.ts', id, ctlCfg(id, i), (m) => {
        if (m.t === 'ctl-event') ctlEvents.push({ ctl: i, e: m.e });
        if (m.t === 'cdr') cdrOutcomes.push({ callId: m.callId, outcome: m.outcome, ...(m.detail ? { detail: m.detail } : {}) });
      }));
    }
    const registered = new Set<string>();
    const gws: Child[] = [];
    for (let g = 1; g <= o.gateways; g++) {
      const cfg: GatewayChildConfig = {
        index: g, lines, controllers: ctls.map((c) => c.addr), controllerTimeoutUs: o.controllerTimeoutMs * 1000,
        noAnswer: [...mix.noAnswer], pcap: !!pcap, transport,
      };
      gws.push(await spawn('gateway-main.ts', `mg${g}`, cfg, (m) => {
        if (m.t === 'gw-event') { gwEvents.push({ mgId: m.mgId, e: m.e }); if (m.e.type === 'registered') registered.add(m.mgId); }
      }));
    }
    await waitFor(() => registered.size === o.gateways && ctlEvents.filter((x) => x.e.type === 'gateway-rebuilt').length >= o.gateways, 10_000, 'gateways to register');
    o.log(`${o.gateways} gateways registered with mgc-a over ${transport.toUpperCase()}; ${mix.calls.length} calls over ${o.durationS}s (seed ${o.seed})`);

    const t0 = wallUs();
    const timers: NodeJS.Timeout[] = [];
    for (const a of mix.actions) {
      timers.push(setTimeout(() => {
        const c = gws[a.gw - 1];
        if (c?.proc.connected) c.proc.send({ t: 'phone', line: a.line, op: a.op, ...(a.digits ? { digits: a.digits } : {}) } satisfies ToChild);
      }, a.atUs / 1000));
    }
    let killAtUs: number | undefined;
    let stableAtCrash: string[] = [];
    if (o.crashPrimaryAtS !== undefined) {
      await sleepUntil(t0 + o.crashPrimaryAtS * 1e6);
      process.kill(ctls[0]!.pid, 'SIGKILL');
      killAtUs = wallUs();
      // Only controllers change records, and the primary is dead: this is the state at the crash.
      const st = await Promise.all(gws.map(query));
      if (st.some((m) => !m)) o.log('a gateway did not report its records at the crash: the stable count misses its calls');
      stableAtCrash = stableCalls(st.flatMap((m) => (m && m.t === 'status' && m.gw ? m.gw.records : [])));
      o.log(`SIGKILL mgc-a (pid ${ctls[0]!.pid}) at ${o.crashPrimaryAtS}s: ${stableAtCrash.length} stable calls`);
    }
    await sleepUntil(t0 + durationUs);
    for (const t of timers) clearTimeout(t);
    for (const c of gws) if (c.proc.connected) c.proc.send({ t: 'all-on-hook' } satisfies ToChild);
    // Let the last releases finish: until no context and no tracked call is left (at least
    // 3 s, at most 20 s — a loaded machine can be slow to drain).
    const live = ctls.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
    let gst: GatewayStatus[] = [];
    let cst: ControllerStatus[] = [];
    const settleEnd = Date.now() + 20_000;
    await sleep(3_000);
    for (;;) {
      gst = (await Promise.all(gws.map(query))).map((m) => (m && m.t === 'status' ? m.gw : undefined)).filter((x): x is GatewayStatus => !!x);
      cst = (await Promise.all(live.map(query))).map((m) => (m && m.t === 'status' ? m.ctl : undefined)).filter((x): x is ControllerStatus => !!x);
      const busy = gst.some((g) => g.contexts > 0) || cst.some((c) => c.calls > 0);
      if (!busy || Date.now() > settleEnd) break;
      await sleep(500);
    }

    // The report.
    const alt = 1;
    const preservedIds = new Set(ctlEvents.filter((x) => x.ctl === alt && x.e.type === 'call-preserved').map((x) => (x.e as { callId: string }).callId));
    const store = o.cdr && /^postgres/.test(o.cdr) ? await openCdrStore(o.cdr) : new SqliteCdrStore(cdrSpec);
    const rows = await store.all();
    await store.close();
    const reasonOf = new Map(rows.map((r) => [r.callId, r.releaseReason]));
    // A stable call is lost if it was not carried on: its one CDR says it was released by a
    // failure (or there is none). Calls the alternate already controlled count as kept too.
    // Calls the primary had already ended (and billed) before it died only looked stable
    // because their subtract had not reached a gateway yet: they were not at risk.
    const endedBefore = new Set(rows.filter((r) => r.writtenBy === 'mgc-a' && killAtUs !== undefined && r.endUs <= killAtUs).map((r) => r.callId));
    stableAtCrash = stableAtCrash.filter((id) => !endedBefore.has(id));
    const lost = stableAtCrash.filter((id) => { const why = reasonOf.get(id); return why === undefined || why === 'failover-unstable' || why === 'gateway-lost'; });
    const lostAt = gwEvents.filter((x) => x.e.type === 'controller-lost').map((x) => x.e.atUs);
    const preservedAt = ctlEvents.filter((x) => x.ctl === alt && x.e.type === 'call-preserved').map((x) => x.e.atUs);
    const feats: Record<string, number> = {};
    for (const x of ctlEvents) if (x.ctl === alt && x.e.type === 'feature' && preservedIds.has(x.e.callId)) feats[x.e.feature] = (feats[x.e.feature] ?? 0) + 1;
    const hangups = ctlEvents.filter((x) => x.ctl === alt && x.e.type === 'call-released' && preservedIds.has(x.e.callId) && x.e.reason === 'normal').length;
    const seen = new Set<string>([...stableAtCrash, ...ctlEvents.flatMap((x) => ('callId' in x.e ? [x.e.callId] : []))]);
    const billed = new Set(rows.map((r) => r.callId));
    const mixCount: Record<string, number> = {};
    for (const c of mix.calls) mixCount[c.kind] = (mixCount[c.kind] ?? 0) + 1;
    for (const d of cdrOutcomes.filter((x) => x.outcome !== 'inserted')) o.log(`CDR ${d.outcome}: ${d.callId} ${d.detail ?? ''}`);
    if (pcap && o.pcap) pcap.write(o.pcap);
    const worst = gst.reduce((a, g) => (g.largestRtpGapUs > a.largestRtpGapUs ? g : a), gst[0]!);
    if (worst) o.log(`largest RTP gap ${worst.largestRtpGapUs} us ended at +${((worst.largestRtpGapEndUs - t0) / 1e6).toFixed(3)} s`);
    const ms = (us: number): number => Math.round(us / 100) / 10;
    return {
      seed: o.seed, gateways: o.gateways, linesPerGateway: lines, callsPlaced: mix.calls.length, mix: mixCount,
      crashAtS: o.crashPrimaryAtS ?? null, stableAtCrash: stableAtCrash.length, preserved: stableAtCrash.length - lost.length, rebuiltByAlternate: preservedIds.size, lostStableCalls: lost,
      releasedAtFailover: ctlEvents.filter((x) => x.ctl === alt && x.e.type === 'call-released' && x.e.reason === 'failover-unstable').length,
      failoverDetectionMs: killAtUs !== undefined && lostAt.length ? ms(Math.max(...lostAt) - killAtUs) : null,
      allControllableMs: killAtUs !== undefined && preservedAt.length ? ms(Math.max(...preservedAt) - killAtUs) : null,
      largestRtpGapMs: ms(Math.max(0, ...gst.map((g) => g.largestRtpGapUs))),
      largestRtpGapAcrossFailoverMs: killAtUs === undefined ? null : (() => {
        // Gaps overlapping [crash, all calls controllable]; below GAP_LOG_MIN_US nothing is logged.
        const end = preservedAt.length ? Math.max(...preservedAt) : killAtUs + 1_000_000;
        const xs = gst.flatMap((g) => g.rtpGaps).filter((x) => x.endUs >= killAtUs && x.endUs - x.gapUs <= end).map((x) => x.gapUs);
        return xs.length ? ms(Math.max(...xs)) : null;
      })(),
      rtpGapLoggedFromMs: GAP_LOG_MIN_US / 1000,
      featuresAfterFailover: feats, hangupsAfterFailover: hangups,
      cdrsWritten: rows.length,
      cdrErrors: cdrOutcomes.filter((x) => x.outcome === 'error').length,
      cdrDuplicatesRefused: cdrOutcomes.filter((x) => x.outcome === 'duplicate').length,
      callsWithoutCdr: [...seen].filter((id) => !billed.has(id)).sort(),
      orphanContexts: gst.reduce((n, g) => n + g.contexts, 0) + (gst.length < gws.length ? Number.NaN : 0),
      commandsRejected: gst.reduce((n, g) => n + g.commandsRejected, 0),
      pcapMessages: pcap ? pcap.count : null,
      callsStillTracked: cst.reduce((n, c) => n + c.calls, 0),
    };
  } finally {
    await stopAll(children);
    if (!o.cdr) rmSync(tmp, { recursive: true, force: true });
  }
}

/** Stops every child we started, by pid: SIGTERM, then SIGKILL after 1 s. */
async function stopAll(children: Child[]): Promise<void> {
  const pids = [...new Set(children.map((c) => c.pid))];
  const procs = pids.map((pid) => children.find((c) => c.pid === pid)!.proc);
  for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ } }
  await Promise.all(procs.map((p) => new Promise<void>((res) => {
    if (p.exitCode !== null || p.signalCode !== null) { res(); return; }
    const t = setTimeout(() => { if (p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } } res(); }, 1_000);
    p.once('exit', () => { clearTimeout(t); res(); });
  })));
}

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
async function sleepUntil(us: number): Promise<void> { const d = (us - wallUs()) / 1000; if (d > 0) await sleep(d); }
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) { if (Date.now() > end) throw new Error(`timed out waiting for ${what}`); await sleep(20); }
}
