import test from 'ava';
import { type JsonLine, startClient, startServer } from './processes.ts';

/**
 * The limits of a real server process, as its users meet them: each refusal says why and when to come
 * back, and the client waits and tries again by itself.
 */

const isWaiting = (reason: string) => (line: JsonLine) => line.type === 'waiting' && line.reason === reason;

test('logins from one address that never prove the password are throttled: a client is told to wait, why and how long, and the log sums it', async (t) => {
  const { server, port, host } = await startServer(t);
  // Six at once from one address, each a key exchange that never proves the password: past the
  // server's burst of five, the address is made to wait.
  const guessers = await Promise.all(
    Array.from({ length: 6 }, (_, index) =>
      startClient(t, { host, port }, `tebak${index}`, { password: 'salah', expectWelcome: false }),
    ),
  );
  const codes = await Promise.all(guessers.map((guesser) => guesser.exitCode()));
  t.deepEqual(codes, [3, 3, 3, 3, 3, 3]);
  const waits = guessers.flatMap((guesser) => guesser.json.filter(isWaiting('throttled')));
  t.true(waits.length > 0, 'at least one was told to wait');
  for (const wait of waits) {
    // What is left of the address's backoff: 1 s for the first past the burst, doubling, at most 60 s.
    t.true(Number(wait.retryAfterMs) > 0 && Number(wait.retryAfterMs) <= 60_000, JSON.stringify(wait));
    t.regex(String(wait.message), /slowing logins from this address.*trying again in \d+(\.\d)? s/);
  }
  for (const guesser of guessers) {
    t.like(
      guesser.json.find((line) => line.type === 'rejected'),
      { reason: 'bad-password' },
    );
  }
  await server.waitFor('the throttled JOIN in the log', (line) => {
    return line.type === 'datagram.dropped' && line.reason === 'throttled';
  });
});

test('an address holding --sessions-per-host sessions: the next client is told to wait (host-quota), and gets in once a session ends', async (t) => {
  const { server, port, host } = await startServer(t, { extra: ['--sessions-per-host', '1'] });
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi', { expectWelcome: false });
  const wait = await budi.waitFor('budi told to wait', isWaiting('host-quota'));
  t.regex(String(wait.message), /as many sessions from this address.*--sessions-per-host/);
  ana.send('QUIT');
  t.is(await ana.exitCode(), 0);
  await server.waitFor("ana's session ended", (line) => line.type === 'session.ended');
  await budi.waitFor('budi in, after the wait', (line) => line.type === 'welcome');
  t.like(
    server.json.find((line) => line.type === 'datagram.dropped' && line.reason === 'host-quota'),
    { reason: 'host-quota' },
  );
});

test('a member sending faster than its share is told (slowed) and every line of it arrives, in order; another member is not held up behind it', async (t) => {
  const { server, port, host } = await startServer(t, { extra: ['--say-rate', '2', '--say-burst', '2'] });
  const ana = await startClient(t, { host, port }, 'ana');
  const budi = await startClient(t, { host, port }, 'budi');
  const count = 20;
  ana.child.stdin.write(`${Array.from({ length: count }, (_, index) => `baris ${index}`).join('\n')}\n`);
  const slowed = await ana.waitFor('ana told she is paced', (line) => line.type === 'slowed');
  t.like(slowed, { ratePerSecond: 2, burst: 2 });
  await server.waitFor('the log says so', (line) => line.type === 'member.paced' && line.name === 'ana');
  // Budi speaks while ana's lines wait their turn: his goes at once, ahead of most of hers.
  budi.send('saya juga');
  const budiLine = await budi.waitFor(
    "budi's confirmation",
    (line) => line.type === 'message' && line.self === true,
  );
  const last = await budi.waitFor(
    "ana's last line",
    (line) => line.type === 'message' && line.text === `baris ${count - 1}`,
  );
  t.true(Number(budiLine.seq) < Number(last.seq), `budi #${budiLine.seq}, ana's last #${last.seq}`);
  const fromAna = budi.json
    .filter((line) => line.type === 'message' && line.from === 'ana')
    .map((line) => line.text);
  t.deepEqual(
    fromAna,
    Array.from({ length: count }, (_, index) => `baris ${index}`),
  );
  t.false(
    server.json.some((line) => line.type === 'member.left'),
    'nobody removed',
  );
});
