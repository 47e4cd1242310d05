// The drivers' H.248 carriers on loopback: over TCP every message arrives whole (TPKT
// reassembles what the stream splits or joins), both ways, and a broken frame closes
// the connection instead of feeding the parser garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { tcpClientTransport, tcpServerTransport, udpTransport } from './control-transport.js';
import { splitAddr } from './driver-util.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const until = async (f: () => boolean): Promise<void> => { for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10)); };

test('control transport over TCP: messages both ways, whole and in order, many per write', async () => {
  const atServer: string[] = []; const atClient: string[] = [];
  let clientPeer = '';
  const server = await tcpServerTransport('127.0.0.1', 0, (peer, b) => { clientPeer = peer; atServer.push(text(b)); }, (e) => { throw e; });
  const client = tcpClientTransport('127.0.0.1', (peer, b) => { assert.equal(peer, server.addr); atClient.push(text(b)); });
  try {
    const big = `!/1 [127.0.0.1]:1 T=1{C=-{N=al/1{OE=1{al/on}}}}${' '.repeat(40_000)}`;
    for (let i = 0; i < 50; i++) client.send(server.addr, new TextEncoder().encode(`msg ${i}`));
    client.send(server.addr, new TextEncoder().encode(big));
    await until(() => atServer.length === 51);
    assert.deepEqual(atServer.slice(0, 50), Array.from({ length: 50 }, (_, i) => `msg ${i}`));
    assert.equal(atServer[50], big);
    server.send(clientPeer, new TextEncoder().encode('reply'));
    await until(() => atClient.length === 1);
    assert.deepEqual(atClient, ['reply']);
  } finally { client.close(); server.close(); }
});

test('control transport over TCP: a connection with a broken TPKT header is closed', async () => {
  const got: string[] = [];
  const server = await tcpServerTransport('127.0.0.1', 0, (_p, b) => got.push(text(b)), (e) => { throw e; });
  try {
    const { ip, port } = splitAddr(server.addr);
    const sock = createConnection({ host: ip, port });
    let closed = false;
    sock.on('close', () => { closed = true; });
    sock.on('error', () => {});
    sock.write(Buffer.from([9, 9, 0, 10, 1, 2, 3, 4, 5, 6]));
    await until(() => closed);
    assert.ok(closed);
    assert.deepEqual(got, []);
    assert.equal(server.counters.framingErrors, 1);
  } finally { server.close(); }
});

test('control transport over UDP: one datagram is one message', async () => {
  const got: string[] = [];
  const a = await udpTransport('127.0.0.1', 0, (_p, b) => got.push(text(b)), (e) => { throw e; });
  const b = await udpTransport('127.0.0.1', 0, () => {}, (e) => { throw e; });
  try {
    b.send(a.addr, new TextEncoder().encode('hello'));
    await until(() => got.length === 1);
    assert.deepEqual(got, ['hello']);
  } finally { a.close(); b.close(); }
});
