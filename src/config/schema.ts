// The schema of `unbroken serve --config FILE`: one role per process (sttcp-primary,
// sttcp-backup, splicer, backend, call-controller, media-gateway), its section's fields,
// defaults and cross-field rules. Parsing text and reading files is load.ts.
import { LOG_LEVELS } from '../observe/log.js';
import { isIpv4, parseHostPort } from './address.js';
import type { ConfigError, Ctx, Field } from './validate.js';
import { bool, hostPort, int, ipv4, join, list, mac, object, oneOf, optional, report, str, withDefault } from './validate.js';

export const ROLES = ['sttcp-primary', 'sttcp-backup', 'splicer', 'backend', 'call-controller', 'media-gateway'] as const;
export type Role = (typeof ROLES)[number];

/** The section that holds each role's settings. */
export const SECTION_OF: Record<Role, 'sttcp' | 'splicer' | 'backend' | 'controller' | 'gateway'> = {
  'sttcp-primary': 'sttcp',
  'sttcp-backup': 'sttcp',
  splicer: 'splicer',
  backend: 'backend',
  'call-controller': 'controller',
  'media-gateway': 'gateway',
};

const MiB = 1024 * 1024;

const ifName = str('the Linux network interface to attach to, e.g. eth1', {
  pattern: /^[A-Za-z0-9_.:-]{1,15}$/, hint: 'a Linux interface name of 1 to 15 letters, digits, "_", ".", ":" or "-", e.g. eth1', maxLength: 15,
});
const keyFile = str('path of the shared key file (at least 32 random bytes, mode 0600), e.g. /etc/unbroken/sttcp.key; relative paths are relative to the config file', { hint: 'a file path such as /etc/unbroken/sttcp.key' });
const heartbeatMs = withDefault(int('heartbeat interval in milliseconds (default 10)', 1, 10_000), 10);
const missCount = withDefault(int('consecutive missed heartbeats before the peer is declared failed (default 3)', 1, 100), 3);
const port = int('a TCP/UDP port, e.g. 80', 1, 65535);
const mid = str('the H.248 message identifier (MId) of this entity, e.g. "[10.0.0.5]:2944" or "<mgc1.example.net>"', {
  pattern: /^(\[[0-9A-Fa-f:.]+\](:\d{1,5})?|<[A-Za-z0-9.-]+>(:\d{1,5})?)$/, hint: 'an H.248 MId like "[10.0.0.5]:2944" or "<mgc1.example.net>"',
});

function address(doc: string, defaultPort?: number) {
  return object(doc, {
    ip: ipv4('the IPv4 address, e.g. 10.0.0.10'),
    mac: mac('the MAC address this address answers with, e.g. 02:00:5e:00:00:0a'),
    port: defaultPort === undefined ? port : withDefault(port, defaultPort),
    prefixLen: withDefault(int('the subnet prefix length (default 24)', 1, 32), 24),
    gateway: optional(ipv4('the default gateway on this LAN, if clients are beyond it')),
  });
}

/** Built-in deterministic apps, or a relay to an unmodified local server. */
export type AppConfig =
  | { kind: 'echo' }
  | { kind: 'blob'; sizeBytes: number }
  | { kind: 'http'; root: string }
  | { kind: 'resp'; maxKeys: number }
  | { kind: 'relay'; target: string };

const APP_KINDS = ['echo', 'blob', 'http', 'resp', 'relay'] as const;
const APP_SHAPES = {
  echo: object('', { kind: oneOf('the application kind', APP_KINDS) }),
  blob: object('', { kind: oneOf('the application kind', APP_KINDS), sizeBytes: withDefault(int('bytes each connection downloads (default 1 MiB)', 1, 1 << 30 /* 1 GiB */), MiB) }),
  http: object('', { kind: oneOf('the application kind', APP_KINDS), root: str('directory of files to serve, e.g. /srv/www') }),
  resp: object('', { kind: oneOf('the application kind', APP_KINDS), maxKeys: withDefault(int('the key-value store\'s key limit (default 1000000)', 1, 100_000_000), 1_000_000) }),
  relay: object('', {
    kind: oneOf('the application kind', APP_KINDS),
    target: hostPort('the unmodified local server each connection is relayed to, on loopback, e.g. 127.0.0.1:6379'),
  }, (o, path, ctx) => {
    const hp = parseHostPort(o.target);
    if (hp && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(hp.host)) {
      report(ctx, join(path, 'target'), 'must be a loopback address (127.0.0.1:PORT): each host relays to its own copy of the server', o.target);
    }
  }),
} as const;

const app: Field<AppConfig> = Object.assign(
  (v: unknown, path: string, ctx: Ctx): AppConfig | undefined => {
    const kind = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>).kind : undefined;
    if (typeof kind !== 'string' || !(APP_KINDS as readonly string[]).includes(kind)) {
      report(ctx, join(path, 'kind'), `must be one of ${APP_KINDS.join(', ')}`, kind);
      return undefined;
    }
    return APP_SHAPES[kind as AppConfig['kind']](v, path, ctx) as AppConfig | undefined;
  },
  { doc: 'the application served, e.g. {kind: echo} or {kind: relay, target: 127.0.0.1:6379}', type: 'mapping', variants: APP_SHAPES as Record<string, Field<unknown>> },
);

const tcp = withDefault(object('TCP options of our stack', {
  congestion: withDefault(oneOf('congestion control (default cubic)', ['newreno', 'cubic'] as const), 'cubic'),
  mss: optional(int('maximum segment size to announce', 536, 9000)),
  sack: withDefault(bool('offer SACK (default true)'), true),
  timestamps: withDefault(bool('offer timestamps (default true)'), true),
  windowScale: withDefault(bool('offer window scaling (default true)'), true),
}), { congestion: 'cubic', mss: undefined, sack: true, timestamps: true, windowScale: true });

const sttcp = object('the ST-TCP settings', {
  interface: ifName,
  service: address('the service address clients connect to (IP, MAC, port) — identical on primary and backup'),
  host: object('this host\'s own address on the same LAN (control channel, and ARP for itself); differs on primary and backup', {
    ip: ipv4('this host\'s own IPv4 address, e.g. 10.0.0.1'),
    mac: mac('this host\'s own MAC address, e.g. 02:00:00:00:00:01'),
  }),
  control: object('the authenticated UDP control channel between primary and backup', {
    peer: ipv4('the other host\'s own address (its host.ip), e.g. 10.0.0.2'),
    port: withDefault(int('UDP port of the control channel, the same on both hosts (default 7700)', 1, 65535), 7700),
  }),
  nodeId: optional(int('this host\'s id on the control channel, different on the two hosts (default: 1 for the primary, 2 for the backup)', 1, 0xffff_ffff)),
  keyFile,
  heartbeatMs,
  missCount,
  leaseMs: withDefault(int('how long the primary may keep serving without hearing the backup, ms (default 25); at least 2 × heartbeatMs', 1, 60_000), 25),
  leaseMarginMs: withDefault(int('extra wait before the backup takes over after the lease, ms (default 2)', 0, 10_000), 2),
  mode: withDefault(oneOf('sync: never ACK a byte the backup lacks (default); async: ACK at once, backup catches up', ['sync', 'async'] as const), 'sync'),
  ackEveryBytes: withDefault(int('the backup acknowledges after this many bytes per connection (default 65536)', 1, 16 * MiB), 65_536),
  ackEveryMs: withDefault(int('... or after this many ms (default 5)', 1, 1_000), 5),
  retentionBytes: withDefault(int('per-connection retention buffer on the primary (default 8 MiB)', 65_536, 1 << 30), 8 * MiB),
  maxConnections: withDefault(int('connections served at once (default 10000)', 1, 1_000_000), 10_000),
  app,
  fencing: optional(object('the fencing command the backup runs before taking over', {
    command: list('argv of the command, e.g. ["ipmitool", "-H", "10.0.9.1", "chassis", "power", "off"]', str('one argv word'), 1, 64),
    timeoutMs: withDefault(int('how long to wait for it, ms (default 5000)', 1, 600_000), 5_000),
  })),
  tcp,
}, (o, path, ctx) => {
  if (o.leaseMs < 2 * o.heartbeatMs) {
    report(ctx, join(path, 'leaseMs'), `must be at least 2 × heartbeatMs = ${2 * o.heartbeatMs} so that one lost heartbeat does not lapse the lease; set leaseMs: ${2 * o.heartbeatMs} or more`, o.leaseMs);
  }
  if (o.control.peer === o.host.ip) {
    report(ctx, join(path, 'control.peer'), 'must be the other host\'s address, not this host\'s host.ip', o.control.peer);
  }
  if (o.host.ip === o.service.ip) report(ctx, join(path, 'host.ip'), 'must differ from service.ip: the service address moves between hosts, this one stays', o.host.ip);
  if (o.host.mac === o.service.mac) report(ctx, join(path, 'host.mac'), 'must differ from service.mac', o.host.mac);
  for (const [k, ip] of [['host.ip', o.host.ip], ['control.peer', o.control.peer]] as const) {
    if (!sameSubnet(ip, o.service.ip, o.service.prefixLen)) {
      report(ctx, join(path, k), `must be on the service's LAN ${subnetOf(o.service.ip, o.service.prefixLen)} (service.ip/service.prefixLen)`, ip);
    }
  }
  if (o.ackEveryBytes > o.retentionBytes) {
    report(ctx, join(path, 'ackEveryBytes'), `must not exceed retentionBytes (${o.retentionBytes}), or the retention buffer fills before the backup acknowledges`, o.ackEveryBytes);
  }
});

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((a, p) => a * 256 + Number(p), 0);
}

function sameSubnet(a: string, b: string, prefixLen: number): boolean {
  const size = 2 ** (32 - prefixLen);
  return Math.floor(ipv4Number(a) / size) === Math.floor(ipv4Number(b) / size);
}

function subnetOf(ip: string, prefixLen: number): string {
  const size = 2 ** (32 - prefixLen);
  const n = Math.floor(ipv4Number(ip) / size) * size;
  return `${[24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.')}/${prefixLen}`;
}

const backendName = str('a back end\'s name, e.g. web1', { pattern: /^[A-Za-z0-9_.-]{1,63}$/, hint: 'a name of letters, digits, "_", "." or "-", e.g. web1' });

const splicer = object('the CRAFT splicer settings', {
  interface: ifName,
  service: address('the web service address clients connect to (IP, MAC, port; port defaults to 80)', 80),
  control: object('splice-state replication between splicers (UDP, HMAC-authenticated with keyFile), on the service LAN', {
    listen: hostPort('this splicer\'s own address and control port, on the service LAN, e.g. 10.0.0.81:7500'),
    mac: optional(mac('this splicer\'s own MAC address (required with a peer), e.g. 02:00:5e:00:00:51')),
    peers: withDefault(list('the other splicer\'s control address (one peer: a pair; none: a solo splicer), e.g. [10.0.0.82:7500]', hostPort('a peer splicer, e.g. 10.0.0.82:7500'), 0, 16), []),
    startAs: optional(oneOf('with a peer: which of the pair serves at start, active on one host and standby on the other', ['active', 'standby'] as const)),
    nodeId: optional(int('this splicer\'s id on the control channel, different on the two hosts (default: 1 for active, 2 for standby)', 1, 0xffff_ffff)),
  }),
  keyFile,
  heartbeatMs,
  missCount,
  backends: list('the back ends, e.g. [{name: web1, ip: 10.0.2.11, port: 80}]', object('a back end', {
    name: backendName,
    ip: ipv4('the back end\'s IPv4 address, e.g. 10.0.2.11'),
    port: withDefault(port, 80),
    weight: withDefault(int('share of new connections (default 1)', 1, 1000), 1),
    splitSplice: withDefault(bool('the back end runs `unbroken serve` with role backend (our stack) and sends its return packets straight to clients; the splicer seals each splice\'s state for it with keyFile (default false)'), false),
  }), 1, 1024),
  routes: withDefault(list('content rules: the most specific match wins (exact host, then *.wildcard host, then any; then the longest path prefix); a request no rule matches is answered 503; empty = every request to all back ends', object('a route', {
    host: optional(str('match the Host header exactly, or a suffix with *., e.g. www.example.com or *.example.com')),
    pathPrefix: optional(str('match a path prefix, e.g. /static/', { pattern: /^\//, hint: 'a path starting with "/", e.g. /static/' })),
    backends: list('names of back ends for this route', backendName, 1, 1024),
  }), 0, 4096), []),
  maxRequestHeadBytes: withDefault(int('largest HTTP request head accepted (default 16384)', 1024, MiB), 16_384),
  health: withDefault(object('back-end health checks: an ICMP echo to each back end every intervalMs; no reply for timeoutMs marks it down and its splices move to another back end (a back end whose server process dies is found by its early close)', {
    intervalMs: withDefault(int('check interval, ms (default 1000)', 10, 600_000), 1000),
    timeoutMs: withDefault(int('no echo reply for this long marks a back end down, ms (default 3000); longer than intervalMs', 1, 600_000), 3000),
  }), { intervalMs: 1000, timeoutMs: 3000 }),
  maxConnections: withDefault(int('spliced connections held at once (default 100000)', 1, 10_000_000), 100_000),
  fencing: optional(object('with a peer: the command a standby runs before taking over (e.g. power the other splicer off); without it the pair relies on the active splicer\'s lease alone', {
    command: list('argv of the command, e.g. ["ipmitool", "-H", "10.0.9.2", "chassis", "power", "off"]', str('one argv word'), 1, 64),
    timeoutMs: withDefault(int('how long to wait for it, ms (default 5000)', 1, 600_000), 5_000),
  })),
  tcp,
}, (o, path, ctx) => {
  const names = new Set<string>();
  o.backends.forEach((b, i) => {
    if (names.has(b.name)) report(ctx, `${join(path, 'backends')}[${i}].name`, 'must be unique; another back end already has this name', b.name);
    names.add(b.name);
  });
  o.routes.forEach((r, i) => r.backends.forEach((n, j) => {
    if (!names.has(n)) report(ctx, `${join(path, 'routes')}[${i}].backends[${j}]`, `names no back end; defined: ${[...names].join(', ')}`, n);
  }));
  o.control.peers.forEach((p, i) => {
    if (p === o.control.listen) report(ctx, `${join(path, 'control.peers')}[${i}]`, 'is this splicer\'s own control.listen; list only the other splicers', p);
  });
  if (o.health.timeoutMs <= o.health.intervalMs) {
    report(ctx, join(path, 'health.timeoutMs'), `must exceed health.intervalMs (${o.health.intervalMs}), or one late echo reply marks a back end down`, o.health.timeoutMs);
  }
  const listen = parseHostPort(o.control.listen);
  const ownIp = listen && isIpv4(listen.host) ? listen.host : undefined;
  if (!ownIp) report(ctx, join(path, 'control.listen'), 'must be an IPv4 address and port on the service LAN, e.g. 10.0.0.81:7500', o.control.listen);
  else if (!sameSubnet(ownIp, o.service.ip, o.service.prefixLen)) {
    report(ctx, join(path, 'control.listen'), `must be on the service's LAN ${subnetOf(o.service.ip, o.service.prefixLen)} (service.ip/service.prefixLen): the control channel shares the splicer's interface`, o.control.listen);
  } else if (ownIp === o.service.ip) report(ctx, join(path, 'control.listen'), 'must differ from service.ip: the service address moves between splicers, this one stays', o.control.listen);
  if (o.control.peers.length > 1) {
    report(ctx, join(path, 'control.peers'), `serve runs a splicer alone or as one of an active/standby pair: list one peer, or none (got ${o.control.peers.length})`);
  }
  if (o.control.peers.length === 1 && listen) {
    const peer = parseHostPort(o.control.peers[0]!)!;
    const p0 = `${join(path, 'control.peers')}[0]`;
    if (!isIpv4(peer.host) || !sameSubnet(peer.host, o.service.ip, o.service.prefixLen)) report(ctx, p0, `must be an IPv4 address on the service's LAN ${subnetOf(o.service.ip, o.service.prefixLen)}`, o.control.peers[0]);
    else if (peer.port !== listen.port) report(ctx, p0, `must use the same control port as control.listen (${listen.port}): the pair talks on one port`, o.control.peers[0]);
    if (o.control.mac === undefined) report(ctx, join(path, 'control.mac'), 'is required with a peer: this splicer\'s own MAC for the control address, e.g. 02:00:5e:00:00:51');
    else if (o.control.mac === o.service.mac) report(ctx, join(path, 'control.mac'), 'must differ from service.mac', o.control.mac);
    if (o.control.startAs === undefined) report(ctx, join(path, 'control.startAs'), 'is required with a peer: active on the splicer that serves first, standby on the other');
    if (o.missCount < 3) report(ctx, join(path, 'missCount'), 'must be at least 3 with a peer: the active splicer\'s lease ends two heartbeats before the standby may take over', o.missCount);
  }
  if (o.control.peers.length === 0 && o.control.startAs !== undefined) {
    report(ctx, join(path, 'control.startAs'), 'applies only with a peer in control.peers; remove it for a solo splicer', o.control.startAs);
  }
});

const backend = object('the CRAFT split-splice back-end module: our stack on a TAP device serving a built-in app; the splicer hands it each connection\'s splice state and it sends its return packets straight to the client', {
  interface: ifName,
  address: address('this back end\'s address as the splicers\' backends list names it (IP, MAC, port; port defaults to 80)', 80),
  splicers: list('the address the splicers send splice state from: their service address (service.ip in the splicer configs; one address for a solo splicer or a pair), e.g. [10.0.0.80]; state from any other address is dropped', ipv4('a splicer service address, e.g. 10.0.0.80 (an address, no port)'), 1, 16),
  keyFile,
  splitSplice: withDefault(bool('take the splice state and send return packets straight to clients (default true); false: every packet goes back through the splicer'), true),
  maxSplices: withDefault(int('split splices held at once (default 65536); past it a connection\'s packets go back through the splicer', 1, 10_000_000), 65_536),
  app,
  tcp,
}, (o, path, ctx) => {
  o.splicers.forEach((ip, i) => {
    if (ip === o.address.ip) report(ctx, `${join(path, 'splicers')}[${i}]`, 'is this back end\'s own address.ip; list the splicers\' service address (service.ip in their configs)', ip);
  });
});

const controller = object('the call controller (H.248 MGC) settings', {
  mid,
  listen: withDefault(hostPort('where gateways reach this controller (default 0.0.0.0:2944)'), '0.0.0.0:2944'),
  transport: withDefault(oneOf('H.248 transport (default udp): udp, or tcp with TPKT framing (RFC 3525 Annex D.2), listening at listen; the same on every controller and gateway', ['udp', 'tcp'] as const), 'udp'),
  alternates: withDefault(list('the other controllers gateways may move to', hostPort('a controller address, e.g. 10.0.3.2:2944'), 0, 8), []),
  cdr: object('where call detail records are stored', {
    kind: oneOf('sqlite (default, embedded) or postgres', ['sqlite', 'postgres'] as const),
    path: optional(str('SQLite database file, e.g. /var/lib/unbroken/cdr.sqlite')),
    url: optional(str('PostgreSQL connection URL, e.g. postgres://unbroken@db/cdr', { pattern: /^postgres(ql)?:\/\//, hint: 'a URL starting with postgres://' })),
  }, (o, path, ctx) => {
    if (o.kind === 'sqlite' && !o.path) report(ctx, join(path, 'path'), 'is required when kind is sqlite: the database file, e.g. /var/lib/unbroken/cdr.sqlite');
    if (o.kind === 'postgres' && !o.url) report(ctx, join(path, 'url'), 'is required when kind is postgres: e.g. postgres://unbroken@db/cdr');
  }),
  numberingPlan: withDefault(list('directory numbers and the line each rings', object('a number', {
    number: str('the dialled digits, e.g. 1001', { pattern: /^[0-9*#]{1,32}$/, hint: 'digits (and * or #), e.g. 1001' }),
    gateway: mid,
    termination: str('the line termination on that gateway, e.g. al/1', { pattern: /^[A-Za-z0-9_/$*.-]{1,64}$/, hint: 'an H.248 termination id like al/1' }),
  }), 0, 1_000_000), []),
  maxCalls: withDefault(int('concurrent calls (default 100000)', 1, 10_000_000), 100_000),
}, (o, path, ctx) => {
  const seen = new Set<string>();
  o.numberingPlan.forEach((n, i) => {
    if (seen.has(n.number)) report(ctx, `${join(path, 'numberingPlan')}[${i}].number`, 'must be unique in the numbering plan', n.number);
    seen.add(n.number);
  });
});

const gateway = object('the media gateway settings', {
  mid,
  listen: withDefault(hostPort('this gateway\'s H.248 address (default 0.0.0.0:2944); over tcp, the address it connects to its controllers from (the port is then unused)'), '0.0.0.0:2944'),
  transport: withDefault(oneOf('H.248 transport, the same as its controllers\' (default udp): udp, or tcp with TPKT framing (RFC 3525 Annex D.2), the gateway connecting to each controller', ['udp', 'tcp'] as const), 'udp'),
  controllers: list('controllers in order of preference, e.g. ["10.0.3.1:2944", "10.0.3.2:2944"]', hostPort('a controller address'), 1, 8),
  heartbeatMs: withDefault(int('how often the gateway checks its controller, ms (default 200)', 10, 60_000), 200),
  missCount: withDefault(int('missed checks before moving to the next controller (default 3)', 1, 100), 3),
  rtp: object('the RTP media address', {
    ip: ipv4('the address RTP is sent from, e.g. 10.0.4.11'),
    portMin: withDefault(int('lowest RTP port (default 16384)', 1024, 65534), 16_384),
    portMax: withDefault(int('highest RTP port (default 32767)', 1025, 65535), 32_767),
  }, (o, path, ctx) => {
    if (o.portMin >= o.portMax) report(ctx, join(path, 'portMax'), `must be above portMin (${o.portMin})`, o.portMax);
  }),
  lines: list('the analog lines, e.g. [{termination: al/1}]', object('a line', {
    termination: str('the termination id, e.g. al/1', { pattern: /^[A-Za-z0-9_/$*.-]{1,64}$/, hint: 'an H.248 termination id like al/1' }),
  }), 1, 100_000),
}, (o, path, ctx) => {
  if (o.heartbeatMs * o.missCount > 60_000) {
    report(ctx, join(path, 'missCount'), `heartbeatMs × missCount = ${o.heartbeatMs * o.missCount} ms; keep detection under 60000 ms`, o.missCount);
  }
});

export const SECTIONS = { sttcp, splicer, backend, controller, gateway } as const;

export const COMMON_FIELDS = {
  role: oneOf(`the role this process runs: ${ROLES.join(', ')}`, ROLES),
  node: optional(str('a name for this process in logs and metrics, e.g. host-a', { pattern: /^[A-Za-z0-9_.-]{1,63}$/, hint: 'letters, digits, "_", "." or "-", e.g. host-a' })),
  log: withDefault(object('logging', {
    level: withDefault(oneOf('log level (default info)', LOG_LEVELS), 'info'),
  }), { level: 'info' as const }),
  metrics: optional(object('the Prometheus endpoint', {
    listen: hostPort('where /metrics is served, e.g. 127.0.0.1:9464'),
  })),
};

type SectionOut<K extends keyof typeof SECTIONS> = NonNullable<ReturnType<(typeof SECTIONS)[K]>>;
export type SttcpSection = SectionOut<'sttcp'>;
export type SplicerSection = SectionOut<'splicer'>;
export type BackendSection = SectionOut<'backend'>;
export type ControllerSection = SectionOut<'controller'>;
export type GatewaySection = SectionOut<'gateway'>;

interface Common {
  node: string | undefined;
  log: { level: (typeof LOG_LEVELS)[number] };
  metrics: { listen: string } | undefined;
}

/** A validated config: the role, the common settings, and exactly the role's section. */
export type ServeConfig =
  | (Common & { role: 'sttcp-primary' | 'sttcp-backup'; sttcp: SttcpSection })
  | (Common & { role: 'splicer'; splicer: SplicerSection })
  | (Common & { role: 'backend'; backend: BackendSection })
  | (Common & { role: 'call-controller'; controller: ControllerSection })
  | (Common & { role: 'media-gateway'; gateway: GatewaySection });

export type ConfigResult = { ok: true; config: ServeConfig } | { ok: false; errors: ConfigError[] };

/** Validate parsed JSON/YAML data against the schema of its role. Collects every error. */
export function validateConfig(data: unknown): ConfigResult {
  const ctx: Ctx = { errors: [] };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, errors: [{ path: '', message: `the config must be a mapping with at least "role" and the role's section (got ${data === null ? 'an empty document' : Array.isArray(data) ? 'a list' : typeof data})` }] };
  }
  const rec = { ...(data as Record<string, unknown>) };
  const role = COMMON_FIELDS.role(rec.role, 'role', ctx);
  if (rec.role === undefined) ctx.errors[ctx.errors.length - 1] = { path: 'role', message: `is required: ${COMMON_FIELDS.role.doc}` };
  if (role === undefined) return { ok: false, errors: ctx.errors };
  const section = SECTION_OF[role];
  for (const other of Object.keys(SECTIONS)) {
    if (other !== section && Object.hasOwn(rec, other)) {
      const roles = ROLES.filter((r) => SECTION_OF[r] === other).join(' or ');
      report(ctx, other, `belongs to role ${roles}, but this file's role is ${role}; move it to that host's config or change role`);
      delete rec[other];
    }
  }
  const top = object('the config file', { ...COMMON_FIELDS, [section]: SECTIONS[section] as Field<unknown> }, (o, _path, c) => {
    if (role !== 'sttcp-backup' && section === 'sttcp' && ((o as Record<string, unknown>).sttcp as SttcpSection).fencing) {
      report(c, 'sttcp.fencing', 'is used only by role sttcp-backup (it fences the primary before taking over); remove it here');
    }
  });
  const out = top(rec, '', ctx);
  if (out === undefined || ctx.errors.length > 0) return { ok: false, errors: ctx.errors };
  return { ok: true, config: out as unknown as ServeConfig };
}
