// A small digit-map matcher for the gateway's digit collection (RFC 3525 §7.1.14):
// alternatives separated by '|', each of digits, '*', '#', 'x' (any digit),
// '[..]' ranges and '.' (zero or more of the previous element). Timers (T/S/L) are ignored.

export type DigitMapVerdict = 'complete' | 'partial' | 'mismatch';

export class DigitMap {
  private readonly full: RegExp[];
  private readonly prefix: RegExp[];

  private constructor(full: RegExp[], prefix: RegExp[]) { this.full = full; this.prefix = prefix; }

  /** Undefined if the map uses syntax this matcher does not support. */
  static parse(text: string): DigitMap | undefined {
    const body = text.replace(/^\(|\)$/g, '').replace(/\s+/g, '');
    if (body.length === 0 || body.length > 256) return undefined;
    const full: RegExp[] = []; const prefix: RegExp[] = [];
    for (const alt of body.split('|')) {
      const elems: string[] = [];
      for (let i = 0; i < alt.length; i++) {
        const c = alt[i]!;
        if (/[0-9]/.test(c)) elems.push(c);
        else if (c === '*' || c === '#') elems.push(`\\${c}`);
        else if (c === 'x' || c === 'X') elems.push('[0-9]');
        else if (c === '[') {
          const j = alt.indexOf(']', i);
          if (j < 0) return undefined;
          const set = alt.slice(i + 1, j);
          if (!/^[0-9\-*#]+$/.test(set)) return undefined;
          elems.push(`[${set.replace(/[*#]/g, (m) => `\\${m}`)}]`);
          i = j;
        } else if (c === '.') {
          if (elems.length === 0) return undefined;
          elems[elems.length - 1] = `(?:${elems[elems.length - 1]})*`;
        } else if (c === 'T' || c === 'S' || c === 'L' || c === 'Z') continue;
        else return undefined;
      }
      full.push(new RegExp(`^${elems.join('')}$`));
      // Prefix match: every proper prefix of the element list, as optional nesting.
      let p = '';
      for (let k = elems.length - 1; k >= 0; k--) p = `(?:${elems[k]}${p})?`;
      prefix.push(new RegExp(`^${p}$`));
    }
    return new DigitMap(full, prefix);
  }

  match(digits: string): DigitMapVerdict {
    if (this.full.some((r) => r.test(digits))) return 'complete';
    if (this.prefix.some((r) => r.test(digits))) return 'partial';
    return 'mismatch';
  }
}
