// Tests of the rendered report as text: finite SVG, markers and pause drawn, degenerate
// inputs, size bounds, escaping, verdict. The browser rendering test is render-browser.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from './render.js';
import { CHART_LIMITS, aggregateStall, callStripsChart, histogramChart, timeSequenceChart } from './charts.js';
import { formatBytes, formatDurationUs, pauseOf, stallAround, verdictOf } from './model.js';
import type { DemoReport } from './model.js';
import { sampleCallsReport, sampleSttcpReport } from './fixture.js';

function base(over: Partial<DemoReport> = {}): DemoReport {
  return { title: 't', technique: 'sttcp', events: [], markers: [], connections: [], summary: [], ...over };
}

function assertFinite(html: string): void {
  assert.ok(!/NaN/.test(html), 'NaN in output: ' + html.slice(Math.max(0, html.indexOf('NaN') - 120), html.indexOf('NaN') + 40));
  assert.ok(!/Infinity/.test(html), 'Infinity in output');
  assert.ok(!/undefined/.test(html), '"undefined" in output');
}

function svgs(html: string): string[] {
  return html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

test('a sample report has the verdict, summary, charts, markers, pause band and timeline', () => {
  const r = sampleSttcpReport(42);
  const html = renderReport(r);
  assertFinite(html);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /class="verdict kept"/);
  assert.match(html, /Promise kept/);
  for (const m of r.markers) assert.ok(html.includes(`>${m.label} `), `marker label ${m.label} missing`);
  assert.match(html, /class="pause"/);
  assert.match(html, /pause \d+(\.\d+)? ms/);
  assert.ok(svgs(html).length >= 3, 'time-sequence zoom, overview and histogram');
  assert.match(html, /class="series aggregate"/);
  assert.equal((html.match(/class="series connection"/g) ?? []).length, CHART_LIMITS.connectionsDrawn);
  assert.match(html, /time since start \(ms\)/);
  assert.match(html, /all connections \((KiB|MiB)\)/);
  assert.match(html, /<a href="client.pcap">client.pcap<\/a>/);
  assert.match(html, /ol class="timeline"/);
  assert.match(html, /npx unbroken demo sttcp --seed 42/);
});

test('self-contained: no script, no external fetch', () => {
  const html = renderReport(sampleSttcpReport(1)) + renderReport(sampleCallsReport(1));
  assert.ok(!/<script/i.test(html));
  assert.ok(!/<link/i.test(html));
  const urls = html.match(/https?:\/\/[^\s"')]+/g) ?? [];
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg']);
});

test('failed connections make the verdict "broken" and are listed first', () => {
  const r = sampleSttcpReport(3, { connections: 20, failed: 2 });
  const v = verdictOf(r);
  assert.equal(v.kept, false);
  assert.match(v.problems[0]!, /^2 of 20 connections failed: c0001/);
  const html = renderReport(r);
  assert.match(html, /class="verdict broken"/);
  assert.match(html, /PROMISE BROKEN/);
  const firstRow = html.slice(html.indexOf('<table class="conns">'));
  assert.match(firstRow.slice(0, 600), /c0001/);
});

test('a summary row marked false breaks the promise even when every connection is ok', () => {
  const v = verdictOf(base({ summary: [{ name: 'longest pause (goal ≤ 50 ms)', value: '80 ms', ok: false }] }));
  assert.equal(v.kept, false);
  assert.deepEqual(v.problems, ['longest pause (goal ≤ 50 ms): 80 ms']);
});

test('degenerate inputs render without NaN: nothing at all', () => {
  const html = renderReport(base());
  assertFinite(html);
  assert.match(html, /Promise kept/);
});

test('degenerate inputs: connection with no samples, with one sample, all zero, zero pause', () => {
  const cases: DemoReport[] = [
    base({ connections: [{ id: 'a', samples: [], bytes: 0, ok: true }] }),
    base({ connections: [{ id: 'a', samples: [[5, 100]], bytes: 100, ok: true }] }),
    base({ connections: [{ id: 'a', samples: [[5, 100]], bytes: 100, ok: true, pauseUs: 0 }], markers: [{ tUs: 5, label: 'crash' }] }),
    base({ connections: [{ id: 'a', samples: [[0, 0], [10, 0], [20, 0]], bytes: 0, ok: true }], markers: [{ tUs: 10, label: 'crash' }] }),
    base({ connections: [{ id: 'a', samples: [[0, 0], [10, 5], [20, 9]], bytes: 9, ok: true, pauseUs: 0 }], markers: [{ tUs: 10, label: 'crash' }, { tUs: 10, label: 'takeover' }] }),
    base({ markers: [{ tUs: 10, label: 'crash' }] }),
    base({ connections: [{ id: 'a', samples: [[NaN, 1], [Infinity, 2], [3, NaN]] as Array<[number, number]>, bytes: 0, ok: true, pauseUs: NaN }], markers: [{ tUs: NaN, label: 'crash' }] }),
    base({ connections: [{ id: 'a', samples: [[20, 5], [10, 1], [30, 9]], bytes: 9, ok: true }] }), // unsorted
    base({ technique: 'calls', calls: [{ id: 'x', rtp: [], gapMsMax: 0, preserved: true }] }),
    base({ technique: 'calls', calls: [{ id: 'x', rtp: [[100, 1]], gapMsMax: 0, preserved: true }], markers: [{ tUs: 100, label: 'crash' }] }),
  ];
  for (const [i, r] of cases.entries()) {
    const html = renderReport(r);
    try { assertFinite(html); } catch (e) { throw new Error(`case ${i}: ${(e as Error).message}`); }
  }
});

test('charts for degenerate input say what is missing instead of drawing nothing', () => {
  assert.match(timeSequenceChart(base({ connections: [{ id: 'a', samples: [], bytes: 0, ok: true }] }), { span: 'zoom', individuals: true }), /No byte samples/);
  assert.match(histogramChart([], 'pause', 'connections'), /No pause values/);
  const zero = histogramChart([0, 0, 0], 'pause', 'connections');
  assertFinite(zero);
  assert.equal((zero.match(/class="bar"/g) ?? []).length, 1);
  assert.match(callStripsChart(base()), /No calls/);
});

test('size stays bounded: 1,000 connections × 2,500 samples and 5,000 calls', () => {
  const r = sampleSttcpReport(9, { connections: 1000, sampleEveryUs: 1_000 });
  assert.ok(r.connections[0]!.samples.length > 2000);
  const html = renderReport(r);
  assertFinite(html);
  assert.ok(html.length < 400_000, `report is ${html.length} bytes`);
  for (const d of html.match(/ d="[^"]*"/g) ?? []) {
    const points = (d.match(/[MHV]/g) ?? []).length;
    assert.ok(points <= CHART_LIMITS.pointsPerSeries * 2 + 4, `path with ${points} commands`);
  }
  const calls = sampleCallsReport(9, 5000);
  const callsHtml = renderReport(calls);
  assert.ok(callsHtml.length < 400_000, `calls report is ${callsHtml.length} bytes`);
  assert.equal((callsHtml.match(/class="call-strip"/g) ?? []).length, CHART_LIMITS.callsDrawn);
});

test('an RTP gap shows as a break in the call strip; a lost call is drawn in the failure colour', () => {
  const rtp: Array<[number, number]> = [];
  let n = 0;
  for (let t = 0; t < 2_000_000; t += 20_000) if (t < 900_000 || t > 1_300_000) rtp.push([t, ++n]);
  const r = base({ technique: 'calls', markers: [{ tUs: 1_000_000, label: 'crash' }], calls: [
    { id: 'gappy', rtp, gapMsMax: 420, preserved: true },
    { id: 'lost', rtp: rtp.filter((p) => p[0] < 900_000), gapMsMax: 20, preserved: false },
  ] });
  const svg = callStripsChart(r);
  assertFinite(svg);
  const strips = svg.match(/<g class="call-strip">[\s\S]*?<\/g>/g) ?? [];
  assert.equal(strips.length, 2);
  const lost = strips[0]!;
  const gappy = strips[1]!;
  assert.match(lost, /NOT preserved/);
  assert.match(lost, /fill="#D55E00"/);
  // background rect + two runs of packets either side of the 400 ms gap
  assert.equal((gappy.match(/<rect /g) ?? []).length, 3);
  assert.match(gappy, /gap 420 ms/);
  assert.match(svg, />crash /);
});

test('the pause band covers exactly the interval in which no connection received a byte', () => {
  const conns = [
    { samples: [[0, 0], [100, 10], [200, 20], [300, 20], [400, 20], [500, 30]] as Array<[number, number]> },
    { samples: [[0, 0], [150, 10], [250, 10], [450, 25]] as Array<[number, number]> },
  ];
  assert.deepEqual(stallAround(conns[0]!.samples, 250), { startUs: 200, endUs: 500 });
  assert.deepEqual(aggregateStall(conns, 250), { startUs: 200, endUs: 450 });
  const r = base({ connections: conns.map((c, i) => ({ id: `c${i}`, samples: c.samples, bytes: 30, ok: true })), markers: [{ tUs: 250, label: 'crash' }] });
  assert.equal(pauseOf(r.connections[0]!, 250), 300);
  assert.match(timeSequenceChart(r, { span: 'zoom', individuals: true }), /pause 250 µs/);
});

test('text is escaped and pcap links cannot leave the report directory', () => {
  const html = renderReport(base({ title: '<script>alert(1)</script>', files: [{ name: '../../etc/passwd', description: '<b>x</b>' }], events: [{ tUs: 1, kind: 'crash', text: '<img src=x>' }] }));
  assert.ok(!html.includes('<script>alert'));
  assert.ok(!html.includes('<img src=x>'));
  assert.match(html, /href="etc\/passwd"/);
});

test('long narratives are cut in the middle with a note', () => {
  const events = Array.from({ length: 1000 }, (_, i) => ({ tUs: i * 1000, kind: 'tick', text: `event ${i}` }));
  const html = renderReport(base({ events }));
  assert.match(html, /600 events omitted/);
  assert.match(html, /event 0</);
  assert.match(html, /event 999</);
});

test('formatters', () => {
  assert.equal(formatDurationUs(850), '850 µs');
  assert.equal(formatDurationUs(12_340), '12.3 ms');
  assert.equal(formatDurationUs(4_200_000), '4.2 s');
  assert.equal(formatDurationUs(NaN), '—');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(200 * 1024 * 1024), '200 MiB');
});

test('many markers: lines capped, labels capped at four rows, none past the right edge', () => {
  const markers = Array.from({ length: 200 }, (_, i) => ({ tUs: 1_000 + i * 10, label: `event number ${i}` }));
  const svg = timeSequenceChart(base({ connections: [{ id: 'a', samples: [[0, 0], [3_000, 100]], bytes: 100, ok: true }], markers }), { span: 'full', individuals: false });
  assertFinite(svg);
  assert.equal((svg.match(/<g class="marker">/g) ?? []).length, CHART_LIMITS.markersDrawn);
  const height = Number(/viewBox="0 0 \d+ ([\d.]+)"/.exec(svg)![1]);
  assert.ok(height < 400, `chart height ${height}`);
  const labels = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)"( text-anchor="end")? fill="[^"]+" class="marker-label">([^<]*)</g)];
  assert.ok(labels.length >= 4 && labels.length < CHART_LIMITS.markersDrawn, `${labels.length} labels`);
  assert.equal(new Set(labels.map((l) => l[2])).size, 4, 'four label rows');
  for (const l of labels) {
    const x = Number(l[1]);
    const w = l[4]!.length * 6.6;
    assert.ok(l[3] ? x - w >= 0 : x + w <= 1040, `label "${l[4]}" at ${x} runs off the chart`);
  }
});

test('a run without a crash (plain TCP) has no pause section', () => {
  const html = renderReport(base({ technique: 'tcp', connections: [{ id: 'a', samples: [[0, 0], [10, 5], [20, 9]], bytes: 9, ok: true }] }));
  assertFinite(html);
  assert.ok(!html.includes('Pause per connection'));
  assert.equal(svgs(html).length, 1);
});

test('very long inputs do not overflow the stack (no Math.max(...hugeArray))', () => {
  const samples: Array<[number, number]> = [];
  // 300k arguments overflow V8's stack when spread into Math.max.
  for (let i = 0; i < 300_000; i++) samples.push([i * 10, i < 150_000 || i > 153_000 ? i * 100 : 15_000_000]);
  const conns = [{ id: 'big', samples, bytes: 29_999_900, ok: true }];
  for (let i = 0; i < 299_999; i++) conns.push({ id: `c${i}`, samples: [] as Array<[number, number]>, bytes: 0, ok: true, pauseUs: i } as never);
  const markers = Array.from({ length: 300_000 }, (_, i) => ({ tUs: i === 0 ? 1_500_000 : 2_000_000 + i, label: i === 0 ? 'crash' : 'm' }));
  const html = renderReport(base({ connections: conns, markers }));
  assertFinite(html);
  assert.match(html, /longest pause 300 ms/);
  assert.ok(html.length < 400_000, `${html.length} bytes`);
});
