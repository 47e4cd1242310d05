// Child-process driver of one call controller: a real node:dgram socket on
// loopback (ephemeral port), timers at the engine's deadline, the CDR store, and
// IPC to `unbroken calls run`. Started with its config as JSON in argv[2].
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { CallController } from '../controller/controller.js';
import { NumberingPlan } from '../common/numbering.js';
import { textCodec } from '../transport/text-codec.js';
import { openCdrStore } from '../cdr/open-store.js';
import type { ControllerChildConfig, FromChild, ToChild } from './ipc.js';
import { DeadlineTimer, splitAddr, wallUs } from './driver-util.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as ControllerChildConfig;
const send = (m: FromChild): void => { if (process.connected) process.send!(m); };
process.on('disconnect', () => process.exit(0)); // the parent is gone: so are we

const store = await openCdrStore(cfg.cdr);
const sock = createSocket('udp4');
await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
const addr = `127.0.0.1:${sock.address().port}`;
const ctl = new CallController({
  id: cfg.id, address: addr, plan: new NumberingPlan(cfg.gateways, cfg.lines), keepaliveUs: cfg.keepaliveUs,
  noAnswerUs: cfg.noAnswerUs, rebuildWaitUs: cfg.rebuildWaitUs, callIdPrefix: `${cfg.id.slice(-1)}${Date.now().toString(36)}`,
  link: { firstTransactionId: 1 + randomInt(2 ** 30) },
}, textCodec);
if (cfg.pcap) ctl.link.tap = (dir, peer, bytes) => { if (dir === 'out') send({ t: 'pcap', tsUs: wallUs(), src: addr, dst: peer, data: Buffer.from(bytes).toString('base64') }); };

let inserted = 0, duplicates = 0, errors = 0;
// setImmediate: replies already waiting in the socket are read before timeouts are handled.
const timer = new DeadlineTimer(() => setImmediate(() => { ctl.handleTimeout(wallUs()); pump(); }));

function pump(): void {
  for (let o = ctl.pollTransmit(); o; o = ctl.pollTransmit()) {
    const { ip, port } = splitAddr(o.peer);
    sock.send(o.bytes, port, ip);
  }
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

sock.on('message', (msg, rinfo) => { ctl.handleDatagram(`${rinfo.address}:${rinfo.port}`, new Uint8Array(msg), wallUs()); pump(); });
sock.on('error', (err) => send({ t: 'fatal', detail: String(err) }));
process.on('message', (m: ToChild) => {
  if (m.t === 'handoff') { ctl.handoffAll(m.target, wallUs()); pump(); }
  if (m.t === 'query') {
    send({ t: 'status', id: m.id, ctl: { calls: ctl.calls.size, gateways: [...ctl.gateways.keys()], cdrInserted: inserted, cdrDuplicates: duplicates, cdrErrors: errors } });
  }
});
send({ t: 'ready', addr, pid: process.pid });
pump();
