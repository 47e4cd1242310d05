// The anchor ST-TCP is compared against: what keepalived does. A Linux kernel server
// in `primary` owns the service address; when that host dies, the address moves to a
// `standby` namespace (`ip addr add` + gratuitous ARP) where the same server already
// listens. Topology as the sttcp lab (hub LAN in `lan`, 10.201.0.0/24), kernel TCP
// everywhere, no stack of ours. Used by the sttcp-lab bench.
import { addNetns, buildOrTeardown, createState } from './lab.js';
import { sh } from './netns.js';
import { STTCP_NET } from './sttcp-topology.js';
import { writeState, type LabState } from './state.js';

const STANDBY_IP = '10.201.0.4';

/** A python3 echo server on 0.0.0.0:port, one thread per connection (the kernel server). */
export function pyThreadedEcho(port: number): string[] {
  const py = [
    'import socket,threading',
    'def serve(c):',
    '  c.setsockopt(socket.IPPROTO_TCP,socket.TCP_NODELAY,1)',
    '  while True:',
    '    d=c.recv(65536)',
    '    if not d: break',
    '    c.sendall(d)',
    `l=socket.socket();l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);l.bind(("0.0.0.0",${port}));l.listen(64)`,
    'print("ready",flush=True)',
    'while True:',
    '  c,_=l.accept();threading.Thread(target=serve,args=(c,),daemon=True).start()',
  ].join('\n');
  return ['python3', '-c', py];
}

/** Gratuitous ARP (RFC 5227 §3 announcement) for `ip` from eth0, sent `count` times, via an AF_PACKET socket. */
export function garpScript(ip: string, count: number): string {
  const py = [
    'import socket,struct,time',
    's=socket.socket(socket.AF_PACKET,socket.SOCK_RAW);s.bind(("eth0",0))',
    'm=bytes.fromhex(open("/sys/class/net/eth0/address").read().strip().replace(":",""))',
    `a=socket.inet_aton("${ip}")`,
    'p=b"\\xff"*6+m+b"\\x08\\x06"+struct.pack("!HHBBH",1,0x0800,6,4,1)+m+a+b"\\x00"*6+a',
    `for i in range(${count}):`,
    '  s.send(p);time.sleep(0.01)',
  ].join('\n');
  return `python3 -c '${py}'`;
}

export async function ipMoveUp(): Promise<LabState> {
  const s = createState('ipmove', { ip: STTCP_NET.serviceIp, port: 7 });
  await buildOrTeardown(s, async (checkpoint) => {
    const lan = addNetns(s, 'lan');
    sh(['ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'ageing_time', '0', 'stp_state', '0']);
    sh(['ip', '-n', lan, 'link', 'set', 'br0', 'up']);
    const addrs: Record<string, string> = { client: STTCP_NET.clientIp, primary: STTCP_NET.serviceIp, standby: STANDBY_IP };
    for (const role of ['client', 'primary', 'standby']) {
      const ns = addNetns(s, role);
      sh(['ip', '-n', lan, 'link', 'add', `l-${role}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh(['ip', '-n', lan, 'link', 'set', `l-${role}`, 'master', 'br0', 'up']);
      sh(['ip', '-n', ns, 'addr', 'add', `${addrs[role]}/${STTCP_NET.prefixLen}`, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      checkpoint();
    }
    writeState(s);
  });
  return s;
}

/** The primary host dies: its NIC goes silent (no FIN, no RST, as with a power cut). */
export function crashKernelPrimary(s: LabState): void {
  sh(['ip', '-n', s.netns.primary!, 'link', 'set', 'eth0', 'down']);
}

/** What keepalived does on the standby when it becomes master: add the address, announce it. */
export function moveAddressToStandby(s: LabState): void {
  sh(['ip', '-n', s.netns.standby!, 'addr', 'add', `${STTCP_NET.serviceIp}/${STTCP_NET.prefixLen}`, 'dev', 'eth0']);
  sh(['ip', 'netns', 'exec', s.netns.standby!, 'bash', '-c', garpScript(STTCP_NET.serviceIp, 3)]);
}
