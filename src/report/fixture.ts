// Synthetic DemoReports for the report's own tests and screenshots: shaped like a
// real failover run but generated from a seed, never presented as a measurement.
// Real reports come from the demo and the benches.
import type { DemoReport, ReportCall, ReportConnection } from './model.js';
import { SeededRng } from '../util/rng.js';

export interface SampleOptions {
  connections?: number;
  /** Mark this many connections as failed (reset) to exercise the "broken" rendering. */
  failed?: number;
  durationUs?: number;
  crashUs?: number;
  sampleEveryUs?: number;
}

/** An ST-TCP-shaped run: bulk downloads, primary crash, detection after 3 missed heartbeats, takeover. */
export function sampleSttcpReport(seed: number, o: SampleOptions = {}): DemoReport {
  const rng = new SeededRng(seed);
  const n = o.connections ?? 120;
  const durationUs = o.durationUs ?? 2_500_000;
  const crashUs = o.crashUs ?? 1_200_000;
  const every = o.sampleEveryUs ?? 2_000;
  const detectedUs = crashUs + 30_000 + rng.nextInt(5_000);
  const takeoverUs = detectedUs + 4_000 + rng.nextInt(3_000);
  const connections: ReportConnection[] = [];
  for (let i = 0; i < n; i++) {
    const rateBytesPerUs = 0.05 + rng.nextFloat() * 0.1;
    const lastByteUs = crashUs - rng.nextInt(every);
    const resumeUs = takeoverUs + 200 + rng.nextInt(6_000);
    const fails = i < (o.failed ?? 0);
    const samples: Array<[number, number]> = [];
    let bytes = 0;
    for (let t = rng.nextInt(every); t <= durationUs; t += every + rng.nextInt(400)) {
      const flowing = t <= lastByteUs || (!fails && t >= resumeUs);
      if (flowing) bytes += Math.round(rateBytesPerUs * every * (0.6 + rng.nextFloat() * 0.8));
      samples.push([t, bytes]);
    }
    const firstAfter = samples.find((s) => s[0] >= resumeUs);
    let lastBefore: [number, number] | undefined;
    for (let k = samples.length - 1; k >= 0 && !lastBefore; k--) if (samples[k]![0] <= lastByteUs) lastBefore = samples[k];
    const pauseUs = fails || !firstAfter || !lastBefore ? undefined : firstAfter[0] - lastBefore[0];
    connections.push({
      id: `c${String(i + 1).padStart(4, '0')}`,
      samples,
      ...(pauseUs !== undefined ? { pauseUs } : {}),
      bytes,
      sha256: hexOf(rng, 32),
      ok: !fails,
      ...(fails ? { note: 'reset by peer after takeover' } : {}),
    });
  }
  const pauses = connections.map((c) => c.pauseUs).filter((p): p is number => p !== undefined).sort((a, b) => a - b);
  const failed = connections.filter((c) => !c.ok).length;
  return {
    title: `ST-TCP: ${n} downloads through a primary crash (synthetic sample)`,
    seed,
    replayCommand: `npx unbroken demo sttcp --seed ${seed}`,
    technique: 'sttcp',
    events: [
      { tUs: 0, kind: 'start', text: `client opens ${n} connections to 10.0.0.10:80` },
      { tUs: 8_000, kind: 'synced', text: 'backup in sync: every connection shadowed' },
      { tUs: crashUs, kind: 'crash', text: 'primary crashed (power off)' },
      { tUs: detectedUs, kind: 'detected', text: 'backup: 3 heartbeats missed, primary declared failed' },
      { tUs: takeoverUs, kind: 'takeover', text: 'backup announced 10.0.0.10 (gratuitous ARP) and retransmitted from the clients\' last ACKs' },
      { tUs: takeoverUs + 1_000, kind: 'resumed', text: 'client received the first byte after the crash' },
      { tUs: durationUs, kind: 'verify', text: `${n - failed} of ${n} streams byte-exact (sha256)` },
    ],
    markers: [
      { tUs: crashUs, label: 'crash' },
      { tUs: detectedUs, label: 'detected' },
      { tUs: takeoverUs, label: 'takeover' },
    ],
    connections,
    summary: [
      { name: 'connections surviving the crash', value: `${n - failed} / ${n}`, ok: failed === 0 },
      { name: 'resets seen by the client', value: String(failed), ok: failed === 0 },
      { name: 'median pause', value: pauses.length ? `${(pauses[pauses.length >> 1]! / 1000).toFixed(1)} ms` : '—' },
      { name: 'longest pause (goal ≤ 50 ms)', value: pauses.length ? `${(pauses[pauses.length - 1]! / 1000).toFixed(1)} ms` : '—', ok: pauses.length > 0 && pauses[pauses.length - 1]! <= 50_000 },
      { name: 'detection time', value: `${((detectedUs - crashUs) / 1000).toFixed(1)} ms` },
    ],
    files: [
      { name: 'client.pcap', description: 'the client\'s side of the LAN' },
      { name: 'backup-tap.pcap', description: 'what the backup tapped' },
    ],
  };
}

/** A call-failover-shaped run: G.711 RTP every 20 ms per call, controller crash; media keeps flowing. */
export function sampleCallsReport(seed: number, calls = 30, lostCalls = 0): DemoReport {
  const rng = new SeededRng(seed);
  const durationUs = 6_000_000;
  const crashUs = 3_000_000;
  const detectedUs = crashUs + 300_000 + rng.nextInt(100_000);
  const out: ReportCall[] = [];
  for (let i = 0; i < calls; i++) {
    const startUs = rng.nextInt(1_500_000);
    const endUs = durationUs - rng.nextInt(1_000_000);
    const lost = i < lostCalls;
    const rtp: Array<[number, number]> = [];
    let count = 0;
    let gapUs = 0;
    let last = startUs;
    for (let t = startUs; t <= endUs; t += 20_000) {
      if (lost && t > crashUs) break;
      count++;
      rtp.push([t + rng.nextInt(2_000), count]);
      gapUs = Math.max(gapUs, t - last);
      last = t;
    }
    out.push({ id: `call-${String(i + 1).padStart(3, '0')}`, rtp, gapMsMax: gapUs / 1000, preserved: !lost });
  }
  return {
    title: `Calls: ${calls} calls through a call-controller crash (synthetic sample)`,
    seed,
    technique: 'calls',
    events: [
      { tUs: 0, kind: 'start', text: `${calls} calls set up between 2 gateways` },
      { tUs: crashUs, kind: 'crash', text: 'call controller killed' },
      { tUs: detectedUs, kind: 'detected', text: 'gateways noticed the controller is gone; ServiceChange Method=Failover to the alternate' },
      { tUs: detectedUs + 50_000, kind: 'takeover', text: 'alternate controller rebuilt every stable call from the gateways\' records' },
    ],
    markers: [
      { tUs: crashUs, label: 'crash' },
      { tUs: detectedUs, label: 'detected' },
      { tUs: detectedUs + 50_000, label: 'takeover' },
    ],
    connections: [],
    calls: out,
    summary: [
      { name: 'calls preserved', value: `${calls - lostCalls} / ${calls}`, ok: lostCalls === 0 },
      { name: 'detection time', value: `${((detectedUs - crashUs) / 1000).toFixed(0)} ms` },
    ],
  };
}

function hexOf(rng: SeededRng, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += rng.nextInt(256).toString(16).padStart(2, '0');
  return s;
}
