// `unbroken calls run`: the call-preserving failover run with real processes and
// sockets on loopback (src/calls/node/calls-run.ts does the work; this file only
// parses options and prints the report).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { SetExit } from './index.js';
import { runCalls } from '../../calls/node/calls-run.js';
import type { CallsRunReport } from '../../calls/node/calls-run.js';

function num(name: string, min: number, max: number, int = true) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) throw new InvalidArgumentError(`${name} must be ${int ? 'an integer ' : ''}in ${min}..${max}`);
    return n;
  };
}

function print(r: CallsRunReport, log: (s: string) => void): void {
  const f = Object.entries(r.featuresAfterFailover).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  log(`calls placed            ${r.callsPlaced}  (${Object.entries(r.mix).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  log(`stable at crash         ${r.stableAtCrash}`);
  log(`preserved               ${r.preserved}  (${r.rebuiltByAlternate} rebuilt by the alternate from records + audits)`);
  log(`lost stable calls       ${r.lostStableCalls.length}${r.lostStableCalls.length ? `  ${r.lostStableCalls.join(' ')}` : ''}`);
  log(`released at failover    ${r.releasedAtFailover}  (ringing / half set up, with CDR)`);
  log(`failover detection      ${r.failoverDetectionMs ?? '-'} ms`);
  log(`all calls controllable  ${r.allControllableMs ?? '-'} ms after the crash`);
  log(`largest RTP gap         ${r.largestRtpGapAcrossFailoverMs ?? `< ${r.rtpGapLoggedFromMs}`} ms across the failover; ${r.largestRtpGapMs} ms over the whole run`);
  log(`features after failover ${f}; hang-ups ${r.hangupsAfterFailover}`);
  log(`CDRs written            ${r.cdrsWritten}  (errors ${r.cdrErrors}, duplicates refused ${r.cdrDuplicatesRefused}, calls without CDR ${r.callsWithoutCdr.length})`);
  log(`orphan contexts         ${r.orphanContexts};  commands refused by gateways ${r.commandsRejected};  calls still tracked ${r.callsStillTracked}`);
  if (r.pcapMessages !== null) log(`pcap                    ${r.pcapMessages} H.248 messages`);
}

export function registerCalls(program: Command, setExit: SetExit): void {
  const calls = program.command('calls').description('call-preserving H.248 failover');
  calls.command('run')
    .description('two controllers and N gateways as processes on loopback; SIGKILL the primary mid-run and report what survived')
    .option('--gateways <n>', 'media gateways', num('--gateways', 1, 99), 4)
    .option('--calls <m>', 'calls to place', num('--calls', 1, 3000), 40)
    .option('--crash-primary-at <seconds>', 'SIGKILL the primary controller at this time', num('--crash-primary-at', 0, 3600, false))
    .option('--duration <seconds>', 'length of the call mix', num('--duration', 2, 3600, false), 12)
    .option('--seed <n>', 'seed of the call mix', num('--seed', 0, 2 ** 31), undefined)
    .option('--cdr <spec>', 'CDR store: SQLite file path or postgres:// URL (default: a temporary SQLite file)')
    .option('--controller-timeout <ms>', 'silence after which a gateway declares its controller lost (armed on each gateway with the inactivity timer it/ito; keepalives every third of it)', num('--controller-timeout', 50, 60_000), 300)
    .option('--transport <udp|tcp>', 'H.248 carrier: UDP (Annex D.1) or TCP with TPKT framing (Annex D.2)', (v: string) => {
      if (v !== 'udp' && v !== 'tcp') throw new InvalidArgumentError('--transport must be udp or tcp');
      return v;
    }, 'udp')
    .option('--port <n>', 'controllers listen on 127.0.0.1 and 127.0.0.2 at this port (IANA: 2944 for text over UDP and TCP); 0 = any free port', num('--port', 0, 65535), 2944)
    .option('--json', 'print the report as JSON')
    .option('--pcap <file>', 'write the H.248 traffic as a pcap capture')
    .action(async (opts: { gateways: number; calls: number; crashPrimaryAt?: number; duration: number; seed?: number; cdr?: string; controllerTimeout: number; transport: 'udp' | 'tcp'; port: number; json?: boolean; pcap?: string }) => {
      const seed = opts.seed ?? (Date.now() % 2 ** 31);
      const log = (s: string): void => { process.stderr.write(`${s}\n`); };
      const r = await runCalls({
        gateways: opts.gateways, calls: opts.calls, crashPrimaryAtS: opts.crashPrimaryAt, durationS: opts.duration, seed,
        cdr: opts.cdr, pcap: opts.pcap, controllerTimeoutMs: opts.controllerTimeout, transport: opts.transport, port: opts.port, log,
      });
      if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else print(r, (s) => process.stdout.write(`${s}\n`));
      // A lost stable call is the one failure this technique exists to prevent.
      const bad = r.lostStableCalls.length > 0;
      if (bad) log(`FAILED: ${r.lostStableCalls.length} stable calls lost — replay with --seed ${seed}`);
      setExit(bad ? 1 : 0);
    });
}
