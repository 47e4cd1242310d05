// `unbroken serve` for roles call-controller and media-gateway: the H.248 engines of
// src/calls on real sockets of the host (no TAP: H.248 over UDP, or over TCP with TPKT
// framing — the carriers of src/calls/node/control-transport.ts — and RTP over UDP are
// ordinary host traffic), as `unbroken calls run` drives them in its child processes
// (src/calls/node/), but from a config file, with the JSON log and the metrics.
// The gateway's analog lines are simulated phones: a ringing line answers after
// ANSWER_DELAY_US, a line hearing busy tone hangs up; commands on stdin
// ("offhook 1", "dial 1 1002", "flash 1", "onhook 1") lift, dial and hang up.
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { CallController } from '../calls/controller/controller.js';
import { MediaGateway } from '../calls/gateway/media-gateway.js';
import { NumberingPlan } from '../calls/common/numbering.js';
import { addressOfMid } from '../calls/common/address.js';
import { openCdrStore } from '../calls/cdr/open-store.js';
import { Pkg } from '../calls/common/packages.js';
import { ANSWER_DELAY_US, BUSY_HANGUP_US } from '../calls/scenario/call-mix.js';
import { DeadlineTimer, splitAddr, wallUs } from '../calls/node/driver-util.js';
import { tcpClientTransport, tcpServerTransport, udpTransport, type ControlTransport } from '../calls/node/control-transport.js';
import { SeededRng } from '../util/rng.js';
import type { ControllerSection, GatewaySection } from '../config/schema.js';
import type { EventLogger } from '../observe/log.js';
import type { UnbrokenMetrics } from '../observe/metrics.js';
import type { RunningRole } from './types.js';
import { ServeError } from './types.js';

/** Phone commands read from stdin per line, at most this long. */
const PHONE_LINE_MAX = 256;

async function bindUdp(addr: string, what: string): Promise<Socket> {
  const { ip, port } = splitAddr(addr);
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', (e) => reject(new ServeError(`cannot bind ${what} ${addr}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    s.bind(port, ip, () => resolve());
  });
  return s;
}

/** The H.248 carrier a controller listens on: UDP datagrams, or a TCP listener (TPKT). */
async function listenControl(transport: 'udp' | 'tcp', addr: string, field: string, onMessage: (peer: string, bytes: Uint8Array) => void, onError: (e: Error) => void): Promise<ControlTransport> {
  const { ip, port } = splitAddr(addr);
  try {
    return transport === 'tcp' ? await tcpServerTransport(ip, port, onMessage, onError) : await udpTransport(ip, port, onMessage, onError);
  } catch (e) {
    throw new ServeError(`cannot ${transport === 'tcp' ? 'listen on' : 'bind'} ${field} ${addr} (${transport}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function startControllerRole(node: string, c: ControllerSection, log: EventLogger, metrics: UnbrokenMetrics): Promise<RunningRole> {
  let plan: NumberingPlan;
  try {
    plan = NumberingPlan.fromEntries(c.numberingPlan.map((n) => ({ mgId: n.gateway, termId: n.termination, number: n.number })));
  } catch (e) {
    throw new ServeError(`controller.numberingPlan: ${(e as Error).message}`);
  }
  // Our address as gateways know it (it gives our mId): the mid's, when listening on every address.
  const listen = splitAddr(c.listen);
  const address = listen.ip === '0.0.0.0' ? addressOfMid(c.mid) ?? c.listen : c.listen;
  const cdrSpec = c.cdr.kind === 'sqlite' ? c.cdr.path! : c.cdr.url!;
  const store = await openCdrStore(cdrSpec);
  let onMessage: (peer: string, bytes: Uint8Array) => void = () => {};
  const sock = await listenControl(c.transport, c.listen, 'controller.listen', (p, b) => onMessage(p, b),
    (err) => log.event('socket.error', { error: String(err) }, 'controller socket error'))
    .catch(async (e: unknown) => { await store.close(); throw e; });
  const keepaliveUs = 100_000;
  const ctl = new CallController({
    id: node, address, plan, keepaliveUs, noAnswerUs: 30_000_000, rebuildWaitUs: 30_000_000,
    callIdPrefix: `${node.replace(/[^A-Za-z0-9]/g, '').slice(-4)}${Date.now().toString(36)}`,
    // Annex D.2: over TCP the transport is reliable — no retransmissions, only the give-up timer.
    link: { firstTransactionId: 1 + randomInt(2 ** 30), ...(c.transport === 'tcp' ? { transport: 'tcp' as const } : {}) },
  });
  let pendingCdrs = 0;
  let stopped = false;
  const timer = new DeadlineTimer(() => setImmediate(() => { if (!stopped) { ctl.handleTimeout(wallUs()); pump(); } }));
  function pump(): void {
    if (stopped) return;
    for (let o = ctl.pollTransmit(); o; o = ctl.pollTransmit()) sock.send(o.peer, o.bytes);
    for (let r = ctl.pollCdr(); r; r = ctl.pollCdr()) {
      const rec = r;
      pendingCdrs++;
      store.insert(rec).then(
        (outcome) => log.event('cdr.written', { call: rec.callId, outcome }),
        (err: unknown) => log.event('cdr.failed', { call: rec.callId, error: String(err) }),
      ).finally(() => { pendingCdrs--; ctl.cdrStored(rec.callId, wallUs()); pump(); });
    }
    for (let e = ctl.pollEvent(); e; e = ctl.pollEvent()) {
      switch (e.type) {
        case 'gateway-registered':
          if (e.method === 'failover') {
            metrics.failovers.inc({ technique: 'calls', kind: 'takeover' });
            log.event('gateway.failover', { gateway: e.mgId, method: e.method });
          } else {
            log.event('gateway.registered', { gateway: e.mgId, method: e.method });
          }
          break;
        case 'gateway-rebuilt': log.event('gateway.rebuilt', { gateway: e.mgId, fragments: e.fragments }); break;
        case 'gateway-lost': log.event('gateway.lost', { gateway: e.mgId, why: e.why }); break;
        case 'call-preserved': metrics.callsPreserved.inc(); log.event('call.preserved', { call: e.callId, phase: e.phase }); break;
        case 'call-answered': log.event('call.started', { call: e.callId }); break;
        case 'call-released': metrics.callsReleased.inc({ reason: e.reason }); log.event('call.released', { call: e.callId, reason: e.reason }); break;
        case 'feature': log.event('call.feature', { call: e.callId, feature: e.feature }); break;
      }
    }
    metrics.callsActive.set(ctl.calls.size);
    metrics.connections.set({ role: 'call-controller' }, ctl.gateways.size);
    timer.arm(ctl.pollDeadline());
  }
  onMessage = (peer, bytes) => { if (stopped) return; ctl.handleDatagram(peer, bytes, wallUs()); pump(); };
  pump();
  return {
    describe: { listen: c.listen, transport: c.transport, mid: c.mid, address, cdr: c.cdr.kind, numbers: c.numberingPlan.length },
    async stop() {
      stopped = true;
      timer.cancel();
      sock.close();
      // CDRs already handed to the store are written before it closes.
      for (let i = 0; i < 100 && pendingCdrs > 0; i++) await new Promise((r) => setTimeout(r, 20));
      await store.close();
      return pendingCdrs > 0 ? [`${pendingCdrs} CDR(s) still being written at shutdown`] : [];
    },
  };
}

/** Line numbers of `al/1..al/N`, or a ServeError naming the first termination out of that shape. */
export function lineCount(lines: ReadonlyArray<{ termination: string }>): number {
  lines.forEach((l, i) => {
    if (l.termination !== `al/${i + 1}`) throw new ServeError(`gateway.lines[${i}].termination: serve's gateway has analog lines al/1 … al/N in order; expected al/${i + 1} (got ${l.termination})`);
  });
  return lines.length;
}

export async function startGatewayRole(node: string, c: GatewaySection, log: EventLogger, metrics: UnbrokenMetrics, stdin: NodeJS.ReadableStream | undefined): Promise<RunningRole> {
  const lines = lineCount(c.lines);
  // Two RTP terminations per line at most (a call and a consultation call while it is held).
  const rtpCount = Math.min(lines * 2, c.rtp.portMax - c.rtp.portMin + 1);
  const sockets: Socket[] = [];
  const closeAll = (): Promise<void[]> => Promise.all(sockets.map((s) => new Promise<void>((r) => { try { s.close(() => r()); } catch { r(); } })));
  const rtpSocks = new Map<number, Socket>();
  let onControl: (peer: string, bytes: Uint8Array) => void = () => {};
  let control: ControlTransport | undefined;
  try {
    // Over TCP the gateway connects to each controller (from listen's address); over UDP it sends from listen.
    control = c.transport === 'tcp'
      ? tcpClientTransport(splitAddr(c.listen).ip, (p, b) => onControl(p, b))
      : await listenControl('udp', c.listen, 'gateway.listen', (p, b) => onControl(p, b), (err) => log.event('socket.error', { error: String(err) }, 'gateway control socket error'));
    for (let p = c.rtp.portMin; rtpSocks.size < rtpCount && p <= c.rtp.portMax; p++) {
      const s = await bindUdp(`${c.rtp.ip}:${p}`, 'an RTP port (gateway.rtp)');
      sockets.push(s);
      rtpSocks.set(p, s);
    }
  } catch (e) {
    control?.close();
    await closeAll();
    throw e;
  }
  const ctlLink = control;
  const gw = new MediaGateway({
    mgId: c.mid, lines, controllers: c.controllers, rtpIp: c.rtp.ip, rtpPorts: [...rtpSocks.keys()], law: 'pcmu',
    controllerTimeoutUs: c.heartbeatMs * c.missCount * 1000, registerRetryUs: 200_000,
    link: { firstTransactionId: 1 + randomInt(2 ** 30), ...(c.transport === 'tcp' ? { transport: 'tcp' as const } : {}) },
  }, new SeededRng(randomInt(2 ** 31)));
  let stopped = false;
  const timer = new DeadlineTimer(() => setImmediate(() => { if (stopped) return; const now = wallUs(); gw.handleTimeout(now); pump(now); }));
  let registeredOnce = false;
  function pump(now: number): void {
    if (stopped) return;
    for (let o = gw.pollControl(); o; o = gw.pollControl()) ctlLink.send(o.peer, o.bytes);
    for (const d of gw.pollRtp(now)) rtpSocks.get(d.fromPort)?.send(d.bytes, d.toPort, d.toIp);
    for (let e = gw.pollEvent(); e; e = gw.pollEvent()) {
      if (e.type === 'registered') {
        const moved = registeredOnce;
        registeredOnce = true;
        if (moved) metrics.failovers.inc({ technique: 'calls', kind: 'takeover' });
        log.event(moved ? 'gateway.failover' : 'gateway.registered', { controller: e.controller, method: e.method });
      } else if (e.type === 'controller-lost') {
        // Declared lost for silence = missCount checks in a row went unanswered.
        if (e.reason === 'silence') metrics.heartbeatsMissed.inc({ peer: e.controller }, c.missCount);
        log.event('failover.detected', { peer: e.controller, reason: e.reason, sinceLastHeartbeatMs: (e.atUs - e.lastHeardUs) / 1000 });
      } else {
        log.event('control.rejected', { peer: e.from, reason: 'rejected-command' });
      }
    }
    metrics.connections.set({ role: 'media-gateway' }, gw.contextsView().length);
    const ds = [gw.pollDeadline(), gw.pollRtpDeadline()].filter((x): x is number => x !== undefined);
    timer.arm(ds.length ? Math.min(...ds) : undefined);
  }
  onControl = (peer, bytes) => { if (stopped) return; const now = wallUs(); gw.handleControl(peer, bytes, now); pump(now); };
  for (const [port, s] of rtpSocks) s.on('message', (msg) => { if (!stopped) gw.handleRtp(port, new Uint8Array(msg), wallUs()); });
  // The phones: answer when ringing, hang up on busy tone.
  const pendingUser = new Set<number>();
  const phones = setInterval(() => {
    for (let l = 1; l <= lines; l++) {
      if (pendingUser.has(l)) continue;
      const v = gw.lineView(l);
      if (v.hook === 'on' && v.signals.includes(Pkg.ring)) {
        pendingUser.add(l);
        setTimeout(() => { pendingUser.delete(l); if (!stopped && gw.lineView(l).signals.includes(Pkg.ring)) { const n = wallUs(); gw.offHook(l, n); pump(n); } }, ANSWER_DELAY_US / 1000);
      } else if (v.hook === 'off' && v.signals.includes(Pkg.busyTone)) {
        pendingUser.add(l);
        setTimeout(() => { pendingUser.delete(l); if (stopped) return; const n = wallUs(); gw.onHook(l, n); pump(n); }, BUSY_HANGUP_US / 1000);
      }
    }
  }, 20);
  const rl = stdin ? createInterface({ input: stdin }) : undefined;
  rl?.on('line', (text) => {
    const r = phoneCommand(text.slice(0, PHONE_LINE_MAX), lines);
    if (!r.ok) { log.event('phone.rejected', { command: text.slice(0, 80), error: r.error }, r.error); return; }
    const now = wallUs();
    const p = r.value;
    if (p.op === 'dial') gw.dial(p.line, p.digits, now);
    else if (p.op === 'offhook') gw.offHook(p.line, now);
    else if (p.op === 'onhook') gw.onHook(p.line, now);
    else gw.flash(p.line, now);
    log.event('phone.command', { line: p.line, op: p.op });
    pump(now);
  });
  gw.start(wallUs());
  pump(wallUs());
  return {
    describe: { listen: c.listen, transport: c.transport, mid: c.mid, controllers: c.controllers, lines, rtpPorts: rtpSocks.size },
    async stop() {
      stopped = true;
      clearInterval(phones);
      rl?.close();
      timer.cancel();
      ctlLink.close();
      await closeAll();
      return [];
    },
  };
}

export type PhoneCommand = { op: 'offhook' | 'onhook' | 'flash'; line: number } | { op: 'dial'; line: number; digits: string };

/** "offhook 1", "dial 1 1002", "flash 2", "onhook 1" → a command, or why not. */
export function phoneCommand(text: string, lines: number): { ok: true; value: PhoneCommand } | { ok: false; error: string } {
  const w = text.trim().split(/\s+/);
  const op = w[0];
  const line = Number(w[1]);
  if (!Number.isInteger(line) || line < 1 || line > lines) return { ok: false, error: `line must be 1 to ${lines}` };
  if (op === 'offhook' || op === 'onhook' || op === 'flash') return w.length === 2 ? { ok: true, value: { op, line } } : { ok: false, error: `${op} takes a line only` };
  if (op === 'dial') return w.length === 3 && /^[0-9*#]{1,32}$/.test(w[2]!) ? { ok: true, value: { op, line, digits: w[2]! } } : { ok: false, error: 'dial LINE DIGITS' };
  return { ok: false, error: 'commands: offhook N, dial N DIGITS, flash N, onhook N' };
}
