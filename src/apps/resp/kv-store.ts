// The key-value store behind the RESP app and the commands it executes. Keys never
// expire: SET's EX/PX/EXAT/PXAT/KEEPTTL are validated and then ignored, because the
// app has no clock (a replicated app must not read one); this is documented behaviour.
import { NIL, OK, array, bulk, err, int, simple, type Reply } from './resp-codec.js';

export interface KvLimits {
  /** Sum of key and value bytes stored; writes beyond it get an OOM error. */
  maxMemoryBytes: number;
  maxKeys: number;
}

export const DEFAULT_KV_LIMITS: KvLimits = { maxMemoryBytes: 256 * 1024 * 1024, maxKeys: 1_000_000 };

/** Plain-data form of the store: [key, value] pairs in insertion order. */
export interface KvState { entries: Array<[Uint8Array, Uint8Array]> }

const dec = new TextDecoder();

/** The shape snapshot() makes (state from another host is checked before use). */
function isKvState(s: unknown): s is KvState {
  const e = (s as { entries?: unknown } | null | undefined)?.entries;
  return Array.isArray(e) && e.every((x) => Array.isArray(x) && x.length === 2 && x[0] instanceof Uint8Array && x[1] instanceof Uint8Array);
}
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

/** What a command asks of the connection besides its reply. */
export type Effect = 'none' | 'close';

export class KvStore {
  private readonly map = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  private usedBytes = 0;

  constructor(private readonly limits: KvLimits = DEFAULT_KV_LIMITS) {}

  size(): number { return this.map.size; }

  snapshot(): KvState {
    return { entries: [...this.map.values()].map((e) => [e.key.slice(), e.value.slice()]) };
  }

  /** Replaces the contents with an earlier snapshot(); throws TypeError (nothing changed) on anything else. */
  restore(s: KvState): void {
    if (!isKvState(s)) throw new TypeError('not a key-value store snapshot');
    this.map.clear();
    this.usedBytes = 0;
    for (const [k, v] of s.entries) this.put(k.slice(), v.slice());
  }

  get(key: Uint8Array): Uint8Array | undefined { return this.map.get(keyOf(key))?.value; }

  private put(key: Uint8Array, value: Uint8Array): boolean {
    const k = keyOf(key);
    const old = this.map.get(k);
    const delta = value.length - (old?.value.length ?? -key.length);
    if (delta > 0 && this.usedBytes + delta > this.limits.maxMemoryBytes) return false;
    if (old === undefined && this.map.size >= this.limits.maxKeys) return false;
    this.usedBytes += delta;
    if (old !== undefined) old.value = value;
    else this.map.set(k, { key, value });
    return true;
  }

  private del(key: Uint8Array): boolean {
    const k = keyOf(key);
    const e = this.map.get(k);
    if (e === undefined) return false;
    this.usedBytes -= e.key.length + e.value.length;
    this.map.delete(k);
    return true;
  }

  /** Executes one command. `args[0]` is the command name. */
  execute(args: Uint8Array[]): { reply: Reply; effect: Effect } {
    if (args.length === 0) return { reply: NIL, effect: 'none' }; // empty inline line: Redis ignores it
    const name = dec.decode(args[0]).toLowerCase();
    const a = args.slice(1);
    const arity = (min: number, max = min): Reply | undefined =>
      a.length < min || a.length > max ? err(`ERR wrong number of arguments for '${name}' command`) : undefined;
    const r = (reply: Reply): { reply: Reply; effect: Effect } => ({ reply, effect: 'none' });
    const oom = err("OOM command not allowed when used memory > 'maxmemory'.");
    switch (name) {
      case 'ping': return r(arity(0, 1) ?? (a.length === 1 ? bulk(a[0]) : simple('PONG')));
      case 'echo': return r(arity(1) ?? bulk(a[0]));
      case 'quit': return { reply: OK, effect: 'close' };
      case 'select': return r(arity(1) ?? (dec.decode(a[0]) === '0' ? OK : err('ERR DB index is out of range')));
      case 'get': return r(arity(1) ?? bulk(this.get(a[0]) ?? null));
      case 'set': return r(this.set(a));
      case 'setnx': return r(arity(2) ?? (this.get(a[0]) !== undefined ? int(0) : this.put(a[0], a[1]) ? int(1) : oom));
      case 'del': return r(arity(1, Infinity) ?? int(a.filter((k) => this.del(k)).length));
      case 'exists': return r(arity(1, Infinity) ?? int(a.filter((k) => this.get(k) !== undefined).length));
      case 'incr': return r(arity(1) ?? this.incrBy(a[0], 1n));
      case 'decr': return r(arity(1) ?? this.incrBy(a[0], -1n));
      case 'incrby': case 'decrby': {
        const bad = arity(2);
        if (bad) return r(bad);
        const d = parseI64(a[1]);
        if (d === undefined) return r(err('ERR value is not an integer or out of range'));
        return r(this.incrBy(a[0], name === 'incrby' ? d : -d));
      }
      case 'append': {
        const bad = arity(2);
        if (bad) return r(bad);
        const old = this.get(a[0]) ?? new Uint8Array(0);
        const v = new Uint8Array(old.length + a[1].length);
        v.set(old); v.set(a[1], old.length);
        return r(this.put(a[0], v) ? int(v.length) : oom);
      }
      case 'strlen': return r(arity(1) ?? int(this.get(a[0])?.length ?? 0));
      case 'mget': return r(arity(1, Infinity) ?? array(a.map((k) => bulk(this.get(k) ?? null))));
      case 'mset': {
        if (a.length === 0 || a.length % 2 !== 0) return r(err(`ERR wrong number of arguments for 'mset' command`));
        for (let i = 0; i < a.length; i += 2) if (!this.put(a[i], a[i + 1])) return r(oom);
        return r(OK);
      }
      case 'dbsize': return r(arity(0) ?? int(this.map.size));
      case 'flushall': case 'flushdb':
        this.map.clear(); this.usedBytes = 0;
        return r(OK);
      case 'config': return r(this.config(a));
      case 'command': return r(this.command(a));
      case 'client': {
        const sub = a.length > 0 ? dec.decode(a[0]).toLowerCase() : '';
        if (sub === 'setname' || sub === 'setinfo') return r(OK);
        if (sub === 'getname') return r(NIL);
        return r(err(`ERR unknown subcommand '${sub}'.`));
      }
      default: {
        const first = a.slice(0, 3).map((x) => `'${dec.decode(x.subarray(0, 64))}'`).join(' ');
        return r(err(`ERR unknown command '${name.slice(0, 64)}', with args beginning with: ${first}`));
      }
    }
  }

  private set(a: Uint8Array[]): Reply {
    if (a.length < 2) return err("ERR wrong number of arguments for 'set' command");
    let nx = false; let xx = false; let get = false; let ttl = false;
    for (let i = 2; i < a.length; i++) {
      const opt = dec.decode(a[i]).toLowerCase();
      if (opt === 'nx') nx = true;
      else if (opt === 'xx') xx = true;
      else if (opt === 'get') get = true;
      else if (opt === 'keepttl') { if (ttl) return err('ERR syntax error'); ttl = true; }
      else if (opt === 'ex' || opt === 'px' || opt === 'exat' || opt === 'pxat') {
        if (ttl || i + 1 >= a.length) return err('ERR syntax error');
        const v = parseI64(a[++i]);
        if (v === undefined) return err('ERR value is not an integer or out of range');
        if (v <= 0n) return err("ERR invalid expire time in 'set' command");
        ttl = true; // accepted and ignored: keys never expire (see file header)
      } else return err('ERR syntax error');
    }
    if (nx && xx) return err('ERR syntax error');
    const old = this.get(a[0]);
    if ((nx && old !== undefined) || (xx && old === undefined)) return get ? bulk(old ?? null) : NIL;
    if (!this.put(a[0], a[1])) return err("OOM command not allowed when used memory > 'maxmemory'.");
    return get ? bulk(old ?? null) : OK;
  }

  private incrBy(key: Uint8Array, delta: bigint): Reply {
    const old = this.get(key);
    const cur = old === undefined ? 0n : parseI64(old);
    if (cur === undefined) return err('ERR value is not an integer or out of range');
    const next = cur + delta;
    if (next > I64_MAX || next < I64_MIN) return err('ERR increment or decrement would overflow');
    if (!this.put(key, new TextEncoder().encode(next.toString()))) return err("OOM command not allowed when used memory > 'maxmemory'.");
    return int(next);
  }

  private config(a: Uint8Array[]): Reply {
    const sub = a.length > 0 ? dec.decode(a[0]).toLowerCase() : '';
    if (sub !== 'get' || a.length < 2) return err(`ERR unknown subcommand or wrong number of arguments for '${sub}'.`);
    const params: Array<[string, string]> = [
      ['save', ''], ['appendonly', 'no'], ['maxmemory', String(this.limits.maxMemoryBytes)], ['databases', '1'],
    ];
    const out: Reply[] = [];
    for (const [k, v] of params) {
      if (a.slice(1).some((p) => globMatch(dec.decode(p).toLowerCase(), k))) out.push(bulk(k), bulk(v));
    }
    return array(out);
  }

  private command(a: Uint8Array[]): Reply {
    const sub = a.length > 0 ? dec.decode(a[0]).toLowerCase() : '';
    // redis-cli asks for COMMAND DOCS at start-up for its hints; an empty answer is valid.
    if (sub === '' || sub === 'docs' || sub === 'info') return array([]);
    if (sub === 'count') return int(0);
    return err(`ERR unknown subcommand '${sub}'.`);
  }
}

function keyOf(k: Uint8Array): string {
  let s = '';
  for (let i = 0; i < k.length; i += 4096) s += String.fromCharCode(...k.subarray(i, i + 4096));
  return s;
}

/** Strict signed 64-bit decimal, as Redis's string2ll. */
function parseI64(b: Uint8Array): bigint | undefined {
  const s = dec.decode(b);
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(s)) return undefined;
  const v = BigInt(s);
  return v > I64_MAX || v < I64_MIN ? undefined : v;
}

/** Glob with '*' and '?' only (CONFIG GET patterns). */
function globMatch(pattern: string, s: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(s);
}
