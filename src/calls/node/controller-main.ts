// Child-process driver of one call controller: a real UDP socket or TCP listener
// on loopback (control-transport.ts), timers at the engine's deadline, the CDR
// store, and IPC to `unbroken calls run`. Started with its config as JSON in argv[2].
import { randomInt } from 'node:crypto';
import { CallController } from '../controller/controller.js';
import { NumberingPlan } from '../common/numbering.js';
import { openCdrStore } from '../cdr/open-store.js';
import type { ControllerChildConfig, FromChild, ToChild } from './ipc.js';
import { DeadlineTimer, wallUs } from './driver-util.js';
import { tcpServerTransport, udpTransport } from './control-transport.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as ControllerChildConfig;
const send = (m: FromChild): void => { if (process.connected) process.send!(m); };
process.on('disconnect', () => process.exit(0)); // the parent is gone: so are we

const store = await openCdrStore(cfg.cdr);
let onMessage: (peer: string, bytes: Uint8Array) => void = () => {};
const onError = (err: Error): void => send({ t: 'fatal', detail: String(err) });
const tcp = cfg.transport === 'tcp';
const transport = tcp
  ? await tcpServerTransport(cfg.ip, cfg.port, (p, b) => onMessage(p, b), onError)
  : await udpTransport(cfg.ip, cfg.port, (p, b) => onMessage(p, b), onError);
const addr = transport.addr;
const ctl = new CallController({
  id: cfg.id, address: addr, plan: new NumberingPlan(cfg.gateways, cfg.lines), keepaliveUs: cfg.keepaliveUs, inactivityUs: cfg.inactivityUs,
  noAnswerUs: cfg.noAnswerUs, rebuildWaitUs: cfg.rebuildWaitUs, callIdPrefix: `${cfg.id.slice(-1)}${Date.now().toString(36)}`,
  // Annex D.2: over TCP the transport is reliable — no retransmissions, only the give-up timer.
  link: { firstTransactionId: 1 + randomInt(2 ** 30), ...(tcp ? { transport: 'tcp' as const } : {}) },
});
if (cfg.pcap) ctl.link.tap = (dir, peer, bytes) => { if (dir === 'out') send({ t: 'pcap', tsUs: wallUs(), src: addr, dst: peer, data: Buffer.from(bytes).toString('base64') }); };

let inserted = 0, duplicates = 0, errors = 0;
// setImmediate: replies already waiting in the socket are read before timeouts are handled.
const timer = new DeadlineTimer(() => setImmediate(() => { ctl.handleTimeout(wallUs()); pump(); }));

function pump(): void {
  for (let o = ctl.pollTransmit(); o; o = ctl.pollTransmit()) transport.send(o.peer, o.bytes);
  for (let r = ctl.pollCdr(); r; r = ctl.pollCdr()) {
    const rec = r;
    store.insert(rec).then((outcome) => {
      if (outcome === 'inserted') inserted++; else duplicates++;
      send({ t: 'cdr', callId: rec.callId, outcome });
    }, (err: unknown) => { errors++; send({ t: 'cdr', callId: rec.callId, outcome: 'error', detail: String(err) }); })
      .finally(() => { ctl.cdrStored(rec.callId, wallUs()); pump(); });
  }
  for (let e = ctl.pollEvent(); e; e = ctl.pollEvent()) send({ t: 'ctl-event', e });
  timer.arm(ctl.pollDeadline());
}

onMessage = (peer, bytes) => { ctl.handleDatagram(peer, bytes, wallUs()); pump(); };
process.on('message', (m: ToChild) => {
  if (m.t === 'handoff') { ctl.handoffAll(m.target, wallUs()); pump(); }
  if (m.t === 'query') {
    send({ t: 'status', id: m.id, ctl: { calls: ctl.calls.size, gateways: [...ctl.gateways.keys()], cdrInserted: inserted, cdrDuplicates: duplicates, cdrErrors: errors } });
  }
});
send({ t: 'ready', addr, pid: process.pid });
pump();
