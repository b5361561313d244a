import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { openUdp, realEnvironment } from '../../adapters/udp/index.ts';
import { createClient, decodePacket } from '../../engine/index.ts';
import { DROPS_SHOWN_PER_INTERVAL } from '../drop-summary.ts';
import { GaschatProcess, type JsonLine, PASSWORD, startClient, startServer } from './processes.ts';

const isJoined = (name: string) => (line: JsonLine) => line.type === 'joined' && line.name === name;
const isMessage = (from: string, text: string) => (line: JsonLine) =>
  line.type === 'message' && line.from === from && line.text === text;

test('three clients: join notices in order, relay to the others, own confirmations, QUIT, the name free again', async (t) => {
  const { server, port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  const citra = await startClient(t, { host, port }, 'citra');
  await ana.waitFor('citra joined', isJoined('citra'));
  t.deepEqual(
    ana.json.filter((line) => line.type === 'joined').map((line) => line.name),
    ['budi', 'citra'],
  );
  t.deepEqual((await citra.waitFor('welcome', (line) => line.type === 'welcome')).members, [
    'ana',
    'budi',
    'citra',
  ]);

  ana.send('halo semua');
  const atBudi = await budi.waitFor('ana at budi', isMessage('ana', 'halo semua'));
  await citra.waitFor('ana at citra', isMessage('ana', 'halo semua'));
  const own = await ana.waitFor('confirmation', isMessage('ana', 'halo semua'));
  t.is(own.self, true);
  t.is(atBudi.self, false);
  t.is(own.seq, atBudi.seq);
  t.regex(String(atBudi.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  budi.send('QUIT');
  t.is(await budi.exitCode(), 0);
  t.like(budi.json.at(-1), { type: 'closed', reason: 'quit' });
  for (const member of [ana, citra]) {
    await member.waitFor('budi left', (line) => line.type === 'left' && line.name === 'budi');
    t.like(
      member.json.find((line) => line.type === 'left'),
      { name: 'budi', reason: 'quit' },
    );
  }
  await server.waitFor('server saw the leave', (line) => line.type === 'member.left' && line.name === 'budi');

  const budiAgain = await startClient(t, { host, port }, 'BUDI');
  t.like(
    budiAgain.json.find((line) => line.type === 'welcome'),
    { name: 'BUDI' },
  );
  await ana.waitFor('BUDI joined', isJoined('BUDI'));
  // The server printed every action: joins, the message received and relayed, the leave.
  const types = new Set(server.json.map((line) => line.type));
  for (const type of ['member.joined', 'message.received', 'message.relayed', 'member.left']) {
    t.true(types.has(type), `the server log has ${type}`);
  }
  t.like(
    server.json.find((line) => line.type === 'message.relayed'),
    { recipientCount: 3 },
  );
});

test('a wrong password and a taken name are refused with the reason, exit code 3', async (t) => {
  const { port, host } = await startServer(t);
  await startClient(t, { host, port }, 'ana');
  const wrong = await startClient(t, { host, port }, 'budi', { password: 'salah', expectWelcome: false });
  t.is(await wrong.exitCode(), 3);
  t.like(
    wrong.json.find((line) => line.type === 'rejected'),
    { reason: 'bad-password' },
  );
  t.like(wrong.json.at(-1), { type: 'closed', reason: 'rejected' });
  const taken = await startClient(t, { host, port }, 'ANA', { expectWelcome: false });
  t.is(await taken.exitCode(), 3);
  t.like(
    taken.json.find((line) => line.type === 'rejected'),
    { reason: 'name-taken' },
  );
});

test('a client killed with SIGKILL is announced as left (timeout)', async (t) => {
  const { server, port, host } = await startServer(t, { extra: ['--idle-timeout-ms', '1500'] });
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  budi.kill('SIGKILL');
  const left = await ana.waitFor('budi timed out', (line) => line.type === 'left' && line.name === 'budi');
  t.is(left.reason, 'timeout');
  t.like(
    server.json.find((line) => line.type === 'member.left'),
    { name: 'budi', reason: 'timeout' },
  );
  // Ana, alive and quiet all along, was kept: keepalives run faster than the short idle timeout.
  t.false(ana.json.some((line) => line.type === 'closed'));
});

test('Indonesian text and emoji are relayed intact, over IPv4 and IPv6', async (t) => {
  const text = 'Selamat pagi, apa kabar? 👋🏽🇮🇩 — “kopi” ☕, 日本語, ñ';
  for (const host of ['127.0.0.1', '::1']) {
    const probe = createSocket('udp6');
    const ipv6Usable = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.bind(0, '::1', () => resolve(true));
    });
    probe.close();
    if (host === '::1' && !ipv6Usable) {
      t.log('::1 cannot be bound on this machine; the IPv6 half is skipped');
      continue;
    }
    const { port } = await startServer(t, { host });
    const ana = await startClient(t, { host, port }, 'ana');
    const budi = await startClient(t, { host, port }, 'budi');
    ana.send(text);
    const got = await budi.waitFor('the text', (line) => line.type === 'message');
    t.is(got.text, text, `over ${host}`);
  }
});

test('JSON input is never dropped however fast it comes, and end of input leaves after the last confirmation', async (t) => {
  const { port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  const count = 400;
  ana.child.stdin.write(Array.from({ length: count }, (_, index) => `pesan ${index}`).join('\n'));
  ana.endInput();
  t.is(await ana.exitCode(), 0);
  const confirmed = ana.json.filter((line) => line.type === 'message' && line.self === true);
  t.is(confirmed.length, count);
  await budi.waitFor('the last one', isMessage('ana', `pesan ${count - 1}`));
  const received = budi.json.filter((line) => line.type === 'message').map((line) => line.text);
  t.deepEqual(
    received,
    Array.from({ length: count }, (_, index) => `pesan ${index}`),
  );
});

test('usage errors exit 2 and say what was wrong', async (t) => {
  const cases: [string[], RegExp][] = [
    [['client'], /expected <host> <server-port>/],
    [['client', '127.0.0.1', 'delapan'], /delapan/],
    [['server', '-p', '70000'], /70000/],
    [['client', '127.0.0.1', '8080', '--json', '-u', 'ana'], /--password/],
    [['client', '127.0.0.1', '8080', '-u', 'nama dengan spasi', '--password', 'x'], /nama dengan spasi/],
    [['terbang'], /unknown command "terbang"/],
  ];
  for (const [args, message] of cases) {
    const run = new GaschatProcess(args, { GASCHAT_PASSWORD: '' });
    t.is(await run.exitCode(), 2, args.join(' '));
    t.regex(run.stderr.join(''), message, args.join(' '));
  }
});

test('a port in use is a clear runtime error naming it, exit code 1', async (t) => {
  const { port } = await startServer(t);
  const second = new GaschatProcess(['server', '127.0.0.1', '-p', String(port), '--password', PASSWORD]);
  t.is(await second.exitCode(), 1);
  t.regex(second.stderr.join(''), new RegExp(`${port}.*in use`));
});

test('an unreachable server is reported and the client exits 3', async (t) => {
  // A port held by a socket that never answers: nobody else can take it while the test runs.
  const socket = createSocket('udp4');
  const port = await new Promise<number>((resolve) =>
    socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)),
  );
  t.teardown(() => socket.close());
  const client = await startClient(t, { host: '127.0.0.1', port }, 'ana', { expectWelcome: false });
  t.is(await client.exitCode(), 3);
  t.like(client.json.at(-1), { type: 'closed', reason: 'unreachable' });
});

test('bad datagrams at a running server are counted and dropped, and it keeps serving its clients', async (t) => {
  const { server, port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  // A member of our own, in process, so that we hold one of its real session datagrams.
  const endpoint = await openUdp({ host: '127.0.0.1', port: 0 });
  t.teardown(() => endpoint.close());
  const sent: Uint8Array[] = [];
  const env = realEnvironment({
    send: (datagram, to) => {
      sent.push(datagram);
      endpoint.port.send(datagram, to);
    },
  });
  const citra = createClient({ name: 'citra', password: PASSWORD, server: { host, port } }, env);
  endpoint.onDatagram((datagram, from) => citra.send({ type: 'datagram.received', datagram, from }));
  const welcomed = new Promise((resolve) => citra.on('welcome', resolve));
  citra.start();
  await welcomed;
  t.teardown(() => citra.stop());
  const confirmed = new Promise((resolve) => citra.on('message', resolve));
  citra.send({ type: 'chat.say', text: 'citra di sini' });
  await confirmed;
  const hello = sent[0];
  const sessionDatagram = sent.find((datagram) => {
    const decoded = decodePacket(datagram);
    return decoded.ok && decoded.packet.type === 'session';
  });
  t.truthy(hello);
  t.truthy(sessionDatagram);

  const attacker = await openUdp({ host: '127.0.0.1', port: 0 });
  t.teardown(() => attacker.close());
  const target = { host, port };
  for (let index = 0; index < 20; index += 1) {
    attacker.port.send(randomBytes(1 + index * 37), target);
  }
  attacker.port.send(new Uint8Array(), target);
  attacker.port.send((hello ?? new Uint8Array()).subarray(0, 20), target);
  attacker.port.send((sessionDatagram ?? new Uint8Array()).subarray(0, 5), target);
  // Citra's own datagram, replayed from another address.
  attacker.port.send(sessionDatagram ?? new Uint8Array(), target);

  await server.waitFor(
    'the replay refused',
    (line) => line.type === 'datagram.dropped' && line.reason === 'wrong-address',
  );
  // A flood is not one log line per datagram: the first few of a reason in an interval, then a sum.
  const shownMalformed = server.json.filter(
    (line) => line.type === 'datagram.dropped' && line.reason === 'malformed',
  );
  t.is(shownMalformed.length, DROPS_SHOWN_PER_INTERVAL, JSON.stringify(shownMalformed));

  ana.send('masih jalan?');
  await budi.waitFor('relay after the attack', isMessage('ana', 'masih jalan?'));
  t.like(
    server.json.findLast((line) => line.type === 'message.relayed'),
    { recipientCount: 3 },
  );
  // Stopping ends the interval: the rest of the malformed datagrams are summed, with their addresses.
  server.kill('SIGTERM');
  const summary = await server.waitFor(
    'the summary of the flood',
    (line) => line.type === 'drops.summary' && line.reason === 'malformed',
  );
  t.true(Number(summary.count) + shownMalformed.length >= 22, JSON.stringify(summary));
  t.is(summary.addresses, 1);
  t.is(await server.exitCode(), 0);
});

test('a JSON client whose server dies closes and exits 3, even while its input stays open', async (t) => {
  const { server, port, host } = await startServer(t);
  const client = new GaschatProcess([
    'client',
    host,
    String(port),
    '--json',
    '-u',
    'ana',
    '--password',
    PASSWORD,
    '--idle-timeout-ms',
    '1500',
  ]);
  t.teardown(() => client.kill('SIGKILL'));
  await client.waitFor('welcome', (line) => line.type === 'welcome');
  server.kill('SIGKILL');
  t.is(await client.exitCode(), 3);
  t.like(client.json.at(-1), { type: 'closed', reason: 'timeout' });
});

test('SIGTERM makes a JSON client leave with QUIT; blank lines are refused and "QUIT " with spaces leaves', async (t) => {
  const { port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  budi.kill('SIGTERM');
  t.is(await budi.exitCode(), 0);
  await ana.waitFor(
    'budi left by QUIT',
    (line) => line.type === 'left' && line.name === 'budi' && line.reason === 'quit',
  );
  ana.send('   ');
  await ana.waitFor('the blank line refused', (line) => line.type === 'error' && line.code === 'text-empty');
  ana.send(' QUIT ');
  t.is(await ana.exitCode(), 0);
  t.false(
    ana.json.some((line) => line.type === 'message'),
    'nothing blank or QUIT-like was sent',
  );
});

test('options of another command, unknown or repeated options, and odd values are usage errors', async (t) => {
  const cases: [string[], RegExp][] = [
    [['client', '127.0.0.1', '8080', '-p', '9000'], /--port is an option of gaschat server/],
    [['server', '-u', 'ana'], /--username is an option of gaschat client/],
    [['server', '--terbang'], /unknown option "--terbang"/],
    [['server', '-p', '8080', '-p', '8081'], /--port can only be set once/],
    [['server', '--password', ''], /--password is empty/],
    [['server', '--idle-timeout-ms', '1e3'], /--idle-timeout-ms is "1e3"/],
    [['server', '--room-say-burst', '600'], /--room-say-burst is "600"; give a whole number from 1 to 512/],
    [['client', '127.0.0.1:8080', '8080', '-u', 'ana'], /port glued on/],
    [['client', '', '8080', '-u', 'ana'], /the host is empty/],
  ];
  for (const [args, message] of cases) {
    const run = new GaschatProcess(args, { GASCHAT_PASSWORD: '' });
    t.is(await run.exitCode(), 2, args.join(' '));
    t.regex(run.stderr.join(''), message, args.join(' '));
  }
});

test("the server prints its limits at start, the room's share among them, as its options set them", async (t) => {
  const server = new GaschatProcess([
    'server',
    '127.0.0.1',
    '-p',
    '0',
    '--password',
    PASSWORD,
    '--say-rate',
    '7',
    '--room-say-rate',
    '50',
    '--room-say-burst',
    '100',
  ]);
  t.teardown(() => server.kill('SIGKILL'));
  const limits = await server.waitForText('limits:');
  t.regex(limits, /7 messages a second per member \(40 at once\) and 50 for the whole room \(100 at once\)/);
});

test('a restarted server keeps its identity, and its RESET tells a client at once to join again', async (t) => {
  const first = await startServer(t);
  const key = first.server.json.find((line) => line.type === 'listening')?.serverKey;
  t.regex(String(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  const client = await startClient(t, first, 'ana');
  first.server.kill('SIGKILL');
  await first.server.exited;
  // Said while no server runs: unconfirmed for certain when the RESET comes, so it must be resent.
  client.send('halo');
  // The same port and state directory: the same server to its clients, without their sessions.
  const again = new GaschatProcess([
    'server',
    first.host,
    '-p',
    String(first.port),
    '--json',
    '--password',
    PASSWORD,
  ]);
  t.teardown(() => again.kill('SIGKILL'));
  const listening = await again.waitFor('listening again', (line) => line.type === 'listening');
  t.is(listening.serverKey, key);
  // The retransmitted SAY names a session the new process does not hold; the RESET proves it (the
  // token comes from the identity), well before the 30 s idle timeout would have.
  const reconnecting = await client.waitFor('reconnecting', (line) => line.type === 'reconnecting');
  t.like(reconnecting, { unconfirmed: 1, lines: [1] });
  t.regex(String(reconnecting.message), /restarted/);
  const rejoined = await client.waitFor('rejoined', (line) => line.type === 'rejoined');
  t.like(rejoined, { name: 'ana', members: ['ana'], serverKey: key, resent: 1, lines: [1] });
  const own = await client.waitFor('halo confirmed', isMessage('ana', 'halo'));
  t.like(own, { self: true, line: 1 });
  const order = [
    (line: JsonLine) => line.type === 'reconnecting',
    (line: JsonLine) => line.type === 'rejoined',
    isMessage('ana', 'halo'),
  ].map((match) => client.json.findIndex(match));
  const [reconnectingAt = -1, rejoinedAt = -1, haloAt = -1] = order;
  t.true(reconnectingAt < rejoinedAt && rejoinedAt < haloAt, `reconnecting, rejoined, then halo: ${order}`);
  t.false(client.json.some((line) => line.type === 'closed'));
  t.is(client.child.exitCode, null);
  // The server's log comes through another pipe than the client's output: waited for, not assumed.
  await again.waitFor(
    'the unknown session dropped',
    (line) => line.type === 'datagram.dropped' && line.reason === 'unknown-session',
  );
  await again.waitFor('ana joined again', (line) => line.type === 'member.joined' && line.name === 'ana');
});

test('a client remembers the key of a server it joined, refuses one whose key changed, and --server-key pins one', async (t) => {
  const clientState = mkdtempSync(join(tmpdir(), 'gaschat-client-state-'));
  const first = await startServer(t);
  const key = String(first.server.json.find((line) => line.type === 'listening')?.serverKey);
  const env = { GASCHAT_STATE_DIR: clientState };
  const ana = await startClient(t, first, 'ana', { env });
  t.is(ana.json.find((line) => line.type === 'welcome')?.serverKey, key);
  ana.send('QUIT');
  t.is(await ana.exitCode(), 0);
  const known = JSON.parse(readFileSync(join(clientState, 'known-servers.json'), 'utf8')) as Record<
    string,
    string
  >;
  t.deepEqual(known, { [`${first.host}:${first.port}`]: key });
  // The same address, another identity (another state directory): another server, or a new key.
  first.server.kill('SIGKILL');
  await first.server.exited;
  const impostor = new GaschatProcess(
    ['server', first.host, '-p', String(first.port), '--json', '--password', PASSWORD],
    { GASCHAT_STATE_DIR: mkdtempSync(join(tmpdir(), 'gaschat-other-server-')) },
  );
  t.teardown(() => impostor.kill('SIGKILL'));
  const listening = await impostor.waitFor('listening', (line) => line.type === 'listening');
  t.not(listening.serverKey, key);
  const refused = await startClient(t, first, 'ana', { env, expectWelcome: false });
  const rejected = await refused.waitFor('refused for the key', (line) => line.type === 'rejected');
  t.like(rejected, { reason: 'server-key' });
  t.true(String(rejected.message).includes(key) && String(rejected.message).includes('known-servers.json'));
  t.is(await refused.exitCode(), 3);
  t.false(
    impostor.json.some((line) => line.type === 'member.joined'),
    'no key exchange ran with it',
  );
  // Pinned up front: the new key is refused as well, and the right one lets the client in.
  const pinned = await startClient(t, first, 'budi', {
    env: { GASCHAT_STATE_DIR: mkdtempSync(join(tmpdir(), 'gaschat-pinned-')) },
    extra: ['--server-key', key],
    expectWelcome: false,
  });
  t.like(await pinned.waitFor('refused', (line) => line.type === 'rejected'), { reason: 'server-key' });
  const trusting = await startClient(t, first, 'budi', {
    env: { GASCHAT_STATE_DIR: mkdtempSync(join(tmpdir(), 'gaschat-pinned-')) },
    extra: ['--server-key', String(listening.serverKey)],
  });
  t.truthy(trusting.json.find((line) => line.type === 'welcome'));
});
