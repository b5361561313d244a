import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import type { PeerAddress } from '../../engine/port.ts';
import { normaliseHost } from './address.ts';
import { sendHostFor, wrapBoundSocket } from './endpoint.ts';
import { TIMER_DELAY_MAX_MS } from './environment.ts';
import { checkPort, openUdp, realEnvironment, resolveHost, UdpError, type UdpErrorCode } from './index.ts';
import { patternBytes } from './port-contract.ts';
import { waitFor, whyNotBindable } from './test-support.ts';
import { bindError } from './udp-error.ts';

const LOOPBACK = '127.0.0.1';

/** An endpoint on 127.0.0.1 that records what it receives and the warnings it gives; closed after the test. */
async function recordingEndpoint(t: { teardown: (fn: () => Promise<void>) => void }, host = LOOPBACK) {
  const endpoint = await openUdp({ host, port: 0 });
  t.teardown(() => endpoint.close());
  const inbox: { datagram: Uint8Array; from: PeerAddress }[] = [];
  const warnings: string[] = [];
  endpoint.onDatagram((datagram, from) => inbox.push({ datagram, from }));
  endpoint.onWarning((message) => warnings.push(message));
  return { endpoint, inbox, warnings };
}

/** A loopback port nobody listens on: bound a moment ago, then released. */
async function closedPort(): Promise<PeerAddress> {
  const endpoint = await openUdp({ host: LOOPBACK, port: 0 });
  await endpoint.close();
  return endpoint.local;
}

async function udpErrorOf(promise: Promise<unknown>): Promise<UdpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UdpError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a UdpError, but it succeeded');
}

test('binding a port already in use rejects with port-in-use, naming the port', async (t) => {
  const { endpoint } = await recordingEndpoint(t);
  const error = await udpErrorOf(openUdp({ host: LOOPBACK, port: endpoint.local.port }));
  t.is(error.code, 'port-in-use');
  t.true(error.message.includes(String(endpoint.local.port)), error.message);
  t.true(error.message.includes(LOOPBACK), error.message);
  t.true(error instanceof Error);
  t.is(error.name, 'UdpError');
});

test('binding an address this machine does not have rejects with address-not-available', async (t) => {
  const error = await udpErrorOf(openUdp({ host: '192.0.2.1', port: 0 })); // TEST-NET-1
  t.is(error.code, 'address-not-available');
  t.true(error.message.includes('192.0.2.1'), error.message);
});

test('a host that does not resolve rejects with host-not-found, naming the host', async (t) => {
  const opening = await udpErrorOf(openUdp({ host: 'no-such-host.invalid', port: 0 }));
  t.is(opening.code, 'host-not-found');
  t.true(opening.message.includes('no-such-host.invalid'), opening.message);
  const resolving = await udpErrorOf(resolveHost('no-such-host.invalid'));
  t.is(resolving.code, 'host-not-found');
  t.true(resolving.message.includes('no-such-host.invalid'), resolving.message);
  t.is((await udpErrorOf(resolveHost(''))).code, 'host-not-found');
});

test('resolveHost returns literals as they are, without brackets, and IPv4-mapped ones as IPv4', async (t) => {
  t.is(await resolveHost('127.0.0.1'), '127.0.0.1');
  t.is(await resolveHost('::1'), '::1');
  t.is(await resolveHost('[::1]'), '::1');
  t.is(await resolveHost('::ffff:127.0.0.1'), '127.0.0.1');
  t.true(['127.0.0.1', '::1'].includes(await resolveHost('localhost')));
});

test('checkPort refuses values that are not whole numbers in range, naming the value and the option', (t) => {
  for (const [value, shown] of [
    [-1, '-1'],
    [70000, '70000'],
    [1.5, '1.5'],
    ['abc', 'abc'],
    [Number.NaN, 'NaN'],
    ['', '""'],
    ['8080x', '8080x'],
    [undefined, 'missing'],
  ] as const) {
    const error = t.throws(() => checkPort(value, '--port', true), { instanceOf: UdpError });
    t.is(error?.code, 'bad-port');
    t.true(error?.message.includes(shown), error?.message);
    t.true(error?.message.startsWith('--port'), error?.message);
  }
  t.is(t.throws(() => checkPort(0, '--port', false), { instanceOf: UdpError })?.code, 'bad-port');
});

test('checkPort accepts whole numbers in range, and digit strings', (t) => {
  t.is(checkPort(0, '--port', true), 0);
  t.is(checkPort(1, '--port', false), 1);
  t.is(checkPort(65535, '--port', false), 65535);
  t.is(checkPort('8080', '--port', false), 8080);
});

test('openUdp refuses a bad port with bad-port before touching the network', async (t) => {
  const error = await udpErrorOf(openUdp({ host: LOOPBACK, port: 65536 }));
  t.is(error.code, 'bad-port');
  t.true(error.message.includes('65536'), error.message);
});

test('port 0 gets a real port, reported in local', async (t) => {
  const { endpoint } = await recordingEndpoint(t);
  t.is(endpoint.local.host, LOOPBACK);
  t.true(endpoint.local.port > 0 && endpoint.local.port <= 65535);
});

test('on ::1, local is the IPv6 address without brackets', async (t) => {
  const unavailable = await whyNotBindable('::1');
  if (unavailable !== undefined) {
    t.log(`skipped: ${unavailable}`);
    t.pass();
    return;
  }
  const { endpoint } = await recordingEndpoint(t, '[::1]');
  t.is(endpoint.local.host, '::1');
  t.true(endpoint.local.port > 0);
});

test('sends to a closed loopback port never crash, and the endpoint keeps working', async (t) => {
  const a = await recordingEndpoint(t);
  const b = await recordingEndpoint(t);
  const nobody = await closedPort();
  for (let index = 0; index < 20; index += 1) {
    t.notThrows(() => a.endpoint.port.send(patternBytes(10, index), nobody));
  }
  await sleep(50);
  a.endpoint.port.send(patternBytes(10, 99), b.endpoint.local);
  t.true(await waitFor(() => b.inbox.length > 0));
  t.deepEqual(b.inbox[0]?.from, a.endpoint.local);
  t.true(await waitFor(() => a.endpoint.stats.sent + a.endpoint.stats.sendErrors === 21));
});

test('stats count what was sent and received', async (t) => {
  const a = await recordingEndpoint(t);
  const b = await recordingEndpoint(t);
  for (let index = 0; index < 3; index += 1) {
    a.endpoint.port.send(patternBytes(10, index), b.endpoint.local);
  }
  t.true(await waitFor(() => b.inbox.length === 3));
  t.true(await waitFor(() => a.endpoint.stats.sent === 3));
  t.deepEqual(a.endpoint.stats, { sent: 3, received: 0, sendErrors: 0 });
  t.deepEqual(b.endpoint.stats, { sent: 0, received: 3, sendErrors: 0 });
});

test('a send this socket cannot make is a warning and a counted error, not a throw', async (t) => {
  const a = await recordingEndpoint(t);
  t.notThrows(() => a.endpoint.port.send(patternBytes(4, 1), { host: '::1', port: 9 }));
  t.notThrows(() => a.endpoint.port.send(patternBytes(4, 1), { host: LOOPBACK, port: 0 }));
  t.notThrows(() => a.endpoint.port.send(patternBytes(4, 1), { host: LOOPBACK, port: 70000 }));
  t.true(await waitFor(() => a.endpoint.stats.sendErrors === 3));
  t.is(a.warnings.length, 3);
  t.regex(a.warnings[0] ?? '', /\[::1\]:9.*IPv4/);
  t.regex(a.warnings[1] ?? '', /127\.0\.0\.1:0/);
  t.regex(a.warnings[2] ?? '', /127\.0\.0\.1:70000/);
});

test('after close, sends are warnings and counted errors; closing again is fine', async (t) => {
  const a = await recordingEndpoint(t);
  const b = await recordingEndpoint(t);
  await a.endpoint.close();
  t.notThrows(() => a.endpoint.port.send(patternBytes(4, 1), b.endpoint.local));
  t.is(a.endpoint.stats.sendErrors, 1);
  t.regex(a.warnings[0] ?? '', /closed/);
  await t.notThrowsAsync(a.endpoint.close());
});

test('datagrams over the engine limit are still received and passed on', async (t) => {
  const a = await recordingEndpoint(t);
  const b = await recordingEndpoint(t);
  a.endpoint.port.send(patternBytes(4000, 5), b.endpoint.local);
  t.true(await waitFor(() => b.inbox.length > 0));
  t.deepEqual(b.inbox[0] && [...b.inbox[0].datagram], [...patternBytes(4000, 5)]);
});

test('setting onDatagram again replaces the handler', async (t) => {
  const a = await recordingEndpoint(t);
  const b = await recordingEndpoint(t);
  const second: Uint8Array[] = [];
  b.endpoint.onDatagram((datagram) => second.push(datagram));
  a.endpoint.port.send(patternBytes(4, 1), b.endpoint.local);
  t.true(await waitFor(() => second.length > 0));
  t.is(b.inbox.length, 0);
});

test('a socket error after bind becomes a warning, and the endpoint keeps working', async (t) => {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ port: 0, address: LOOPBACK }, resolve));
  const endpoint = wrapBoundSocket(socket);
  t.teardown(() => endpoint.close());
  const warnings: string[] = [];
  endpoint.onWarning((message) => warnings.push(message));
  const inbox: Uint8Array[] = [];
  endpoint.onDatagram((datagram) => inbox.push(datagram));
  socket.emit('error', Object.assign(new Error('recvmsg ECONNRESET'), { code: 'ECONNRESET' }));
  t.is(warnings.length, 1);
  t.true(warnings[0]?.includes(`${LOOPBACK}:${endpoint.local.port}`), warnings[0]);
  t.true(warnings[0]?.includes('ECONNRESET'), warnings[0]);
  endpoint.port.send(patternBytes(4, 1), endpoint.local);
  t.true(await waitFor(() => inbox.length > 0));
});

test('IPv4-mapped IPv6 senders are written as IPv4', (t) => {
  t.is(normaliseHost('::ffff:1.2.3.4'), '1.2.3.4');
  t.is(normaliseHost('::FFFF:127.0.0.1'), '127.0.0.1');
  t.is(normaliseHost('::1'), '::1');
  t.is(normaliseHost('2001:db8::ffff:1.2.3.4'), '2001:db8::ffff:1.2.3.4');
  t.is(normaliseHost('10.0.0.1'), '10.0.0.1');
});

test('sends go out in the socket’s family: mapped for a dual-stack socket, refused where it cannot reach', (t) => {
  t.is(sendHostFor(6, '::', '1.2.3.4'), '::ffff:1.2.3.4');
  t.is(sendHostFor(6, '::', '::1'), '::1');
  t.is(sendHostFor(6, '::1', '1.2.3.4'), undefined);
  t.is(sendHostFor(4, '0.0.0.0', '::ffff:1.2.3.4'), '1.2.3.4');
  t.is(sendHostFor(4, '0.0.0.0', '::1'), undefined);
  t.is(sendHostFor(4, '0.0.0.0', 'example.org'), 'example.org');
});

test('bind errors map to codes with messages naming the address and port', (t) => {
  const target = { host: 'localhost', address: '127.0.0.1', port: 80 };
  const cases: readonly (readonly [string, UdpErrorCode, RegExp])[] = [
    ['EADDRINUSE', 'port-in-use', /port 80 on localhost \(127\.0\.0\.1\) is already in use; .*another port/],
    ['EACCES', 'permission-denied', /port 80 .*1024/],
    ['EPERM', 'permission-denied', /port 80 /],
    ['EADDRNOTAVAIL', 'address-not-available', /127\.0\.0\.1/],
    ['EINVAL', 'address-not-available', /127\.0\.0\.1/],
    ['ENOTFOUND', 'host-not-found', /"localhost"/],
    ['EAI_AGAIN', 'host-not-found', /"localhost"/],
    ['EAI_NONAME', 'host-not-found', /"localhost"/],
    ['EWEIRD', 'socket-error', /port 80 .*bind EWEIRD went wrong/],
  ];
  for (const [code, expected, message] of cases) {
    const cause = Object.assign(new Error(`bind ${code} went wrong`), { code });
    const error = bindError(target, cause);
    t.is(error.code, expected, code);
    t.regex(error.message, message);
    t.is(error.cause, cause);
  }
});

test('realEnvironment gives the port, the real time, random bytes and Node timers', async (t) => {
  const port = { send: () => {} };
  const env = realEnvironment(port);
  t.is(env.port, port);
  t.true(Math.abs(env.now() - Date.now()) < 1000);
  const random = env.random(32);
  t.true(random instanceof Uint8Array);
  t.is(random.byteLength, 32);
  t.notDeepEqual([...random], [...env.random(32)]);
  let fired = 0;
  env.clock.setTimeout(() => {
    fired += 1;
  }, 5);
  const cancelled = env.clock.setTimeout(() => {
    fired += 100;
  }, 5);
  env.clock.clearTimeout(cancelled);
  t.true(await waitFor(() => fired > 0));
  await sleep(20);
  t.is(fired, 1);
});

test("realEnvironment's clock for timers and budgets does not follow the wall clock set an hour back; a message's time does", (t) => {
  const env = realEnvironment({ send: () => {} });
  const before = env.now();
  const wallNow = Date.now;
  // Synchronous, so no other test runs while the wall clock reads an hour early.
  Date.now = () => wallNow() - 3_600_000;
  try {
    const after = env.now();
    t.true(after >= before && after - before < 60_000, `${before} then ${after}`);
    t.true(Number.isInteger(after));
    t.true(Math.abs((env.wallNow?.() ?? 0) - (wallNow() - 3_600_000)) < 1000);
  } finally {
    Date.now = wallNow;
  }
});

test('a delay longer than one Node timer allows does not fire early', async (t) => {
  const env = realEnvironment({ send: () => {} });
  let fired = false;
  const id = env.clock.setTimeout(() => {
    fired = true;
  }, TIMER_DELAY_MAX_MS + 1);
  await sleep(30);
  env.clock.clearTimeout(id);
  t.false(fired);
});
