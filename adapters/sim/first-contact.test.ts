import test from 'ava';
import { deriveRoomKey, makeJoinProof } from '../../engine/crypto.ts';
import {
  createServer,
  decodePacket,
  encodePacket,
  type PeerAddress,
  SERVER_CONFIG_DEFAULT,
  type ServerEvent,
} from '../../engine/index.ts';
import { createRandom } from './random.ts';
import { VirtualClock } from './virtual-clock.ts';

const PASSWORD = 'rahasia';
const KEY_ITERATIONS = 1000;
const CLIENT: PeerAddress = { host: '10.0.0.2', port: 5000 };

/** A server on a virtual clock, and a hand-driven client (ana) that has joined it and says nothing. */
function serverWithMember(seed: number) {
  const clock = new VirtualClock();
  const random = createRandom(seed);
  const replies: Uint8Array[] = [];
  const events: { t: number; event: ServerEvent }[] = [];
  const server = createServer(
    { password: PASSWORD, keyIterations: KEY_ITERATIONS },
    {
      port: { send: (datagram) => replies.push(datagram) },
      clock,
      now: () => clock.now(),
      random: (count) => random.bytes(count),
      afterTurn: clock.afterStep,
    },
  );
  server.on('*', (event) => events.push({ t: clock.now(), event }));
  server.start();
  const clientNonce = new Uint8Array(16).fill(7);
  server.send({
    type: 'datagram.received',
    datagram: encodePacket({ type: 'hello', clientNonce }),
    from: CLIENT,
  });
  const challenge = decodePacket(replies.at(-1) ?? new Uint8Array());
  if (!challenge.ok || challenge.packet.type !== 'challenge') {
    throw new Error('no challenge');
  }
  const proof = makeJoinProof(
    deriveRoomKey(PASSWORD, KEY_ITERATIONS),
    clientNonce,
    challenge.packet.cookie,
    'ana',
  );
  server.send({
    type: 'datagram.received',
    datagram: encodePacket({ ...challenge.packet, type: 'join', proof, name: 'ana' }),
    from: CLIENT,
  });
  const accept = decodePacket(
    replies.find((datagram) => decodePacket(datagram).ok && datagram[1] === 0x04) ?? new Uint8Array(),
  );
  if (!accept.ok || accept.packet.type !== 'accept') {
    throw new Error('no accept');
  }
  return { clock, server, replies, events, sessionId: accept.packet.sessionId };
}

/** The member, joined, says nothing at all after its ACCEPT (or pings once, at `pingAtMs`). */
function joinedThenSilent(pingAtMs: number | undefined) {
  const { clock, server, events, sessionId } = serverWithMember(1);
  if (pingAtMs !== undefined) {
    // A client that got its ACCEPT answers at least once; after that, the idle timeout governs.
    clock.setTimeout(() => {
      const ping = encodePacket({ type: 'session', sessionId, packetNumber: 0, frames: [{ type: 'ping' }] });
      server.send({ type: 'datagram.received', datagram: ping, from: CLIENT });
    }, pingAtMs);
  }
  clock.runUntil(SERVER_CONFIG_DEFAULT.firstContactTimeoutMs + 2000, 100_000);
  server.stop();
  return events.filter(({ event }) => event.type === 'member.left');
}

test('a member never heard from after its ACCEPT is announced as left (timeout) at the first-contact timeout', (t) => {
  const left = joinedThenSilent(undefined);
  t.is(left.length, 1);
  t.like(left[0]?.event, { type: 'member.left', name: 'ana', reason: 'timeout', cause: 'never-heard-from' });
  t.is(left[0]?.t, SERVER_CONFIG_DEFAULT.firstContactTimeoutMs);
  t.true(SERVER_CONFIG_DEFAULT.firstContactTimeoutMs < SERVER_CONFIG_DEFAULT.link.idleTimeoutMs);
});

test('a member heard from once is kept past the first-contact timeout', (t) => {
  t.deepEqual(joinedThenSilent(1000), []);
});

test('a stopping server sends SHUTDOWN to a member that never answers, and stops after shutdownTimeoutMs with 0 confirmed', (t) => {
  const { clock, server, replies, events } = serverWithMember(2);
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
  const shutdownFrames = replies.slice(sentBefore).flatMap((datagram) => {
    const decoded = decodePacket(datagram);
    return decoded.ok && decoded.packet.type === 'session'
      ? decoded.packet.frames.filter((frame) => frame.type === 'shutdown')
      : [];
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
