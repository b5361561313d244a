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

/** A server on a virtual clock, and a hand-driven client that joins and then says nothing (or pings). */
function joinedThenSilent(pingAtMs: number | undefined) {
  const clock = new VirtualClock();
  const random = createRandom(1);
  const replies: Uint8Array[] = [];
  const events: { t: number; event: ServerEvent }[] = [];
  const server = createServer(
    { password: PASSWORD, keyIterations: KEY_ITERATIONS },
    {
      port: { send: (datagram) => replies.push(datagram) },
      clock,
      now: () => clock.now(),
      random: (count) => random.bytes(count),
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
  const sessionId = accept.packet.sessionId;
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
