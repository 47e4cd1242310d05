// G.711 µ-law and A-law companding (ITU-T G.711) and a test-tone frame generator.
// Pure sample arithmetic; packetisation is sender.ts's job.

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

/** 16-bit linear PCM sample → µ-law octet (G.711 §3, segment/quantisation per Table 2a). */
export function linearToMulaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > MULAW_CLIP) s = MULAW_CLIP;
  s += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return (~(sign | (exponent << 4) | mantissa)) & 0xff;
}

export function mulawToLinear(octet: number): number {
  const u = ~octet & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return sign ? -magnitude : magnitude;
}

/** 16-bit linear PCM sample → A-law octet (G.711 Table 1a; even bits inverted with 0x55). */
export function linearToAlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3; // 13-bit magnitude scale
  let mask = 0xd5; // sign bit set for positive values, then the 0x55 inversion
  if (s < 0) { mask = 0x55; s = -s - 1; }
  let seg = 0;
  while (seg < 8 && s > (0x20 << seg) - 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | ((seg < 2 ? s >> 1 : s >> seg) & 0x0f);
  return aval ^ mask;
}

export function alawToLinear(octet: number): number {
  const a = octet ^ 0x55;
  const seg = (a >> 4) & 0x07;
  let t = (a & 0x0f) << 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return (a & 0x80) ? t : -t;
}

export type G711Law = 'pcmu' | 'pcma';

/** Static RTP payload types (RFC 3551 §6 Table 4). */
export const G711_PAYLOAD_TYPE = { pcmu: 0, pcma: 8 } as const;

/**
 * One frame of a sine tone, companded. `startSample` continues the phase across
 * frames so consecutive packets join without a click.
 */
export function toneFrame(law: G711Law, samples: number, startSample: number, freqHz = 440, amplitude = 8000): Uint8Array {
  const out = new Uint8Array(samples);
  const enc = law === 'pcmu' ? linearToMulaw : linearToAlaw;
  for (let i = 0; i < samples; i++) {
    out[i] = enc(amplitude * Math.sin((2 * Math.PI * freqHz * (startSample + i)) / 8000));
  }
  return out;
}

/** 440 Hz repeats every 8000 samples = 50 frames of 160: the sender reuses these. */
const TONE_CACHE = new Map<string, Uint8Array[]>();

/** The `index`-th 20 ms frame of the cached test tone (index modulo one second). */
export function cachedToneFrame(law: G711Law, index: number): Uint8Array {
  let frames = TONE_CACHE.get(law);
  if (!frames) {
    frames = Array.from({ length: 50 }, (_, i) => toneFrame(law, 160, i * 160));
    TONE_CACHE.set(law, frames);
  }
  return frames[index % 50]!;
}
