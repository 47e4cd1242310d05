// Test timing: real time (scripts/test.mjs runs this file one at a time beside the lab files, at normal priority).
// Renders sample reports in headless Chromium (Debian package `chromium`) and checks
// from the screenshot's pixels that the charts were drawn. Screenshots stay under
// out/ as CI artefacts. Skips without Chromium unless UNBROKEN_LAB=required.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { renderReport } from './render.js';
import { sampleCallsReport, sampleSttcpReport } from './fixture.js';
import { runCraftDemo } from '../craft/demo.js';
import { runCallsDemo } from '../demo/calls-demo.js';

const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const required = process.env.UNBROKEN_LAB === 'required';
const skip = CHROMIUM ? false : required ? false : 'Chromium not installed (apt-get install chromium); set UNBROKEN_LAB=required to make this a failure';
const OUT = resolve(import.meta.dirname, '../../out');

interface Image { width: number; height: number; rgba: Uint8Array }

/** Minimal PNG reader (8-bit RGB/RGBA, non-interlaced) — what Chromium writes. */
function decodePng(buf: Buffer): Image {
  assert.equal(buf.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  let off = 8;
  let width = 0; let height = 0; let colourType = 0; let bitDepth = 0; let interlace = 0;
  const idat: Buffer[] = [];
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      bitDepth = data[8]!; colourType = data[9]!; interlace = data[12]!;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  assert.equal(bitDepth, 8, 'bit depth');
  assert.equal(interlace, 0, 'interlace');
  assert.ok(colourType === 2 || colourType === 6, `colour type ${colourType}`);
  const bpp = colourType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? px[row + i - bpp]! : 0;
      const b = y > 0 ? px[row - stride + i]! : 0;
      const c = i >= bpp && y > 0 ? px[row - stride + i - bpp]! : 0;
      let v = src[i]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) { const p = a + b - c; const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c); v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      px[row + i] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < px.length; i += bpp, j += 4) {
    rgba[j] = px[i]!; rgba[j + 1] = px[i + 1]!; rgba[j + 2] = px[i + 2]!; rgba[j + 3] = bpp === 4 ? px[i + 3]! : 255;
  }
  return { width, height, rgba };
}

/** Pixels within `tol` of the given colour. */
function countColour(img: Image, hex: string, tol = 24): number {
  const r = parseInt(hex.slice(1, 3), 16); const g = parseInt(hex.slice(3, 5), 16); const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) {
    if (Math.abs(img.rgba[i]! - r) <= tol && Math.abs(img.rgba[i + 1]! - g) <= tol && Math.abs(img.rgba[i + 2]! - b) <= tol) n++;
  }
  return n;
}

function screenshot(html: string, name: string, height: number): { png: string; dom: string } {
  assert.ok(CHROMIUM, 'UNBROKEN_LAB=required but Chromium is not installed (Debian package chromium)');
  mkdirSync(OUT, { recursive: true });
  const htmlPath = join(OUT, `${name}.html`);
  const pngPath = join(OUT, `${name}.png`);
  writeFileSync(htmlPath, html);
  rmSync(pngPath, { force: true });
  const profile = mkdtempSync(join(tmpdir(), 'unbroken-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`];
  try {
    const shot = spawnSync(CHROMIUM, [...flags, `--screenshot=${pngPath}`, `--window-size=1280,${height}`, `file://${htmlPath}`], { timeout: 60_000, encoding: 'utf8' });
    assert.equal(shot.status, 0, `chromium --screenshot exited ${shot.status} ${shot.signal ?? ''}: ${shot.stderr.slice(-2000)}`);
    const dom = spawnSync(CHROMIUM, [...flags, '--dump-dom', `file://${htmlPath}`], { timeout: 60_000, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(dom.status, 0, `chromium --dump-dom exited ${dom.status}: ${dom.stderr.slice(-2000)}`);
    return { png: pngPath, dom: dom.stdout };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

test('ST-TCP report renders in headless Chromium with its charts drawn', { skip, timeout: 120_000 }, (t) => {
  const { png, dom } = screenshot(renderReport(sampleSttcpReport(7, { connections: 200 })), 'report-sttcp', 2400);
  assert.ok(statSync(png).size > 20_000, `screenshot only ${statSync(png).size} bytes`);
  const img = decodePng(readFileSync(png));
  assert.equal(img.width, 1280);
  // The DOM Chromium built holds the SVG charts and their parts.
  assert.ok((dom.match(/<svg/g) ?? []).length >= 3, 'svg elements in the DOM');
  assert.match(dom, /class="series aggregate"/);
  assert.match(dom, /class="pause"/);
  t.diagnostic(`screenshot ${png}: blue ${countColour(img, '#0072B2', 20)}, vermillion ${countColour(img, '#D55E00', 30)}, green ${countColour(img, '#00704F', 20)}, white ${countColour(img, '#FFFFFF', 0)} of ${img.width * img.height} px`);
  // Pixels: the aggregate line (#0072B2), the crash marker (#D55E00) and the verdict's green were painted.
  assert.ok(countColour(img, '#0072B2', 20) > 2_000, 'aggregate series / histogram bars painted');
  assert.ok(countColour(img, '#D55E00', 30) > 150, 'crash marker painted');
  assert.ok(countColour(img, '#00704F', 20) > 500, 'kept-verdict badge painted');
  const distinct = new Set<number>();
  for (let i = 0; i < img.rgba.length; i += 4 * 37) distinct.add((img.rgba[i]! << 16) | (img.rgba[i + 1]! << 8) | img.rgba[i + 2]!);
  assert.ok(distinct.size > 50, `only ${distinct.size} distinct colours`);
});

test('calls report renders in headless Chromium with one strip per call', { skip, timeout: 120_000 }, (t) => {
  const { png, dom } = screenshot(renderReport(sampleCallsReport(7, 30, 2)), 'report-calls', 1800);
  const img = decodePng(readFileSync(png));
  t.diagnostic(`screenshot ${png}: green ${countColour(img, '#009E73', 20)}, red ${countColour(img, '#B3261E', 20)} of ${img.width * img.height} px`);
  assert.equal((dom.match(/class="call-strip"/g) ?? []).length, 30);
  assert.ok(countColour(img, '#009E73', 20) > 5_000, 'preserved-call strips painted');
  assert.ok(countColour(img, '#B3261E', 20) > 500, 'broken-verdict badge painted');
});

/** Runs a demo writing its report into a fresh directory; returns the report's HTML. */
function demoReportHtml(run: (outDir: string) => number, file: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-demo-report-'));
  try {
    assert.equal(run(dir), 0, 'the demo kept its promise');
    return readFileSync(join(dir, file), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('demo craft report: the time-sequence graph across both crashes and the pause histogram are drawn', { skip, timeout: 180_000 }, (t) => {
  const html = demoReportHtml((dir) => runCraftDemo({ seed: 1, json: true, outDir: dir }, () => {}), 'craft-report.html');
  const { png, dom } = screenshot(html, 'report-craft', 2600);
  const img = decodePng(readFileSync(png));
  // One line per download, both crash markers, the takeover and the re-splice.
  assert.equal((dom.match(/class="series connection"/g) ?? []).length, 4);
  assert.match(dom, /crash: splicer A/);
  assert.match(dom, /crash: back end b0/);
  assert.match(dom, /class="pause"/);
  assert.ok((dom.match(/class="bar"/g) ?? []).length >= 1, 'pause histogram bars');
  t.diagnostic(`screenshot ${png}: blue ${countColour(img, '#0072B2', 20)}, vermillion ${countColour(img, '#D55E00', 30)}, orange ${countColour(img, '#E69F00', 20)}`);
  assert.ok(countColour(img, '#0072B2', 20) > 2_000, 'aggregate series and histogram bars painted');
  assert.ok(countColour(img, '#D55E00', 30) > 150, 'crash markers painted');
  assert.ok(countColour(img, '#E69F00', 20) > 100, 'a download\'s own line painted');
});

test('demo calls report: RTP strips per call with the crash and failover marked, and the gap histogram', { skip, timeout: 180_000 }, (t) => {
  const html = demoReportHtml((dir) => runCallsDemo({ seed: 1, json: true, outDir: dir }, () => {}), 'calls-report.html');
  const { png, dom } = screenshot(html, 'report-calls-demo', 1600);
  const img = decodePng(readFileSync(png));
  const strips = (dom.match(/class="call-strip"/g) ?? []).length;
  assert.ok(strips >= 3, `${strips} call strips`);
  assert.match(dom, /crash: primary controller/);
  assert.match(dom, /detected: gateways fail over/);
  assert.ok((dom.match(/class="bar"/g) ?? []).length >= 1, 'gap histogram bars');
  t.diagnostic(`screenshot ${png}: green ${countColour(img, '#009E73', 20)}, vermillion ${countColour(img, '#D55E00', 30)} of ${img.width * img.height} px`);
  assert.ok(countColour(img, '#009E73', 20) > 2_000, 'RTP arrival strips painted');
  assert.ok(countColour(img, '#D55E00', 30) > 30, 'crash marker painted');
});
