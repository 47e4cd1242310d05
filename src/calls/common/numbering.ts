// The numbering plan shared by controllers and the tools that drive them: a line
// number is two digits of gateway index and two of line index ("0103" = gateway 1,
// line al/3); gateways with more than 99 lines get wider line indexes ("010042" in a
// plan of 1000 lines). One place decides, so controllers, gateways and tests agree.

export const NUMBER_DIGITS = 4;
/** The digit map every line gets: exactly four digits (RFC 3525 §7.1.14). */
export const DIGIT_MAP = 'xxxx';

export function gatewayName(index: number): string { return `mg${index}`; }
export function lineTermination(line: number): string { return `al/${line}`; }

/** Digits of the line index in a generated plan of `lines` lines per gateway (at least two). */
export function lineDigitsFor(lines: number): number { return Math.max(2, String(Math.max(1, Math.floor(lines))).length); }

export function numberOf(gatewayIndex: number, line: number, lineDigits = 2): string {
  if (gatewayIndex < 1 || gatewayIndex > 99 || line < 1 || String(line).length > lineDigits) throw new RangeError(`plan has 99 gateways of ${'9'.repeat(lineDigits)} lines`);
  return `${String(gatewayIndex).padStart(2, '0')}${String(line).padStart(lineDigits, '0')}`;
}

/** Number → gateway mId and line termination, or undefined if unallocated in `plan`. */
export interface PlanEntry { readonly mgId: string; readonly termId: string; readonly number: string }

export class NumberingPlan {
  private readonly byNumber = new Map<string, PlanEntry>();
  private readonly byLine = new Map<string, PlanEntry>();

  /** Digit map the controller arms for dialling (RFC 3525 §7.1.14): exactly one number's length. */
  readonly digitMap: string;

  /** The generated plan of the tests and `calls run`: gateways mg1..mgN with lines al/1..al/L. */
  constructor(gateways: number, linesPerGateway: number) {
    const w = lineDigitsFor(linesPerGateway);
    this.digitMap = w === 2 ? DIGIT_MAP : 'x'.repeat(2 + w);
    for (let g = 1; g <= gateways; g++) {
      for (let l = 1; l <= linesPerGateway; l++) this.put({ mgId: gatewayName(g), termId: lineTermination(l), number: numberOf(g, l, w) });
    }
  }

  /**
   * An explicit plan (the `numberingPlan` list of a controller's configuration): each
   * number names a gateway by its mId and a line termination. Numbers must all have
   * DIGIT_MAP's length; duplicates are refused.
   */
  static fromEntries(entries: readonly PlanEntry[]): NumberingPlan {
    const p = new NumberingPlan(0, 0);
    for (const e of entries) {
      if (e.number.length !== NUMBER_DIGITS || !/^[0-9]+$/.test(e.number)) throw new RangeError(`number ${e.number} must be ${NUMBER_DIGITS} digits`);
      if (p.byNumber.has(e.number) || p.byLine.has(`${e.mgId}|${e.termId}`)) throw new RangeError(`duplicate plan entry ${e.number}`);
      p.put(e);
    }
    return p;
  }

  private put(e: PlanEntry): void {
    this.byNumber.set(e.number, e);
    this.byLine.set(`${e.mgId}|${e.termId}`, e);
  }

  private readonly gateways = new Map<string, string[]>();

  knowsGateway(mgId: string): boolean { return this.linesOf(mgId).length > 0; }
  linesOf(mgId: string): readonly string[] {
    let xs = this.gateways.get(mgId);
    if (!xs) { xs = [...this.byLine.values()].filter((e) => e.mgId === mgId).map((e) => e.termId); this.gateways.set(mgId, xs); }
    return xs;
  }

  lookup(number: string): PlanEntry | undefined { return this.byNumber.get(number); }
  numberAt(mgId: string, termId: string): string | undefined { return this.byLine.get(`${mgId}|${termId}`)?.number; }
}
