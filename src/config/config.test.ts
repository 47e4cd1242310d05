// Tests of the serve config: every error kind names the field path and the fix,
// defaults fill in, the examples validate, and file checks catch unsafe key files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROLES, SECTION_OF, validateConfig } from './schema.js';
import { formatConfigErrors, loadConfigFile, parseConfigText } from './load.js';
import { closest, formatConfigError } from './validate.js';
import { isIpv4, isMac, parseHostPort } from './address.js';
import { livenessFromConfig } from './runtime.js';
import { defaultLiveness, validateLiveness } from '../sttcp/liveness.js';
import { ASYNC_ACK_EVERY_BYTES, ASYNC_ACK_INTERVAL_US } from '../sttcp/node-core.js';
import fc from 'fast-check';

const EXAMPLES = resolve(import.meta.dirname, '../../examples');

function primary(): Record<string, any> {
  return parseYaml(readFileSync(join(EXAMPLES, 'sttcp-primary.yaml'), 'utf8')) as Record<string, any>;
}

/** Validate `data` and return the formatted error lines. */
function errorsOf(data: unknown): string[] {
  const r = validateConfig(data);
  return r.ok ? [] : r.errors.map(formatConfigError);
}

function withChange(edit: (c: Record<string, any>) => void): string[] {
  const c = primary();
  edit(c);
  return errorsOf(c);
}

test('the example configs validate, and every role has one', () => {
  const seen = new Set<string>();
  for (const f of exampleConfigs()) {
    const r = loadConfigFile(join(EXAMPLES, f), { checkFiles: false });
    assert.ok(r.ok, `${f}: ${r.ok ? '' : formatConfigErrors(f, r.errors)}`);
    seen.add(r.config.role);
  }
  assert.deepEqual([...seen].sort(), [...ROLES].sort());
});

test('the two-host ST-TCP pair shares the service address and points at each other', () => {
  const a = loadConfigFile(join(EXAMPLES, 'sttcp-primary.yaml'), { checkFiles: false });
  const b = loadConfigFile(join(EXAMPLES, 'sttcp-backup.yaml'), { checkFiles: false });
  assert.ok(a.ok && b.ok);
  assert.ok(a.config.role === 'sttcp-primary' && b.config.role === 'sttcp-backup');
  assert.deepEqual(a.config.sttcp.service, b.config.sttcp.service);
  assert.equal(a.config.sttcp.control.peer, b.config.sttcp.host.ip);
  assert.equal(b.config.sttcp.control.peer, a.config.sttcp.host.ip);
  assert.equal(a.config.sttcp.control.port, b.config.sttcp.control.port);
  assert.notEqual(a.config.sttcp.host.mac, b.config.sttcp.host.mac);
});

test('defaults fill in what the file leaves out', () => {
  const r = validateConfig({
    role: 'sttcp-primary',
    sttcp: { interface: 'eth1', service: { ip: '10.0.0.10', mac: '02:00:5E:00:00:0A', port: 80 }, host: { ip: '10.0.0.1', mac: '02:00:00:00:00:01' }, control: { peer: '10.0.0.2' }, keyFile: 'k', app: { kind: 'echo' } },
  });
  assert.ok(r.ok, JSON.stringify(r));
  assert.ok(r.config.role === 'sttcp-primary');
  const s = r.config.sttcp;
  assert.equal(s.heartbeatMs, 10);
  assert.equal(s.missCount, 3);
  assert.equal(s.leaseMs, 25);
  assert.equal(s.mode, 'sync');
  assert.equal(s.service.prefixLen, 24);
  assert.equal(s.service.mac, '02:00:5e:00:00:0a', 'MAC normalised to lower case');
  assert.equal(s.tcp.congestion, 'cubic');
  assert.equal(r.config.log.level, 'info');
  assert.equal(r.config.metrics, undefined);
});

test('error kind: wrong type or out of range names the path, the rule and the value', () => {
  assert.deepEqual(withChange((c) => { c.sttcp.heartbeatMs = 'fast'; }), ['sttcp.heartbeatMs: must be an integer from 1 to 10000 (got "fast")']);
  assert.deepEqual(withChange((c) => { c.sttcp.missCount = 2.5; }), ['sttcp.missCount: must be an integer from 1 to 100 (got 2.5)']);
  assert.deepEqual(withChange((c) => { c.sttcp.service.port = 70000; }), ['sttcp.service.port: must be an integer from 1 to 65535 (got 70000)']);
  assert.deepEqual(withChange((c) => { c.sttcp.tcp = { sack: 'yes' }; }), ['sttcp.tcp.sack: must be true or false (got "yes")']);
  assert.deepEqual(withChange((c) => { c.sttcp.interface = 'a-much-too-long-name'; }), ['sttcp.interface: must be at most 15 characters (got "a-much-too-long-name")']);
});

test('error kind: a missing required field says what to put there', () => {
  assert.deepEqual(withChange((c) => { delete c.sttcp.service.ip; }), ['sttcp.service.ip: is required: the IPv4 address, e.g. 10.0.0.10']);
  assert.deepEqual(withChange((c) => { delete c.sttcp.control.peer; }), ['sttcp.control.peer: is required: the other host\'s own address (its host.ip), e.g. 10.0.0.2']);
  assert.match(withChange((c) => { delete c.sttcp; })[0]!, /^sttcp: is required: the ST-TCP settings/);
  assert.match(errorsOf({ sttcp: {} })[0]!, /^role: is required: the role this process runs: sttcp-primary, sttcp-backup, splicer/);
});

test('error kind: unknown keys suggest the nearest allowed key or list them', () => {
  assert.deepEqual(withChange((c) => { c.sttcp.heartbeatMS = 5; }), ['sttcp.heartbeatMS: unknown key; did you mean heartbeatMs?']);
  assert.deepEqual(withChange((c) => { c.sttcp.leasMs = 5; }), ['sttcp.leasMs: unknown key; did you mean leaseMs?']);
  assert.deepEqual(withChange((c) => { c.log.colour = true; }), ['log.colour: unknown key; allowed here: level']);
  assert.equal(closest('xyzzy', ['heartbeatMs']), undefined);
});

test('error kind: a value outside a fixed set lists the choices', () => {
  assert.deepEqual(withChange((c) => { c.sttcp.mode = 'fast'; }), ['sttcp.mode: must be one of sync, async (got "fast")']);
  assert.deepEqual(withChange((c) => { c.role = 'primary'; }), ['role: must be one of sttcp-primary, sttcp-backup, splicer, backend, call-controller, media-gateway (got "primary")']);
  assert.deepEqual(withChange((c) => { c.sttcp.app = { kind: 'ftp' }; }), ['sttcp.app.kind: must be one of echo, blob, http, resp, relay (got "ftp")']);
  assert.deepEqual(withChange((c) => { c.log.level = 'loud'; }), ['log.level: must be one of trace, debug, info, warn, error, fatal (got "loud")']);
});

test('error kind: malformed addresses', () => {
  assert.deepEqual(withChange((c) => { c.sttcp.service.ip = '10.0.0.300'; }), ['sttcp.service.ip: must be an IPv4 address like 10.0.0.10 (got "10.0.0.300")']);
  assert.deepEqual(withChange((c) => { c.sttcp.service.mac = '02:00:5e:00:0a'; }), ['sttcp.service.mac: must be a MAC address like 02:00:5e:00:00:0a (got "02:00:5e:00:0a")']);
  assert.deepEqual(withChange((c) => { c.sttcp.service.mac = '01:00:5e:00:00:0a'; }), ['sttcp.service.mac: must be a unicast MAC (first byte even), e.g. 02:00:5e:00:00:0a (got "01:00:5e:00:00:0a")']);
  assert.deepEqual(withChange((c) => { c.metrics.listen = '10.0.1.1'; }), ['metrics.listen: must be host:port like 10.0.1.2:7400 or [::1]:9464 (got "10.0.1.1")']);
  assert.deepEqual(withChange((c) => { c.metrics.listen = '127.0.0.1:0'; }), ['metrics.listen: needs a port from 1 to 65535 (got "127.0.0.1:0")']);
});

test('error kind: list length and list items carry their index', () => {
  assert.deepEqual(withChange((c) => { c.sttcp.fencing = { command: [] }; c.role = 'sttcp-backup'; }), ['sttcp.fencing.command: must have 1 to 64 items (got 0)']);
  assert.deepEqual(withChange((c) => { c.sttcp.fencing = { command: ['ipmitool', 7] }; c.role = 'sttcp-backup'; }), ['sttcp.fencing.command[1]: must be a non-empty string (got 7)']);
  assert.deepEqual(withChange((c) => { c.sttcp.fencing = { command: 'poweroff' }; c.role = 'sttcp-backup'; }), ['sttcp.fencing.command: must be a list of 1 to 64 items (got "poweroff")']);
});

test('error kind: cross-field rules explain the constraint and the fix', () => {
  assert.deepEqual(withChange((c) => { c.sttcp.heartbeatMs = 50; }), ['sttcp.leaseMs: must be at least 2 × heartbeatMs = 100 so that one lost heartbeat does not lapse the lease; set leaseMs: 100 or more (got 25)']);
  assert.deepEqual(withChange((c) => { c.sttcp.control.peer = c.sttcp.host.ip; }), ['sttcp.control.peer: must be the other host\'s address, not this host\'s host.ip (got "10.0.0.1")']);
  assert.deepEqual(withChange((c) => { c.sttcp.host.ip = '10.0.0.10'; }), ['sttcp.host.ip: must differ from service.ip: the service address moves between hosts, this one stays (got "10.0.0.10")']);
  assert.deepEqual(withChange((c) => { c.sttcp.host.mac = '02:00:5e:00:00:0a'; }), ['sttcp.host.mac: must differ from service.mac (got "02:00:5e:00:00:0a")']);
  assert.deepEqual(withChange((c) => { c.sttcp.control.peer = '10.0.1.2'; }), ['sttcp.control.peer: must be on the service\'s LAN 10.0.0.0/24 (service.ip/service.prefixLen) (got "10.0.1.2")']);
  assert.deepEqual(withChange((c) => { c.sttcp.service.prefixLen = 30; c.sttcp.service.ip = '10.0.0.6'; }), [
    'sttcp.host.ip: must be on the service\'s LAN 10.0.0.4/30 (service.ip/service.prefixLen) (got "10.0.0.1")',
    'sttcp.control.peer: must be on the service\'s LAN 10.0.0.4/30 (service.ip/service.prefixLen) (got "10.0.0.2")',
  ]);
  assert.deepEqual(withChange((c) => { c.sttcp.retentionBytes = 65536; c.sttcp.ackEveryBytes = 100000; }), ['sttcp.ackEveryBytes: must not exceed retentionBytes (65536), or the retention buffer fills before the backup acknowledges (got 100000)']);
  assert.deepEqual(withChange((c) => { c.sttcp.app = { kind: 'relay', target: '10.0.0.5:6379' }; }), ['sttcp.app.target: must be a loopback address (127.0.0.1:PORT): each host relays to its own copy of the server (got "10.0.0.5:6379")']);
  assert.deepEqual(withChange((c) => { c.sttcp.fencing = { command: ['true'] }; }), ['sttcp.fencing: is used only by role sttcp-backup (it fences the primary before taking over); remove it here']);
});

test('error kind: cross-references between fields (splicer routes, numbering plan, cdr, rtp ports)', () => {
  const splicer = parseYaml(readFileSync(join(EXAMPLES, 'craft-splicer.yaml'), 'utf8')) as Record<string, any>;
  splicer.splicer.routes[1].backends.push('web3');
  splicer.splicer.backends[1].name = 'web1';
  assert.deepEqual(errorsOf(splicer), [
    'splicer.backends[1].name: must be unique; another back end already has this name (got "web1")',
    'splicer.routes[1].backends[1]: names no back end; defined: web1, static1 (got "web2")',
    'splicer.routes[1].backends[2]: names no back end; defined: web1, static1 (got "web3")',
  ]);
  const ctl = parseYaml(readFileSync(join(EXAMPLES, 'calls-controller.yaml'), 'utf8')) as Record<string, any>;
  ctl.controller.numberingPlan[1].number = '1001';
  assert.deepEqual(errorsOf(ctl), ['controller.numberingPlan[1].number: must be unique in the numbering plan (got "1001")']);
  // Cross-field rules of an object run once its own fields are valid, so this one shows alone.
  delete ctl.controller.cdr.path;
  assert.deepEqual(errorsOf(ctl), ['controller.cdr.path: is required when kind is sqlite: the database file, e.g. /var/lib/unbroken/cdr.sqlite']);
  const mg = parseYaml(readFileSync(join(EXAMPLES, 'calls-gateway.yaml'), 'utf8')) as Record<string, any>;
  mg.gateway.rtp.portMax = 16000;
  assert.deepEqual(errorsOf(mg), ['gateway.rtp.portMax: must be above portMin (16384) (got 16000)']);
});

test('error kind: a section that belongs to another role', () => {
  const c = primary();
  c.splicer = { interface: 'eth1' };
  assert.deepEqual(errorsOf(c), ['splicer: belongs to role splicer, but this file\'s role is sttcp-primary; move it to that host\'s config or change role']);
  for (const role of ROLES) assert.ok(SECTION_OF[role]);
});

test('error kind: the document is not a mapping', () => {
  assert.deepEqual(errorsOf(null), ['the config must be a mapping with at least "role" and the role\'s section (got an empty document)']);
  assert.deepEqual(errorsOf([1]), ['the config must be a mapping with at least "role" and the role\'s section (got a list)']);
  assert.deepEqual(withChange((c) => { c.sttcp.service = '10.0.0.10'; }), ['sttcp.service: must be a mapping of keys to values (got "10.0.0.10")']);
});

test('every error is reported at once, not just the first', () => {
  const errs = withChange((c) => { c.sttcp.heartbeatMs = 'fast'; c.sttcp.mode = 'x'; delete c.sttcp.keyFile; c.extra = 1; });
  assert.equal(errs.length, 4, errs.join('\n'));
});

test('error kind: syntax errors carry the line', () => {
  const yaml = parseConfigText('role: sttcp-primary\nsttcp:\n  interface: [eth1\n', 'yaml');
  assert.ok(!yaml.ok);
  assert.match(yaml.errors[0]!.message, /^not valid YAML: line \d+, column \d+: /);
  const dup = parseConfigText('role: splicer\nrole: backend\n', 'yaml');
  assert.ok(!dup.ok);
  assert.match(dup.errors[0]!.message, /not valid YAML: line 2, column 1: .*[Uu]nique/);
  const json = parseConfigText('{"role": "splicer",}', 'json');
  assert.ok(!json.ok);
  assert.match(json.errors[0]!.message, /^not valid JSON: /);
  const empty = parseConfigText('', 'yaml');
  assert.ok(!empty.ok);
  assert.match(empty.errors[0]!.message, /empty document/);
});

test('file checks: missing, short and world-readable key files; relative paths; unreadable config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unbroken-config-'));
  try {
    const cfg = readFileSync(join(EXAMPLES, 'sttcp-primary.yaml'), 'utf8').replace('/etc/unbroken/sttcp.key', 'keys/sttcp.key').replace('/srv/www', 'www');
    mkdirSync(join(dir, 'www'));
    const file = join(dir, 'primary.yaml');
    writeFileSync(file, cfg);
    const key = join(dir, 'keys', 'sttcp.key');
    let r = loadConfigFile(file);
    assert.ok(!r.ok);
    assert.equal(r.errors[0]!.path, 'sttcp.keyFile');
    assert.match(r.errors[0]!.message, new RegExp(`^${key} does not exist; create it with: head -c 32 /dev/urandom > ${key} && chmod 600`));
    mkdirSync(join(dir, 'keys'));
    writeFileSync(key, 'short', { mode: 0o600 });
    r = loadConfigFile(file);
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /holds 5 bytes; the key needs at least 32 random bytes/);
    writeFileSync(key, Buffer.alloc(32, 7));
    chmodSync(key, 0o644);
    r = loadConfigFile(file);
    assert.ok(!r.ok);
    assert.equal(formatConfigError(r.errors[0]!), `sttcp.keyFile: ${key} is readable by other users (mode 0644); run chmod 600 ${key}`);
    chmodSync(key, 0o600);
    r = loadConfigFile(file);
    assert.ok(r.ok, r.ok ? '' : formatConfigErrors(file, r.errors));
    assert.ok(r.config.role === 'sttcp-primary');
    assert.equal(r.config.sttcp.keyFile, key, 'relative key path resolved against the config file');
    const missing = loadConfigFile(join(dir, 'nope.yaml'));
    assert.ok(!missing.ok);
    assert.match(missing.errors[0]!.message, /cannot read .*nope.yaml: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('address syntax', () => {
  assert.deepEqual(parseHostPort('10.0.1.2:7400'), { host: '10.0.1.2', port: 7400 });
  assert.deepEqual(parseHostPort('[::1]:9464'), { host: '::1', port: 9464 });
  assert.deepEqual(parseHostPort('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['10.0.1.2', ':80', '10.0.1.256:80', '10.0.1.2:65536', 'a b:1', '::1:80', '10.0.1.2:-1']) assert.equal(parseHostPort(bad), undefined, bad);
  assert.ok(isIpv4('0.0.0.0') && !isIpv4('01.2.3.4') && !isIpv4('1.2.3'));
  assert.ok(isMac('02:00:5E:00:00:0a') && !isMac('02-00-5e-00-00-0a'));
});

test('every liveness setting the schema accepts is one the ST-TCP liveness rules accept', () => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  console.log(`config.test.ts fast-check seed ${seed} (replay: FC_SEED=${seed} npm test -- src/config/config.test.ts)`);
  const d = validateConfig(primary());
  assert.ok(d.ok && d.config.role === 'sttcp-primary');
  assert.deepEqual(livenessFromConfig(d.config.sttcp), { heartbeatUs: 10_000, missLimit: 3, leaseUs: 25_000, marginUs: 2_000 });
  assert.deepEqual(livenessFromConfig(d.config.sttcp), { ...defaultLiveness }, 'the config defaults are the module defaults');
  assert.deepEqual([d.config.sttcp.ackEveryBytes, d.config.sttcp.ackEveryMs * 1000], [ASYNC_ACK_EVERY_BYTES, ASYNC_ACK_INTERVAL_US], 'async acknowledgement defaults: the module\'s');
  fc.assert(fc.property(fc.integer({ min: -5, max: 20_000 }), fc.integer({ min: -1, max: 200 }), fc.integer({ min: -5, max: 70_000 }), fc.integer({ min: -1, max: 20_000 }), (hb, miss, lease, margin) => {
    const c = primary();
    Object.assign(c.sttcp, { heartbeatMs: hb, missCount: miss, leaseMs: lease, leaseMarginMs: margin });
    const r = validateConfig(c);
    if (r.ok && r.config.role === 'sttcp-primary') assert.deepEqual(validateLiveness(livenessFromConfig(r.config.sttcp)), []);
  }), { seed, numRuns: 500 });
});

/** The serve configs under examples/ (subdirectories hold other things, e.g. Prometheus rules). */
function exampleConfigs(): string[] {
  return readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isFile() && /\.(ya?ml|json)$/.test(d.name)).map((d) => d.name);
}

test('splicer: a pair needs its own MAC, its start role, one peer on the service LAN with the same port, and missCount ≥ 3', () => {
  const example = (): Record<string, any> => parseYaml(readFileSync(join(EXAMPLES, 'craft-splicer.yaml'), 'utf8')) as Record<string, any>;
  const edit = (fn: (s: Record<string, any>) => void): string[] => { const c = example(); fn(c.splicer); return errorsOf(c); };
  assert.deepEqual(edit(() => {}), []);
  assert.deepEqual(edit((s) => { delete s.control.mac; delete s.control.startAs; }), [
    'splicer.control.mac: is required with a peer: this splicer\'s own MAC for the control address, e.g. 02:00:5e:00:00:51',
    'splicer.control.startAs: is required with a peer: active on the splicer that serves first, standby on the other',
  ]);
  assert.deepEqual(edit((s) => { s.control.peers = ['10.0.0.82:7501']; }), ['splicer.control.peers[0]: must use the same control port as control.listen (7500): the pair talks on one port (got "10.0.0.82:7501")']);
  assert.deepEqual(edit((s) => { s.control.peers = ['10.0.1.82:7500']; }), ['splicer.control.peers[0]: must be an IPv4 address on the service\'s LAN 10.0.0.0/24 (got "10.0.1.82:7500")']);
  assert.deepEqual(edit((s) => { s.control.peers = ['10.0.0.82:7500', '10.0.0.83:7500']; }), ['splicer.control.peers: serve runs a splicer alone or as one of an active/standby pair: list one peer, or none (got 2)']);
  assert.deepEqual(edit((s) => { s.control.listen = '10.0.1.81:7500'; }), ['splicer.control.listen: must be on the service\'s LAN 10.0.0.0/24 (service.ip/service.prefixLen): the control channel shares the splicer\'s interface (got "10.0.1.81:7500")']);
  assert.deepEqual(edit((s) => { s.control.listen = '10.0.0.80:7500'; }), ['splicer.control.listen: must differ from service.ip: the service address moves between splicers, this one stays (got "10.0.0.80:7500")']);
  assert.deepEqual(edit((s) => { s.control.mac = s.service.mac; }), ['splicer.control.mac: must differ from service.mac (got "02:00:5e:00:00:50")']);
  assert.deepEqual(edit((s) => { s.missCount = 2; }), ['splicer.missCount: must be at least 3 with a peer: the active splicer\'s lease ends two heartbeats before the standby may take over (got 2)']);
  assert.deepEqual(edit((s) => { s.control.peers = []; }), ['splicer.control.startAs: applies only with a peer in control.peers; remove it for a solo splicer (got "active")']);
  assert.deepEqual(edit((s) => { s.control.peers = []; delete s.control.startAs; delete s.control.mac; }), []);
  assert.deepEqual(edit((s) => { s.health = { intervalMs: 1000, timeoutMs: 1000 }; }), ['splicer.health.timeoutMs: must exceed health.intervalMs (1000), or one late echo reply marks a back end down (got 1000)']);
  assert.deepEqual(edit((s) => { s.health.path = '/healthz'; }), ['splicer.health.path: unknown key; allowed here: intervalMs, timeoutMs']);
});

test('backend (split-splice module): defaults, the splicers\' service address, and errors naming the field', () => {
  const base = (): Record<string, any> => JSON.parse(readFileSync(join(EXAMPLES, 'craft-backend.json'), 'utf8')) as Record<string, any>;
  const r = validateConfig(base());
  assert.ok(r.ok && r.config.role === 'backend');
  const bc = r.config.backend;
  assert.equal(bc.splitSplice, true);
  assert.equal(bc.maxSplices, 65_536);
  assert.deepEqual(bc.splicers, ['10.0.0.80']);
  // The example pair: the splicer marks this back end split and its service address is what the back end trusts.
  const sp = loadConfigFile(join(EXAMPLES, 'craft-splicer.yaml'), { checkFiles: false });
  assert.ok(sp.ok && sp.config.role === 'splicer');
  const be = sp.config.splicer.backends.find((b) => b.ip === bc.address.ip && b.port === bc.address.port);
  assert.ok(be?.splitSplice, 'the splicer example marks the back end example splitSplice');
  assert.deepEqual(bc.splicers, [sp.config.splicer.service.ip]);
  const errs = (edit: (c: Record<string, any>) => void): string[] => { const c = base(); edit(c); return errorsOf(c); };
  assert.deepEqual(errs((c) => { c.backend.splicers = ['10.0.0.81:7500']; }), ['backend.splicers[0]: must be an IPv4 address like 10.0.0.10 (got "10.0.0.81:7500")']);
  assert.deepEqual(errs((c) => { c.backend.splicers = ['10.0.0.21']; }), ['backend.splicers[0]: is this back end\'s own address.ip; list the splicers\' service address (service.ip in their configs) (got "10.0.0.21")']);
  assert.deepEqual(errs((c) => { c.backend.splicers = []; }), ['backend.splicers: must have 1 to 16 items (got 0)']);
  assert.deepEqual(errs((c) => { delete c.backend.splicers; }).map((e) => e.split(':')[0]), ['backend.splicers']);
  assert.deepEqual(errs((c) => { c.backend.maxSplices = 0; }).map((e) => e.split(':')[0]), ['backend.maxSplices']);
  assert.deepEqual(errs((c) => { c.backend.splitsplice = true; }), ['backend.splitsplice: unknown key; did you mean splitSplice?']);
  assert.deepEqual(errs((c) => { c.backend.app = { kind: 'relay', target: '10.0.0.5:80' }; }), ['backend.app.target: must be a loopback address (127.0.0.1:PORT): each host relays to its own copy of the server (got "10.0.0.5:80")']);
});

test('calls transport: udp by default, tcp accepted, anything else lists the choices; port 2944 by default for both', () => {
  const ctl = (): Record<string, any> => parseYaml(readFileSync(join(EXAMPLES, 'calls-controller.yaml'), 'utf8')) as Record<string, any>;
  const mg = (): Record<string, any> => parseYaml(readFileSync(join(EXAMPLES, 'calls-gateway.yaml'), 'utf8')) as Record<string, any>;
  for (const [make, section] of [[ctl, 'controller'], [mg, 'gateway']] as const) {
    const c = make();
    delete c[section].transport;
    delete c[section].listen;
    const r = validateConfig(c);
    assert.ok(r.ok, section);
    const s = (r.config as Record<string, any>)[section] as { transport: string; listen: string };
    assert.equal(s.transport, 'udp', `${section}: default transport`);
    assert.equal(s.listen, '0.0.0.0:2944', `${section}: default port (IANA megaco-h248 text, UDP and TCP)`);
    const t = make();
    t[section].transport = 'tcp';
    const rt = validateConfig(t);
    assert.ok(rt.ok && ((rt.config as Record<string, any>)[section] as { transport: string }).transport === 'tcp', `${section}: tcp`);
    const bad = make();
    bad[section].transport = 'sctp';
    assert.deepEqual(errorsOf(bad), [`${section}.transport: must be one of udp, tcp (got "sctp")`]);
  }
});

test('app relay: a loopback host:port of the local server, on the ST-TCP roles and the back end alike', () => {
  const r = validateConfig({ ...primary(), sttcp: { ...primary().sttcp, app: { kind: 'relay', target: '127.0.0.1:6379' } } });
  assert.ok(r.ok && r.config.role === 'sttcp-primary');
  assert.deepEqual(r.config.sttcp.app, { kind: 'relay', target: '127.0.0.1:6379' });
  assert.deepEqual(withChange((c) => { c.sttcp.app = { kind: 'relay' }; }).map((e) => e.split(':')[0]), ['sttcp.app.target']);
  assert.deepEqual(withChange((c) => { c.sttcp.app = { kind: 'relay', target: '127.0.0.1' }; }), ['sttcp.app.target: must be host:port like 10.0.1.2:7400 or [::1]:9464 (got "127.0.0.1")']);
  assert.deepEqual(withChange((c) => { c.sttcp.app = { kind: 'relay', target: '127.0.0.1:6379', root: '/srv' }; }).map((e) => e.split(':')[0]), ['sttcp.app.root']);
});
