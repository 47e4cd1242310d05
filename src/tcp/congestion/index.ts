// Congestion-control algorithms by name (for configuration files and the CLI).
// The algorithms live in their own files; this only maps names to factories.
import type { CongestionFactory } from './congestion-control.js';
import { cubic } from './cubic.js';
import { newReno } from './newreno.js';

export const CONGESTION_NAMES = ['newreno', 'cubic'] as const;
export type CongestionName = (typeof CONGESTION_NAMES)[number];

const FACTORIES: Record<CongestionName, CongestionFactory> = { newreno: newReno, cubic };

export function congestionByName(name: CongestionName): CongestionFactory;
export function congestionByName(name: string): CongestionFactory | undefined;
export function congestionByName(name: string): CongestionFactory | undefined {
  return Object.hasOwn(FACTORIES, name) ? FACTORIES[name as CongestionName] : undefined;
}

export { newReno, cubic };
