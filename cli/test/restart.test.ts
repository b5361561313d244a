import { createSocket, type Socket } from 'node:dgram';
import test, { type ExecutionContext } from 'ava';
import { GaschatProcess, type JsonLine, PASSWORD, startClient, startServer } from './processes.ts';

const isMessage = (from: string, text: string) => (line: JsonLine) =>
  line.type === 'message' && line.from === from && line.text === text;
const isType = (type: string) => (line: JsonLine) => line.type === type;
const isOwnLine = (lineNumber: number) => (line: JsonLine) =>
  line.type === 'message' && line.self === true && line.line === lineNumber;

/** Kills a server outright (no SHUTDOWN to its clients) and waits until its port is free. */
async function crash(server: GaschatProcess): Promise<void> {
  server.kill('SIGKILL');
  await server.exited;
}

/**
 * Starts a server again on the port of one that died: the same state directory (the helpers' default),
 * so the same identity key, and none of the old sessions.
 */
async function restart(
  t: ExecutionContext,
  where: { readonly host: string; readonly port: number },
  password = PASSWORD,
): Promise<{ server: GaschatProcess; serverKey: unknown }> {
  const server = new GaschatProcess([
    'server',
    where.host,
    '-p',
    String(where.port),
    '--json',
    '--password',
    password,
  ]);
  t.teardown(() => server.kill('SIGKILL'));
  const listening = await server.waitFor('listening again', isType('listening'));
  return { server, serverKey: listening.serverKey };
}

/**
 * A UDP relay on 127.0.0.1 between one client and the server, whose server-to-client direction can be
 * shut: the only way, with real processes, to have the server relay a text without its author ever
 * seeing the confirmation.
 */
async function openGate(
  t: ExecutionContext,
  server: { readonly host: string; readonly port: number },
): Promise<{ readonly port: number; shut: boolean }> {
  const bound = (socket: Socket) =>
    new Promise<number>((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  t.teardown(() => {
    front.close();
    back.close();
  });
  const gate = { port: await bound(front), shut: false };
  await bound(back);
  let client: { readonly address: string; readonly port: number } | undefined;
  front.on('message', (datagram, from) => {
    client = from;
    back.send(datagram, server.port, server.host);
  });
  back.on('message', (datagram) => {
    if (!gate.shut && client !== undefined) {
      front.send(datagram, client.port, client.address);
    }
  });
  return gate;
}

/** What the client printed about input line `lineNumber`: its confirmation and its not-delivered, if any. */
function outcomesOf(client: GaschatProcess, lineNumber: number): JsonLine[] {
  return client.json.filter(
    (line) =>
      line.line === lineNumber &&
      ((line.type === 'message' && line.self === true) ||
        (line.type === 'error' && line.code === 'not-delivered')),
  );
}

/**
 * The contract for every input line of a run: exactly one outcome, a confirmation carrying the text of
 * that line or a not-delivered; what each line got, in order.
 */
function checkOneOutcomeEach(
  t: ExecutionContext,
  client: GaschatProcess,
  texts: readonly string[],
): ('confirmed' | 'not-delivered')[] {
  return texts.map((text, index) => {
    const lineNumber = index + 1;
    const outcomes = outcomesOf(client, lineNumber);
    t.is(outcomes.length, 1, `line ${lineNumber} (${text}): ${JSON.stringify(outcomes)}`);
    const [outcome] = outcomes;
    if (outcome?.type === 'message') {
      t.is(outcome.text, text, `the confirmation of line ${lineNumber} is its own text`);
      return 'confirmed';
    }
    return 'not-delivered';
  });
}

/** The reconnecting/rejoined pair a client printed: consistent with each other and with its input. */
async function checkRejoin(
  t: ExecutionContext,
  client: GaschatProcess,
  name: string,
  serverKey: unknown,
): Promise<{ reconnecting: JsonLine; rejoined: JsonLine }> {
  const reconnecting = await client.waitFor(`${name} reconnecting`, isType('reconnecting'));
  const rejoined = await client.waitFor(`${name} rejoined`, isType('rejoined'));
  const lines = reconnecting.lines as number[];
  t.true(Array.isArray(lines), `${name}: ${JSON.stringify(reconnecting)}`);
  t.is(reconnecting.unconfirmed, lines.length, `${name}: ${JSON.stringify(reconnecting)}`);
  t.regex(String(reconnecting.message), /restarted/);
  // What was waiting when the session was lost is what the new session resent: no more, no less.
  t.like(rejoined, { name, serverKey, resent: lines.length, lines });
  t.true((rejoined.members as string[]).includes(name), `${name}: ${JSON.stringify(rejoined)}`);
  t.true(client.json.findIndex(isType('reconnecting')) < client.json.findIndex(isType('rejoined')));
  t.is(client.child.exitCode, null, `${name} rejoined without exiting`);
  t.false(client.json.some(isType('closed')), `${name} did not close`);
  return { reconnecting, rejoined };
}

test('after a server restart two clients rejoin on their own; each line is confirmed once or reported, and chat flows both ways again', async (t) => {
  const first = await startServer(t);
  const key = first.server.json.find(isType('listening'))?.serverKey;
  const ana = await startClient(t, first, 'ana');
  const budi = await startClient(t, first, 'budi');
  await ana.waitFor('budi joined', (line) => line.type === 'joined' && line.name === 'budi');
  // Numbered texts, so that any duplicate at a reader is visible; index + 1 is the input line.
  const anaTexts: string[] = [];
  const budiTexts: string[] = [];
  const anaSays = (text: string) => {
    anaTexts.push(text);
    ana.send(text);
  };
  const budiSays = (text: string) => {
    budiTexts.push(text);
    budi.send(text);
  };

  anaSays('ana 1 sebelum');
  anaSays('ana 2 sebelum');
  budiSays('budi 1 sebelum');
  await ana.waitFor('line 2 confirmed', isOwnLine(2));
  await budi.waitFor('ana 2 at budi', isMessage('ana', 'ana 2 sebelum'));
  await ana.waitFor('budi 1 at ana', isMessage('budi', 'budi 1 sebelum'));

  await crash(first.server);
  // Nobody hears this one: it is still unconfirmed when the new server's RESET comes.
  anaSays('ana 3 selama');
  const again = await restart(t, first);
  t.is(again.serverKey, key);
  // Budi's next packet, like ana's, is answered by a RESET.
  anaSays('ana 4 sesudah');
  budiSays('budi 2 sesudah');

  const anaRejoin = await checkRejoin(t, ana, 'ana', key);
  const budiRejoin = await checkRejoin(t, budi, 'budi', key);
  const anaWaiting = anaRejoin.reconnecting.lines as number[];
  // Lines 1 and 2 were confirmed by the old server and must not be resent; line 3 never was.
  t.true(anaWaiting.includes(3), JSON.stringify(anaRejoin.reconnecting));
  t.false(anaWaiting.includes(1) || anaWaiting.includes(2), JSON.stringify(anaRejoin.reconnecting));
  t.false((budiRejoin.reconnecting.lines as number[]).includes(1), JSON.stringify(budiRejoin.reconnecting));
  await ana.waitFor('line 3 confirmed', isOwnLine(3));
  t.true(
    ana.json.findIndex(isType('rejoined')) < ana.json.findIndex(isOwnLine(3)),
    'line 3 is confirmed by the new server',
  );
  await ana.waitFor('line 4 confirmed', isOwnLine(4));
  await budi.waitFor('budi line 2 confirmed', isOwnLine(2));

  // Both are in the new room now: messages flow both ways.
  anaSays('ana 5 setelah bergabung lagi');
  budiSays('budi 3 setelah bergabung lagi');
  await budi.waitFor('ana 5 at budi', isMessage('ana', 'ana 5 setelah bergabung lagi'));
  await ana.waitFor('budi 3 at ana', isMessage('budi', 'budi 3 setelah bergabung lagi'));

  ana.endInput();
  t.is(await ana.exitCode(), 0);
  await budi.waitFor('ana left', (line) => line.type === 'left' && line.name === 'ana');
  budi.endInput();
  t.is(await budi.exitCode(), 0);

  // The server stayed up after the restart, so every line was confirmed, each exactly once.
  t.deepEqual(
    checkOneOutcomeEach(t, ana, anaTexts),
    anaTexts.map(() => 'confirmed'),
  );
  t.deepEqual(
    checkOneOutcomeEach(t, budi, budiTexts),
    budiTexts.map(() => 'confirmed'),
  );
  t.is(ana.json.filter(isType('reconnecting')).length, 1);
  t.is(budi.json.filter(isType('reconnecting')).length, 1);
  for (const [reader, author, texts] of [
    [budi, 'ana', anaTexts],
    [ana, 'budi', budiTexts],
  ] as const) {
    for (const text of texts) {
      const seen = reader.json.filter(isMessage(author, text)).length;
      t.true(seen <= 1, `"${text}" shown ${seen} times to the other member`);
    }
  }
  // Sent before the crash, or after both rejoined: those have one copy each at the other member.
  for (const text of [anaTexts[0], anaTexts[1], anaTexts[4]]) {
    t.is(budi.json.filter(isMessage('ana', String(text))).length, 1, String(text));
  }
  // The server's log comes through another pipe than the clients' output: waited for, not assumed.
  await again.server.waitFor(
    'an unknown session dropped',
    (line) => line.type === 'datagram.dropped' && line.reason === 'unknown-session',
  );
  for (const name of ['ana', 'budi']) {
    await again.server.waitFor(
      `${name} joined again`,
      (line) => line.type === 'member.joined' && line.name === name,
    );
  }
  t.is(again.server.json.filter(isType('member.joined')).length, 2);
});

test('a text the old server relayed but never confirmed is resent after the rejoin and shown only once', async (t) => {
  const first = await startServer(t);
  const key = first.server.json.find(isType('listening'))?.serverKey;
  const gate = await openGate(t, first);
  const ana = await startClient(t, { host: '127.0.0.1', port: gate.port }, 'ana');
  const budi = await startClient(t, first, 'budi');
  await ana.waitFor('budi joined', (line) => line.type === 'joined' && line.name === 'budi');
  ana.send('ana 1 dikonfirmasi');
  await ana.waitFor('line 1 confirmed', isOwnLine(1));
  // Line 2 reaches the room, but its confirmation never reaches ana before the server dies.
  gate.shut = true;
  ana.send('ana 2 tanpa konfirmasi');
  await budi.waitFor('ana 2 at budi', isMessage('ana', 'ana 2 tanpa konfirmasi'));
  await crash(first.server);
  const again = await restart(t, first);
  // Budi is back in the room first, so the resent line 2 does reach it.
  budi.send('budi 1');
  await checkRejoin(t, budi, 'budi', key);
  gate.shut = false;
  ana.send('ana 3 sesudah');
  const { reconnecting } = await checkRejoin(t, ana, 'ana', key);
  t.true((reconnecting.lines as number[]).includes(2), JSON.stringify(reconnecting));
  t.false((reconnecting.lines as number[]).includes(1), JSON.stringify(reconnecting));
  await ana.waitFor('line 3 confirmed', isOwnLine(3));
  // The new server relays in order, so once line 3 is at budi the resent line 2 has come before it.
  await budi.waitFor('ana 3 at budi', isMessage('ana', 'ana 3 sesudah'));
  // The new server did take line 2 again and relay it to both: budi left the copy out itself.
  const resent = await again.server.waitFor(
    'line 2 taken again',
    (line) => line.type === 'message.received' && line.text === 'ana 2 tanpa konfirmasi',
  );
  const relayed = await again.server.waitFor(
    'line 2 relayed again',
    (line) => line.type === 'message.relayed' && line.roomSeq === resent.roomSeq,
  );
  t.is(relayed.recipientCount, 2);
  t.is(budi.json.filter(isMessage('ana', 'ana 2 tanpa konfirmasi')).length, 1);
  t.is(budi.json.filter(isMessage('ana', 'ana 1 dikonfirmasi')).length, 1);
  ana.endInput();
  t.is(await ana.exitCode(), 0);
  t.deepEqual(
    checkOneOutcomeEach(t, ana, ['ana 1 dikonfirmasi', 'ana 2 tanpa konfirmasi', 'ana 3 sesudah']),
    ['confirmed', 'confirmed', 'confirmed'],
  );
});

test('a server that never comes back: the lines it did not confirm are reported as not delivered, exit 3', async (t) => {
  const { server, port, host } = await startServer(t);
  // A short idle timeout: the server is gone for good, only the close is awaited.
  const ana = await startClient(t, { host, port }, 'ana', { extra: ['--idle-timeout-ms', '5000'] });
  const texts = ['satu', 'dua', 'tiga'];
  ana.send(texts[0] ?? '');
  await ana.waitFor('line 1 confirmed', isOwnLine(1));
  await crash(server);
  ana.send(texts[1] ?? '');
  ana.send(texts[2] ?? '');
  t.is(await ana.exitCode(), 3);
  t.deepEqual(checkOneOutcomeEach(t, ana, texts), ['confirmed', 'not-delivered', 'not-delivered']);
  const notSent = ana.json.find((line) => line.type === 'error' && line.code === 'not-sent');
  t.regex(String(notSent?.message), /^2 messages were not confirmed/);
  // Nothing answered, so there was no RESET and no rejoin: the link timed out.
  t.false(ana.json.some(isType('reconnecting')));
  t.like(ana.json.at(-1), { type: 'closed', reason: 'timeout' });
});

test('a restarted server that refuses the rejoin: the client closes, reports the line it resent, exit 3', async (t) => {
  const first = await startServer(t);
  const ana = await startClient(t, first, 'ana');
  ana.send('satu');
  await ana.waitFor('line 1 confirmed', isOwnLine(1));
  await crash(first.server);
  ana.send('dua');
  // The same identity (its RESET is believed) but another password: the new handshake cannot succeed.
  const again = await restart(t, first, `${PASSWORD}-baru`);
  const reconnecting = await ana.waitFor('reconnecting', isType('reconnecting'));
  t.like(reconnecting, { unconfirmed: 1, lines: [2] });
  t.is(await ana.exitCode(), 3);
  t.false(ana.json.some(isType('rejoined')));
  t.like(ana.json.find(isType('rejected')), { reason: 'bad-password' });
  t.deepEqual(checkOneOutcomeEach(t, ana, ['satu', 'dua']), ['confirmed', 'not-delivered']);
  t.like(ana.json.at(-1), { type: 'closed', reason: 'rejected' });
  t.false(again.server.json.some(isType('member.joined')));
});
