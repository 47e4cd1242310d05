// Child-process driver of one media gateway: a control socket and a pool of RTP
// sockets on loopback (ephemeral ports), timers, the phone users (answer when it
// rings, hang up on busy tone) and IPC to `unbroken calls run`.
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { MediaGateway } from '../gateway/media-gateway.js';
import { gatewayName, numberOf } from '../common/numbering.js';
import { SeededRng } from '../../util/rng.js';
import { Pkg } from '../common/packages.js';
import { ANSWER_DELAY_US, BUSY_HANGUP_US } from '../scenario/call-mix.js';
import type { FromChild, GatewayChildConfig, ToChild } from './ipc.js';
import { DeadlineTimer, wallUs } from './driver-util.js';
import { randomInt } from 'node:crypto';
import { tcpClientTransport, udpTransport } from './control-transport.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as GatewayChildConfig;
const send = (m: FromChild): void => { if (process.connected) process.send!(m); };
process.on('disconnect', () => process.exit(0));

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  return s;
}

let onControl: (peer: string, bytes: Uint8Array) => void = () => {};
const tcp = cfg.transport === 'tcp';
const control = tcp
  ? tcpClientTransport('127.0.0.1', (p, b) => onControl(p, b))
  : await udpTransport('127.0.0.1', 0, (p, b) => onControl(p, b), (err) => send({ t: 'fatal', detail: String(err) }));
const addr = control.addr;
const rtpSocks = new Map<number, Socket>();
for (let i = 0; i < cfg.lines * 2; i++) { const s = await bound(); rtpSocks.set(s.address().port, s); }
const mgId = gatewayName(cfg.index);
const gw = new MediaGateway({
  mgId, lines: cfg.lines, controllers: cfg.controllers, rtpIp: '127.0.0.1', rtpPorts: [...rtpSocks.keys()], law: 'pcmu',
  controllerTimeoutUs: cfg.controllerTimeoutUs, registerRetryUs: 200_000,
  // Annex D.2: over TCP the transport is reliable — no retransmissions, only the give-up timer.
  link: { firstTransactionId: 1 + randomInt(2 ** 30), ...(tcp ? { transport: 'tcp' as const } : {}) },
}, new SeededRng(randomInt(2 ** 31)));
if (cfg.pcap) gw.link.tap = (dir, peer, bytes) => { if (dir === 'out') send({ t: 'pcap', tsUs: wallUs(), src: addr, dst: peer, data: Buffer.from(bytes).toString('base64') }); };

// setImmediate: after a stall, datagrams already waiting in the sockets are read (poll
// phase) before the timeout is handled, so a late timer does not declare a live controller lost.
const timer = new DeadlineTimer(() => setImmediate(() => { const now = wallUs(); gw.handleTimeout(now); pump(now); }));
let rtpReceived = 0;

function pump(now: number): void {
  for (let o = gw.pollControl(); o; o = gw.pollControl()) control.send(o.peer, o.bytes);
  for (const d of gw.pollRtp(now)) rtpSocks.get(d.fromPort)?.send(d.bytes, d.toPort, d.toIp);
  for (let e = gw.pollEvent(); e; e = gw.pollEvent()) send({ t: 'gw-event', e, mgId });
  const ds = [gw.pollDeadline(), gw.pollRtpDeadline()].filter((x): x is number => x !== undefined);
  timer.arm(ds.length ? Math.min(...ds) : undefined);
}

onControl = (peer, bytes) => { const now = wallUs(); gw.handleControl(peer, bytes, now); pump(now); };
for (const [port, s] of rtpSocks) s.on('message', (msg) => { rtpReceived++; gw.handleRtp(port, new Uint8Array(msg), wallUs()); });

// Phone users.
const noAnswer = new Set(cfg.noAnswer);
const pendingUser = new Set<number>();
setInterval(() => {
  for (let l = 1; l <= cfg.lines; l++) {
    if (pendingUser.has(l)) continue;
    const v = gw.lineView(l);
    if (v.hook === 'on' && v.signals.includes(Pkg.ring) && !noAnswer.has(numberOf(cfg.index, l))) {
      pendingUser.add(l);
      setTimeout(() => { pendingUser.delete(l); if (gw.lineView(l).signals.includes(Pkg.ring)) { const n = wallUs(); gw.offHook(l, n); pump(n); } }, ANSWER_DELAY_US / 1000);
    } else if (v.hook === 'off' && v.signals.includes(Pkg.busyTone)) {
      pendingUser.add(l);
      setTimeout(() => { pendingUser.delete(l); const n = wallUs(); gw.onHook(l, n); pump(n); }, BUSY_HANGUP_US / 1000);
    }
  }
}, 20).unref();

process.on('message', (m: ToChild) => {
  const now = wallUs();
  if (m.t === 'phone') {
    if (m.op === 'offhook') gw.offHook(m.line, now);
    else if (m.op === 'onhook') gw.onHook(m.line, now);
    else if (m.op === 'flash') gw.flash(m.line, now);
    else gw.dial(m.line, m.digits ?? '', now);
  } else if (m.t === 'all-on-hook') {
    for (let l = 1; l <= cfg.lines; l++) gw.onHook(l, now);
  } else if (m.t === 'query') {
    const cs = gw.contextsView();
    send({ t: 'status', id: m.id, gw: {
      registeredWith: gw.currentController(), contexts: cs.length, records: cs.flatMap((c) => c.records),
      largestRtpGapUs: gw.largestRtpGap().gapUs, largestRtpGapEndUs: gw.largestRtpGap().endUs, rtpGaps: gw.rtpGaps(), rtpPacketsReceived: rtpReceived, commandsRejected: gw.stats.commandsRejected,
    } });
  }
  pump(now);
});
send({ t: 'ready', addr, pid: process.pid });
gw.start(wallUs());
pump(wallUs());
