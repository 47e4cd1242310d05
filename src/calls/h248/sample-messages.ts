// A fixed corpus of H.248 messages covering every transaction kind, every command (request and
// reply) and every descriptor the call flows use; built with the model helpers. Used by the
// tshark interop test and handy as fixtures for controller and gateway tests.

import * as M from './model.js';

const MGC = '[10.0.0.1]:2944';
const MG = '[10.0.0.11]:2944';
const SDP_LOCAL = 'v=0\r\no=- 2890844526 2890842807 IN IP4 10.0.0.11\r\ns=-\r\nc=IN IP4 10.0.0.11\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=ptime:20';
const SDP_CHOOSE = 'v=0\r\nc=IN IP4 $\r\nm=audio $ RTP/AVP 0';
const SDP_REMOTE = 'v=0\r\nc=IN IP4 10.0.0.12\r\nm=audio 40002 RTP/AVP 0';

/** [label, message] pairs; every label is unique. */
export function sampleMessages(): [string, M.Message][] {
  return [
    ['mg registers (ServiceChange Restart)', M.message(1, MG, M.request(1, M.action('-',
      M.serviceChange('ROOT', { method: 'restart', reason: { code: M.ServiceChangeReasons.coldBoot, text: 'Cold Boot' }, profile: 'ResGW/1', version: 1 }))))],
    ['mg fails over (ServiceChange Failover with MgcIdToTry reply)', M.message(1, MG, M.request(2, M.action('-',
      M.serviceChange('ROOT', { method: 'failover', reason: { code: M.ServiceChangeReasons.mgcImpendingFailure }, delay: 0, timestamp: '20261126T16302000' }))))],
    ['mgc answers ServiceChange', M.message(1, MGC, M.reply(1, M.actionReply('-',
      { type: 'serviceChange', terminationIds: ['ROOT'], serviceChange: { address: '2944', version: 1 } })))],
    ['mgc redirects (ServiceChange reply MgcIdToTry)', M.message(1, MGC, M.reply(2, M.actionReply('-',
      { type: 'serviceChange', terminationIds: ['ROOT'], serviceChange: { mgcIdToTry: '[10.0.0.2]:2944' } })))],
    ['mgc hands off (ServiceChange HandOff)', M.message(1, MGC, M.request(3, M.action('-',
      M.serviceChange('ROOT', { method: 'handOff', reason: { code: M.ServiceChangeReasons.mgcDirectedChange }, mgcIdToTry: '[10.0.0.2]:2944' }))))],
    ['mgc arms off-hook detection (Modify, Events, DigitMap)', M.message(1, MGC, M.request(10, M.action('-',
      M.modify('al/1', {
        events: M.events(100, { name: 'al/of', params: { strict: 'state' } }, { name: 'al/fl' }),
        signals: [],
        digitMap: { name: 'dialplan0', value: '(0|00|[1-7]xxx|8xxxxxxx|Fxxxxxxx|Exx|91xxxxxxxxxx|9011x.)' },
      }))))],
    ['mg reports off-hook (Notify)', M.message(1, MG, M.request(11, M.action('-',
      M.notify('al/1', 100, [{ timestamp: '20261126T16302100', name: 'al/of', params: { init: 'false' } }]))))],
    ['mgc acks Notify', M.message(1, MGC, M.reply(11, M.actionReply('-', { type: 'notify', terminationIds: ['al/1'] })))],
    ['mgc plays dial tone and collects digits (Modify, embedded events)', M.message(1, MGC, M.request(12, M.action('-',
      M.modify('al/1', {
        signals: [M.signal('cg/dt')],
        events: M.events(101, { name: 'al/on', params: { strict: 'state' } }, { name: 'dd/ce', digitMap: { name: 'dialplan0' } }),
      }))))],
    ['mg reports digits (Notify dd/ce ds)', M.message(1, MG, M.request(13, M.action('-',
      M.notify('al/1', 101, [{ name: 'dd/ce', params: { ds: '2001', Meth: 'UM' } }]))))],
    ['mgc creates a context (Add line + Add ephemeral RTP with CHOOSE)', M.message(1, MGC, M.request(14, M.action('$',
      M.add('al/1'),
      M.add('rtp/$', { media: M.media({ mode: 'receiveOnly', local: SDP_CHOOSE, properties: { 'nt/jit': '40' } }) }))))],
    ['mg answers Add with chosen SDP', M.message(1, MG, M.reply(14, M.actionReply(7,
      { type: 'add', terminationIds: ['al/1'] },
      { type: 'add', terminationIds: ['rtp/7'], audit: { media: M.media({ local: SDP_LOCAL }) } })))],
    ['mgc sets remote SDP and ring-back (Modify, Stream, Signals list)', M.message(1, MGC, M.request(15, M.action(7,
      M.modify('rtp/7', { media: { streams: [{ id: 1, localControl: { mode: 'sendReceive' }, remote: M.sdp(SDP_REMOTE) }] } }),
      M.modify('al/1', { signals: [M.signal('cg/rt', undefined, { signalType: 'timeOut', duration: 6000, notifyCompletion: ['timeOut', 'interruptedByEvent'] })] }))))],
    ['mgc rings the called line (al/ri) and busy tone elsewhere', M.message(1, MGC, M.request(16, M.action('-',
      M.modify('al/2', { signals: [M.signal('al/ri')], events: M.events(102, 'al/of') }),
      M.modify('al/3', { signals: [M.signal('cg/bt')] }))))],
    ['mgc arms inactivity timer (it/ito with mit)', M.message(1, MGC, M.request(17, M.action('-',
      M.modify('ROOT', { events: M.events(103, { name: 'it/ito', params: { mit: '10' } }) }))))],
    ['mgc puts a call on hold (Modify mode and topology)', M.message(1, MGC, M.request(18, {
      contextId: 7, contextProperties: { topology: [{ from: 'al/1', to: 'rtp/7', direction: 'isolate' }], priority: 3 },
      commands: [M.modify('rtp/7', { media: M.media({ mode: 'inactive' }) })],
    }))],
    ['mgc moves a termination (Move, transfer)', M.message(1, MGC, M.request(19, M.action(8, M.move('al/1'))))],
    ['mgc clears a call (Subtract with Audit Statistics)', M.message(1, MGC, M.request(20, M.action(7,
      M.subtract('al/1'), M.subtract('rtp/7', { items: ['statistics'] }))))],
    ['mg answers Subtract with statistics', M.message(1, MG, M.reply(20, M.actionReply(7,
      { type: 'subtract', terminationIds: ['al/1'] },
      { type: 'subtract', terminationIds: ['rtp/7'], audit: { statistics: { 'nt/os': '45123', 'nt/dur': '40', 'rtp/ps': '1200' } } })))],
    ['mgc audits a gateway after failover (AuditValue on all contexts)', M.message(1, MGC, M.request(21, M.action('*',
      M.auditValue('*', ['media', 'events', 'signals']))))],
    ['mg answers AuditValue with contexts', M.message(1, MG, M.reply(21,
      M.actionReply(7, { type: 'auditValue', terminationIds: ['al/1'], audit: { events: M.events(101, 'al/on') } },
        { type: 'auditValue', terminationIds: ['rtp/7'], audit: { media: { streams: [{ id: 1, localControl: { mode: 'sendReceive' }, local: M.sdp(SDP_LOCAL), remote: M.sdp(SDP_REMOTE) }] } } })))],
    ['mgc asks capabilities (AuditCapabilities Packages)', M.message(1, MGC, M.request(22, M.action('-',
      M.auditCapabilities('ROOT', ['packages']))))],
    ['mg answers AuditCapabilities with packages', M.message(1, MG, M.reply(22, M.actionReply('-',
      { type: 'auditCapabilities', terminationIds: ['ROOT'], audit: { packages: [{ name: 'g', version: 1 }, { name: 'root', version: 1 }, { name: 'al', version: 1 }, { name: 'dd', version: 1 }, { name: 'cg', version: 1 }, { name: 'rtp', version: 1 }, { name: 'nt', version: 1 }, { name: 'it', version: 1 }] } })))],
    ['mg answers with a command error', M.message(1, MG, M.reply(23, { contextId: '-', commands: [], error: M.errorDescriptor(430, 'Unknown TerminationID') }))],
    ['mg answers a transaction with an error', M.message(1, MG, M.errorReply(24, 411, 'The transaction refers to an unknown ContextId'))],
    ['mg asks for immediate ack', M.message(1, MG, { kind: 'reply', transactionId: 25, immAckRequired: true, actions: [M.actionReply(9, { type: 'modify', terminationIds: ['al/1'] })] })],
    ['mg says pending', M.message(1, MG, { kind: 'pending', transactionId: 26 })],
    ['mgc acknowledges replies (TransactionResponseAck)', M.message(1, MGC, { kind: 'responseAck', acks: [{ first: 25, last: 25 }, { first: 27, last: 30 }] })],
    ['several transactions in one message', M.message(1, MGC, { kind: 'responseAck', acks: [{ first: 31, last: 31 }] },
      M.request(32, M.action('-', M.modify('al/4', { signals: [] }))))],
    ['mgc requests with embedded signals and events, keep-active, signal list', M.message(1, MGC, M.request(33, M.action('-',
      M.modify('al/5', {
        events: M.events(104, { name: 'al/of', embed: { signals: [M.signal('cg/dt')], events: M.events(105, 'al/on', { name: 'dd/ce', digitMap: { value: '(xxxx|0xxxxxxx)' } }) } }),
        signals: [{ kind: 'list', listId: 1, signals: [M.signal('cg/rt', undefined, { keepActive: true }), M.signal('al/ri', { cad: 'std' }, { signalType: 'brief' })] }],
      }))))],
    ['mgc takes a line out of service (TerminationState, ServiceStates, Buffer)', M.message(1, MGC, M.request(34, M.action('-',
      M.modify('al/6', { media: { terminationState: { serviceState: 'outOfService', bufferLockStep: true }, streams: [] } }))))],
    ['mgc sets an event buffer (EventBuffer)', M.message(1, MGC, M.request(41, M.action('-',
      M.modify('al/6', { eventBuffer: [{ name: 'al/of' }] }))))],
    ['optional and wildcard-reply commands on a wildcarded termination', M.message(1, MGC, M.request(35, M.action('-',
      M.subtract('al/*', undefined, { optional: true, wildcardReply: true }))))],
    ['mg reports a wildcarded subtract', M.message(1, MG, M.reply(35, M.actionReply('-', { type: 'subtract', terminationIds: ['al/*'], wildcardReply: true })))],
    ['emergency and priority context properties', M.message(1, MGC, M.request(36, { contextId: 9, contextProperties: { priority: 1, emergency: true }, commands: [M.modify('al/1')] }))],
    // tshark 4.0 wants a command after ContextAudit (alone it reports 'Missing "{"'), so the audit carries one.
    ['context audit', M.message(1, MGC, M.request(37, { contextId: 9, contextAudit: ['topology', 'priority'], commands: [M.auditValue('al/1')] }))],
    ['graceful and forced service changes with delay', M.message(1, MG, M.request(38,
      M.action('-', M.serviceChange('al/7', { method: 'graceful', reason: { code: M.ServiceChangeReasons.terminationTakenOutOfService }, delay: 30 })),
      M.action('-', M.serviceChange('al/8', { method: 'forced', reason: { code: M.ServiceChangeReasons.terminationMalfunctioning } }))))],
    ['disconnected mg reconnects (ServiceChange Disconnected)', M.message(1, MG, M.request(39, M.action('-',
      M.serviceChange('ROOT', { method: 'disconnected', reason: { code: M.ServiceChangeReasons.lossOfLowerLayerConnectivity }, address: '[10.0.0.11]:2944' }))))],
    ['several terminations in one command (termIDList, version 2)', M.message(2, MGC, M.request(40, M.action('-',
      M.modify(['al/1', 'al/2'], { signals: [] }))))],
    ['message-level error', { version: 1, mId: MG, body: { kind: 'error', error: { code: 400, text: 'Syntax error in message' } } }],
  ];
}
