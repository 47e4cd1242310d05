// Media gateway traces: registration, refusal of other controllers, audit, the
// failover walk and digit collection. Whole call flows are tested in sim/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaGateway } from './media-gateway.js';
import { DigitMap } from './digit-map.js';
import { textCodec } from '../transport/text-codec.js';
import { SeededRng } from '../../util/rng.js';
import type { ActionRequest, Message, TransactionReply, TransactionRequest } from '../h248/model.js';
import { action, add, auditValue, events, media, modify, subtract } from '../h248/model.js';
import { RECORD_PROPERTY } from '../record/call-record.js';

const CTL = ['10.0.1.1:2944', '10.0.1.2:2944'];

function gateway(): MediaGateway {
  return new MediaGateway({
    mgId: 'mg1', lines: 4, controllers: CTL, rtpIp: '10.0.0.1', rtpPorts: [20000, 20002], law: 'pcmu',
    controllerTimeoutUs: 300_000, registerRetryUs: 200_000,
  }, new SeededRng(1));
}

/** Everything the gateway sent, decoded (transaction acknowledgements included). */
function sent(gw: MediaGateway): { peer: string; msg: Message }[] {
  const out: { peer: string; msg: Message }[] = [];
  for (let o = gw.pollControl(); o; o = gw.pollControl()) {
    const r = textCodec.decode(o.bytes); assert.ok(r.ok, 'gateway output parses'); out.push({ peer: o.peer, msg: r.value });
  }
  return out;
}
const txns = (m: Message) => (m.body.kind === 'transactions' ? m.body.transactions : []);
/** What the gateway sent that carries requests (its ResponseAcks of replies left out). */
const requests = (xs: { peer: string; msg: Message }[]) => xs.filter((x) => txns(x.msg).some((t) => t.kind === 'request'));
const enc = (mId: string, t: TransactionRequest | TransactionReply): Uint8Array => textCodec.encode({ version: 1, mId, body: { kind: 'transactions', transactions: [t] } });

let tid = 100;
/** Requests the gateway sent while a test command was answered. */
const stash: (TransactionRequest | TransactionReply | { kind: string })[] = [];
function command(gw: MediaGateway, from: string, nowUs: number, ...actions: ActionRequest[]): TransactionReply {
  gw.handleControl(from, enc('[10.0.1.1]:2944', { kind: 'request', transactionId: ++tid, actions }), nowUs);
  const all = sent(gw).flatMap((s) => txns(s.msg));
  stash.push(...all.filter((t) => t.kind === 'request'));
  const rs = all.filter((t): t is TransactionReply => t.kind === 'reply' && t.transactionId === tid);
  assert.equal(rs.length, 1);
  return rs[0]!;
}

function register(gw: MediaGateway, nowUs: number): void {
  gw.start(nowUs);
  const [reg] = sent(gw);
  assert.equal(reg!.peer, CTL[0]);
  const t = txns(reg!.msg)[0]!;
  assert.equal(t.kind, 'request');
  const sc = t.kind === 'request' ? t.actions[0]!.commands[0]! : undefined;
  assert.ok(sc && sc.type === 'serviceChange');
  // RFC 3525 §11.2: first registration is Restart, 901 cold boot.
  assert.equal(sc.serviceChange.method, 'restart');
  assert.equal(sc.serviceChange.reason.code, 901);
  gw.handleControl(CTL[0]!, enc('[10.0.1.1]:2944', { kind: 'reply', transactionId: t.transactionId, actions: [{ contextId: '-', commands: [{ type: 'serviceChange', terminationIds: ['ROOT'] }] }] }), nowUs);
  assert.equal(gw.currentController(), CTL[0]);
}

test('gateway: registers, obeys only its controller, keeps call records, answers a full audit', () => {
  const gw = gateway();
  register(gw, 0);
  // Another controller is refused (no split brain).
  const refused = command(gw, CTL[1]!, 1_000, action('-', auditValue('ROOT')));
  assert.equal(refused.error?.code, 402);
  // Add a line and a CHOOSE RTP termination; the reply carries the chosen id and Local SDP.
  const r = command(gw, CTL[0]!, 2_000, action('$',
    add('al/1', { media: { terminationState: { properties: { [RECORD_PROPERTY]: 'r1!c1!1!talking!5!6!0101!0102!0101+0102!~!~' } }, streams: [] } }),
    add('rtp/$', { media: media({ mode: 'sendReceive', remote: 'v=0\r\nc=IN IP4 10.0.0.2\r\nm=audio 20000 RTP/AVP 0' }) })));
  const ctx = r.actions[0]!.contextId;
  assert.equal(typeof ctx, 'number');
  const rtpReply = r.actions[0]!.commands[1]!;
  assert.equal(rtpReply.terminationIds[0], 'rtp/1');
  assert.match(('audit' in rtpReply ? rtpReply.audit?.media?.streams[0]?.local?.text : '') ?? '', /m=audio 20000 RTP\/AVP 0/);
  // Audit of every context returns the record and the RTP remote.
  const a = command(gw, CTL[0]!, 3_000, action('*', auditValue('*', ['media'])));
  assert.equal(a.actions.length, 1);
  const line = a.actions[0]!.commands.find((c) => c.terminationIds[0] === 'al/1')!;
  assert.equal(('audit' in line ? line.audit?.media?.terminationState?.properties?.[RECORD_PROPERTY] : undefined), 'r1!c1!1!talking!5!6!0101!0102!0101+0102!~!~');
  // RTP flows to the remote once due.
  const rtp = gw.pollRtp(30_000);
  assert.ok(rtp.length >= 1 && rtp[0]!.toIp === '10.0.0.2' && rtp[0]!.toPort === 20000);
  // Unknown context: a typed error, not a crash.
  assert.equal(command(gw, CTL[0]!, 4_000, action(99, modify('al/1'))).actions[0]!.error?.code, 411);
  // Subtract all: the context and its record are gone.
  command(gw, CTL[0]!, 5_000, action(ctx, subtract('*')));
  assert.deepEqual(gw.contextsView(), []);
  assert.equal(gw.lineView(1).record, undefined);
});

test('gateway: detects a silent controller and walks its list (Failover 909, then Disconnected 900 to the original)', () => {
  const gw = gateway();
  register(gw, 0);
  command(gw, CTL[0]!, 100_000, action('-', auditValue('ROOT')));
  gw.handleTimeout(399_000);
  assert.equal(requests(sent(gw)).length, 0, 'no failover before the bound');
  gw.handleTimeout(400_000);
  const evs = []; for (let e = gw.pollEvent(); e; e = gw.pollEvent()) evs.push(e.type);
  assert.deepEqual(evs, ['registered', 'controller-lost']);
  const [fo] = requests(sent(gw));
  assert.equal(fo!.peer, CTL[1]);
  const t = txns(fo!.msg)[0]!;
  const sc = t.kind === 'request' ? t.actions[0]!.commands[0] : undefined;
  assert.ok(sc && sc.type === 'serviceChange' && sc.serviceChange.method === 'failover' && sc.serviceChange.reason.code === 909);
  // The alternate never answers: after the link gives up, back to the original with Disconnected.
  let out: { peer: string; msg: Message }[] = [];
  for (let now = 400_000; now < 3_000_000 && !out.some((o) => o.peer === CTL[0]); now += 10_000) { gw.handleTimeout(now); out = requests(sent(gw)); }
  const back = out.find((o) => o.peer === CTL[0])!;
  const bt = txns(back.msg)[0]!;
  const bsc = bt.kind === 'request' ? bt.actions[0]!.commands[0] : undefined;
  assert.ok(bsc && bsc.type === 'serviceChange' && bsc.serviceChange.method === 'disconnected' && bsc.serviceChange.reason.code === 900);
});

test('gateway: the controller arms the inactivity timer (it/ito, mit in 10 ms) and the gateway keeps that silence bound', () => {
  const gw = gateway();
  register(gw, 0);
  assert.equal(gw.silenceBoundUs(), 300_000);
  const bad = command(gw, CTL[0]!, 1_000, action('-', modify('ROOT', { events: events(2, { name: 'it/ito', params: { mit: '0' } }) })));
  assert.equal(bad.actions[0]!.error?.code, 446);
  command(gw, CTL[0]!, 2_000, action('-', modify('ROOT', { events: events(2, { name: 'it/ito', params: { mit: '50' } }) })));
  assert.equal(gw.silenceBoundUs(), 500_000);
  gw.handleTimeout(450_000);
  assert.equal(requests(sent(gw)).length, 0, 'silent for 448 ms: still ours');
  gw.handleTimeout(502_000);
  const [fo] = requests(sent(gw));
  assert.equal(fo?.peer, CTL[1], 'silent for 500 ms: failover');
  // The next controller starts from the configured bound until it arms its own.
  assert.equal(gw.silenceBoundUs(), 300_000);
});

test('gateway: hook events become Notify; digits typed before collection is armed are kept', () => {
  const gw = gateway();
  register(gw, 0);
  command(gw, CTL[0]!, 1_000, action('-', modify('al/2', { events: events(7, 'al/of') })));
  gw.offHook(2, 2_000);
  gw.dial(2, '0104', 2_100); // dialled before the controller asked for digits
  const n = sent(gw).flatMap((s) => txns(s.msg)).filter((t) => t.kind === 'request');
  const nc = n[0]?.kind === 'request' ? n[0].actions[0]!.commands[0] : undefined;
  assert.ok(nc && nc.type === 'notify' && nc.observedEvents.requestId === 7 && nc.observedEvents.events[0]!.name === 'al/of');
  command(gw, CTL[0]!, 3_000, action('-', modify('al/2', { events: events(8, 'al/on', { name: 'dd/ce', digitMap: { value: 'xxxx' } }) })));
  const d = [...stash.splice(0), ...sent(gw).flatMap((s) => txns(s.msg))].find((t): t is TransactionRequest => t.kind === 'request');
  const dc = d?.kind === 'request' ? d.actions[0]!.commands[0] : undefined;
  assert.ok(dc && dc.type === 'notify');
  assert.equal(dc.observedEvents.events[0]!.name, 'dd/ce');
  assert.equal(dc.observedEvents.events[0]!.params?.ds, '0104');
});

test('digit map: complete, partial and mismatch', () => {
  const m = DigitMap.parse('(0xxx|9x.|*[1-3])')!;
  assert.equal(m.match('0'), 'partial');
  assert.equal(m.match('0123'), 'complete');
  assert.equal(m.match('01234'), 'mismatch');
  assert.equal(m.match('9'), 'complete');
  assert.equal(m.match('*2'), 'complete');
  assert.equal(m.match('5'), 'mismatch');
  assert.equal(DigitMap.parse('[12'), undefined);
});
