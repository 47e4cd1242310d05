// Test-side check of pcap files with Wireshark's tshark: decodes a file with
// checksum validation on and returns every error-level expert message (malformed
// packets, bad checksums). Availability policy (skip vs. fail) is the caller's.
import { spawnSync } from 'node:child_process';

/** Wireshark's PI_ERROR severity, as printed in the _ws.expert.severity field. */
const PI_ERROR = 0x00800000;

export interface TsharkReport {
  /** Frames tshark decoded. */
  frames: number;
  /** "frame N: message" for every error-level expert item. */
  errors: string[];
  /** Packets per top-level protocol chain, e.g. {"eth:ethertype:ip:tcp": 12}. */
  protocols: Record<string, number>;
}

export function tsharkAvailable(): boolean {
  const r = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Decides whether a tshark-dependent test runs: returns undefined to run, or the
 * reason to skip. With UNBROKEN_LAB=required a missing tshark throws instead.
 */
export function tsharkSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (tsharkAvailable()) return undefined;
  if (env.UNBROKEN_LAB === 'required') throw new Error('tshark is required (UNBROKEN_LAB=required) but not installed');
  return 'tshark not installed (apt-get install tshark; CI installs it and sets UNBROKEN_LAB=required)';
}

export function tsharkCheck(pcapPath: string): TsharkReport {
  const r = spawnSync(
    'tshark',
    [
      '-r', pcapPath, '-n',
      '-o', 'ip.check_checksum:TRUE',
      '-o', 'tcp.check_checksum:TRUE',
      '-o', 'udp.check_checksum:TRUE',
      '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=;',
      '-e', 'frame.number', '-e', 'frame.protocols', '-e', '_ws.expert.severity', '-e', '_ws.expert.message',
    ],
    { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  const report: TsharkReport = { frames: 0, errors: [], protocols: {} };
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const [num, protos, sevs, msgs] = line.split('|');
    report.frames++;
    report.protocols[protos ?? ''] = (report.protocols[protos ?? ''] ?? 0) + 1;
    const sev = (sevs ?? '').split(';');
    const msg = (msgs ?? '').split(';');
    sev.forEach((s, i) => {
      const m = msg[i] ?? '';
      if ((s !== '' && (Number(s) & PI_ERROR) === PI_ERROR) || /malformed|bad checksum/i.test(m)) {
        report.errors.push(`frame ${num}: ${m}`);
      }
    });
  }
  return report;
}
