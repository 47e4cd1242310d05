// A shadow whose replica stops reading (the relay app waiting for its local server):
// client bytes wait unacknowledged, are delivered on resume, and at takeover go to the
// replica with the pause handed to the live connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamConnection } from '../stack/app.js';
import { normalizeConfig } from '../tcp/config.js';
import { tcpFlags, type TcpRepr } from '../wire/tcp.js';
import { ShadowConnection } from './shadow.js';

const IRS = 1000;
const ISS = 5000;
const tuple = { localIp: 0x0a000064, localPort: 6379, remoteIp: 0x0a000001, remotePort: 40000 };

function seg(seq: number, payload: string): TcpRepr {
  return {
    srcPort: tuple.remotePort, dstPort: tuple.localPort, seq, ack: ISS + 1, flags: tcpFlags({ ack: true }),
    window: 0xffff, urgentPointer: 0, options: {}, payload: new TextEncoder().encode(payload),
  };
}

type Pausable = StreamConnection & { pauseReading(): void; resumeReading(): void };

test('shadow: a paused replica holds client bytes unacknowledged; resume delivers them; takeover hands them over and passes the pause on', () => {
  let conn: Pausable | undefined;
  const got: string[] = [];
  let pauseAfter = true;
  const sh = new ShadowConnection({ tuple, irs: IRS, clientSynOptions: { mss: 1460 }, iss: ISS }, normalizeConfig({}), (c) => {
    conn = c as Pausable;
    return {
      onData: (d) => { got.push(new TextDecoder().decode(d)); if (pauseAfter) conn!.pauseReading(); },
      onEnd: () => got.push('<fin>'),
    };
  }, 0);
  sh.handleClientSegment(seg(IRS + 1, ''), 1);
  assert.equal(typeof conn?.pauseReading, 'function', 'the replica sees a pausable connection');
  sh.handleClientSegment(seg(IRS + 1, 'abc'), 2);
  assert.deepEqual(got, ['abc']);
  sh.handleClientSegment(seg(IRS + 4, 'def'), 3);
  assert.deepEqual(got, ['abc'], 'paused: nothing delivered');
  assert.equal(sh.rcvNxt, IRS + 4, 'paused: not acknowledged to the primary either');
  assert.deepEqual(sh.missingRanges(8), [], 'held bytes are not a gap to ask the primary for');
  pauseAfter = false;
  conn!.resumeReading();
  assert.deepEqual(got, ['abc', 'def']);
  assert.equal(sh.rcvNxt, IRS + 7);
  pauseAfter = true;
  sh.handleClientSegment(seg(IRS + 7, 'ghi'), 4);
  sh.handleClientSegment(seg(IRS + 10, 'jkl'), 5);
  assert.deepEqual(got, ['abc', 'def', 'ghi']);
  const r = sh.takeOver(6);
  assert.ok(!('fault' in r), 'taken over');
  assert.deepEqual(got, ['abc', 'def', 'ghi', 'jkl'], 'held bytes went to the replica at takeover');
  assert.equal(r.connection.info().rcvNxt, IRS + 13);
  let livePaused = false;
  const live: Pausable = {
    id: 'live', write: (d) => d.length, writableBytes: () => 1 << 16, end: () => {}, destroy: () => {},
    pauseReading: () => { livePaused = true; }, resumeReading: () => { livePaused = false; },
  };
  r.bindApp(live);
  assert.equal(livePaused, true, 'the replica was paused: so is the live connection');
  conn!.resumeReading();
  assert.equal(livePaused, false, 'and the replica resumes it');
});
