// Content-based routing for the splicer: rules by Host and path prefix pick a pool;
// a pool picks a back end by smooth weighted round-robin among the healthy ones.
// Health is passive (marked down by the splicer on connect failure, for a hold time)
// or set by an operator. Deterministic: no clock or randomness is read here.
import type { RequestHead } from './http-head.js';

export interface BackendSpec {
  id: string;
  ip: string;
  port: number;
  /** Relative share of requests (positive integer). */
  weight?: number;
  /** Runs our stack with split splice (split-backend.ts): it sends its return segments straight to the client. */
  split?: boolean;
}

export interface RouteRule {
  /** Exact host ("www.example.com") or suffix wildcard ("*.example.com"); absent = any host. */
  host?: string;
  /** Path prefix matched on a segment boundary ("/api" matches "/api" and "/api/x", not "/apix"). */
  pathPrefix?: string;
  pool: string;
}

export interface RouteConfig {
  pools: Record<string, BackendSpec[]>;
  /** The most specific matching rule wins: exact host > wildcard host > any; then the longest prefix. */
  rules: RouteRule[];
}

export type RouteDecision =
  | { kind: 'backend'; backend: BackendSpec; pool: string }
  | { kind: 'no-route' }          // 404-style: no rule matches (answered 503 by the splicer: nothing serves it)
  | { kind: 'no-backend'; pool: string };  // every back end of the pool is down

interface PoolState { backends: BackendSpec[]; current: number[] }

function hostScore(rule: RouteRule, host: string | undefined): number {
  if (rule.host === undefined) return 1;
  if (host === undefined) return -1;
  const r = rule.host.toLowerCase();
  if (r.startsWith('*.')) return host.endsWith(r.slice(1)) && host.length > r.length - 1 ? 2 : -1;
  return r === host ? 3 : -1;
}

function prefixMatches(prefix: string | undefined, path: string): number {
  if (prefix === undefined || prefix === '' || prefix === '/') return 0;
  if (!path.startsWith(prefix)) return -1;
  if (prefix.endsWith('/') || path.length === prefix.length) return prefix.length;
  const next = path[prefix.length];
  return next === '/' || next === '?' ? prefix.length : -1;
}

export class Router {
  private readonly pools = new Map<string, PoolState>();
  private readonly rules: RouteRule[];
  /** Back ends down until this time (µs); absent = up. */
  private readonly downUntil = new Map<string, number>();

  constructor(cfg: RouteConfig) {
    for (const [name, backends] of Object.entries(cfg.pools)) {
      if (backends.length === 0) throw new Error(`pool ${name} has no back ends`);
      for (const b of backends) {
        if (b.weight !== undefined && !(Number.isInteger(b.weight) && b.weight > 0)) throw new Error(`back end ${b.id}: weight must be a positive integer`);
      }
      this.pools.set(name, { backends: backends.map((b) => ({ ...b })), current: backends.map(() => 0) });
    }
    for (const r of cfg.rules) if (!this.pools.has(r.pool)) throw new Error(`rule refers to unknown pool ${r.pool}`);
    this.rules = cfg.rules.map((r) => ({ ...r }));
  }

  /** The pool for a request: most specific host match, then the longest path prefix, then rule order. */
  match(head: Pick<RequestHead, 'host' | 'path'>): string | undefined {
    let best: { rule: RouteRule; h: number; p: number } | undefined;
    for (const rule of this.rules) {
      const h = hostScore(rule, head.host);
      if (h < 0) continue;
      const p = prefixMatches(rule.pathPrefix, head.path);
      if (p < 0) continue;
      if (best === undefined || h > best.h || (h === best.h && p > best.p)) best = { rule, h, p };
    }
    return best?.rule.pool;
  }

  /**
   * Picks a healthy back end for the request, skipping `exclude` (back ends that
   * already failed this request). Smooth weighted round-robin (as nginx): each pick
   * adds every candidate's weight to its counter and takes the largest, minus the total.
   */
  choose(head: Pick<RequestHead, 'host' | 'path'>, nowUs: number, exclude: ReadonlySet<string> = new Set()): RouteDecision {
    const pool = this.match(head);
    if (pool === undefined) return { kind: 'no-route' };
    const st = this.pools.get(pool)!;
    let total = 0;
    let bestIdx = -1;
    for (let i = 0; i < st.backends.length; i++) {
      const b = st.backends[i]!;
      if (exclude.has(b.id) || !this.isUp(b.id, nowUs)) continue;
      const w = b.weight ?? 1;
      st.current[i]! += w;
      total += w;
      if (bestIdx < 0 || st.current[i]! > st.current[bestIdx]!) bestIdx = i;
    }
    if (bestIdx < 0) return { kind: 'no-backend', pool };
    st.current[bestIdx]! -= total;
    return { kind: 'backend', backend: st.backends[bestIdx]!, pool };
  }

  /** Marks a back end down until `untilUs` (passive health check after a failed connect, or an operator). */
  markDown(id: string, untilUs: number = Number.MAX_SAFE_INTEGER): void {
    // Two reasons to be down (a failed connect, a health check): the longer one holds.
    this.downUntil.set(id, Math.max(this.downUntil.get(id) ?? 0, untilUs));
  }

  markUp(id: string): void {
    this.downUntil.delete(id);
  }

  isUp(id: string, nowUs: number): boolean {
    const u = this.downUntil.get(id);
    return u === undefined || nowUs >= u;
  }

  /** Is back end `id` a member of `pool`? */
  poolHas(pool: string, id: string): boolean {
    return this.pools.get(pool)?.backends.some((b) => b.id === id) ?? false;
  }

  backends(): BackendSpec[] {
    return [...this.pools.values()].flatMap((p) => p.backends);
  }
}
