import test from 'ava';
import {
  createServer,
  decodePacket,
  encodePacket,
  type PeerAddress,
  SERVER_CONFIG_DEFAULT,
  type ServerEvent,
} from '../../engine/index.ts';
import { checkAccept, clientJoin, packetOf, TestPeer } from '../../engine/test/handshake-peer.ts';
import { createRandom } from './random.ts';
import { SealedBook, simCrypto } from './sim-crypto.ts';
import { VirtualClock } from './virtual-clock.ts';

const PASSWORD = 'rahasia';
const CLIENT: PeerAddress = { host: '10.0.0.2', port: 5000 };
const FIRST_CONTACT_MS = SERVER_CONFIG_DEFAULT.firstContactTimeoutMs;

/**
 * A server on a virtual clock (the stand-in key exchange and signature, real sealing), and a
 * hand-driven client (ana) that has done the handshake: HELLO, JOIN with its key exchange share (v2:
 * no name, no proof), ACCEPT checked. Its session is open; it has said nothing on it yet.
 */
function serverWithSession(seed: number) {
  const clock = new VirtualClock();
  const random = createRandom(seed);
  const crypto = simCrypto(new SealedBook());
  const replies: Uint8Array[] = [];
  const events: { t: number; event: ServerEvent }[] = [];
  const server = createServer(
    { password: PASSWORD },
    {
      port: { send: (datagram) => replies.push(datagram) },
      clock,
      now: () => clock.now(),
      random: (count) => random.bytes(count),
      afterTurn: clock.afterStep,
      crypto,
    },
  );
  server.on('*', (event) => events.push({ t: clock.now(), event }));
  server.start();
  const arrive = (datagram: Uint8Array) => server.send({ type: 'datagram.received', datagram, from: CLIENT });
  const clientNonce = new Uint8Array(16).fill(7);
  arrive(encodePacket({ type: 'hello', clientNonce }));
  const challenge = packetOf(replies.at(-1) ?? new Uint8Array());
  if (challenge.type !== 'challenge') {
    throw new Error('no challenge');
  }
  const exchange = clientJoin(crypto, PASSWORD, challenge, (count) => random.bytes(count));
  arrive(exchange.datagram);
  const accept = packetOf(replies.at(-1) ?? new Uint8Array());
  if (accept.type !== 'accept') {
    throw new Error('no accept');
  }
  const check = checkAccept(crypto, exchange, accept);
  if (!check.ok) {
    throw new Error(`the ACCEPT did not verify: ${check.failed}`);
  }
  const peer = new TestPeer(crypto, check.isk, accept.sessionId, SERVER_CONFIG_DEFAULT.link, clock.now());
  /** The client sends what its link has ready (after queuing `bodies`). */
  const speak = (...bodies: Parameters<TestPeer['send']>[1][]) => {
    for (const datagram of peer.send(clock.now(), ...bodies)) {
      arrive(datagram);
    }
  };
  return { clock, server, replies, events, sessionId: accept.sessionId, peer, speak, arrive };
}

/** The types of the server events of a run, with when they happened. */
function eventsOf(events: readonly { t: number; event: ServerEvent }[], type: ServerEvent['type']) {
  return events.filter(({ event }) => event.type === type);
}

test('a session never spoken on after its ACCEPT ends at the first-contact timeout, never having been a member (v2: the session opens at the ACCEPT, the member at the CLAIM)', (t) => {
  const { clock, server, events, sessionId } = serverWithSession(1);
  t.like(eventsOf(events, 'session.opened')[0], { t: 0, event: { type: 'session.opened', sessionId } });
  clock.runUntil(FIRST_CONTACT_MS + 2000, 100_000);
  server.stop();
  const ended = eventsOf(events, 'session.ended');
  t.is(ended.length, 1);
  t.like(ended[0], { t: FIRST_CONTACT_MS, event: { type: 'session.ended', sessionId } });
  t.like(ended[0]?.event, { stats: { datagramsReceived: 0 } });
  t.deepEqual(eventsOf(events, 'member.joined'), [], 'it never claimed a name');
  t.deepEqual(eventsOf(events, 'member.left'), [], 'so nobody is announced as left');
  t.true(FIRST_CONTACT_MS < SERVER_CONFIG_DEFAULT.link.idleTimeoutMs);
});

test('a session sent only forged packets (from its client’s address) still ends at the first-contact timeout: what does not verify is no sign of life', (t) => {
  const { clock, server, events, sessionId, arrive } = serverWithSession(3);
  // A SESSION packet for the session's id, its sealed part made up.
  const forged = new Uint8Array(60);
  forged.set([2, 0x06]);
  forged.set(
    Uint8Array.from(sessionId.match(/../g) ?? [], (hex) => Number.parseInt(hex, 16)),
    2,
  );
  for (const atMs of [1000, 5000, 12_000]) {
    clock.setTimeout(() => arrive(forged), atMs);
  }
  clock.runUntil(FIRST_CONTACT_MS + 2000, 100_000);
  server.stop();
  t.is(
    eventsOf(events, 'datagram.dropped').filter(
      ({ event }) => 'reason' in event && event.reason === 'unauthentic',
    ).length,
    3,
  );
  t.like(eventsOf(events, 'session.ended')[0], { t: FIRST_CONTACT_MS, event: { sessionId } });
});

test('a member, its CLAIM heard once, is kept past the first-contact timeout', (t) => {
  const { clock, server, events, speak } = serverWithSession(1);
  // A client that got its ACCEPT claims its name; after that, the idle timeout governs.
  clock.setTimeout(() => speak({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) }), 1000);
  clock.runUntil(FIRST_CONTACT_MS + 2000, 100_000);
  server.stop();
  t.like(eventsOf(events, 'member.joined')[0], { t: 1000, event: { name: 'ana' } });
  t.deepEqual(eventsOf(events, 'member.left'), []);
  t.deepEqual(eventsOf(events, 'session.ended'), []);
});

test('a stopping server sends SHUTDOWN to a member that never answers, and stops after shutdownTimeoutMs with 0 confirmed', (t) => {
  const { clock, server, replies, events, speak, peer } = serverWithSession(2);
  speak({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) });
  t.is(eventsOf(events, 'member.joined').length, 1);
  clock.runUntil(100, 10_000);
  const sentBefore = replies.length;
  server.send({ type: 'server.shutdown' });
  // A newcomer during the shutdown is not answered.
  server.send({
    type: 'datagram.received',
    datagram: encodePacket({ type: 'hello', clientNonce: new Uint8Array(16).fill(3) }),
    from: { host: '10.0.0.9', port: 6000 },
  });
  clock.runUntil(10_000, 100_000);
  // The member reads what it is sent (with its keys) but never answers.
  const shutdownFrames = replies.slice(sentBefore).flatMap((datagram) => {
    const decoded = decodePacket(datagram);
    if (!decoded.ok || decoded.packet.type !== 'session') {
      return [];
    }
    const opened = peer.protection.open(decoded.packet);
    return opened.ok ? opened.packet.frames.filter((frame) => frame.type === 'shutdown') : [];
  });
  t.true(shutdownFrames.length >= 2, `the notice was sent and retransmitted: ${shutdownFrames.length}`);
  t.like(events.find(({ event }) => event.type === 'datagram.dropped')?.event, {
    type: 'datagram.dropped',
    reason: 'shutting-down',
  });
  const stopped = events.find(({ event }) => event.type === 'server.stopped');
  t.like(stopped?.event, { type: 'server.stopped', memberCount: 1, confirmedCount: 0 });
  t.is(stopped?.t, 100 + SERVER_CONFIG_DEFAULT.shutdownTimeoutMs);
  t.is(server.getSnapshot().status, 'done');
});
