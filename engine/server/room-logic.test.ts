import test from 'ava';
import { decodePacket, encodePacket } from '../codec/codec.ts';
import type { AcceptPacket, ChallengePacket, Packet } from '../codec/frames.ts';
import { SERVER_CONFIG_DEFAULT } from '../config.ts';
import { deriveRoomKey, macEqual, makeAcceptProof, makeJoinProof } from '../crypto.ts';
import type { LinkStats } from '../link/link.ts';
import type { Environment, PeerAddress } from '../port.ts';
import { createRoomState, onDatagram, onLeave, type RoomEffect, type RoomState } from './room-logic.ts';

const ROOM_KEY = deriveRoomKey('rahasia', 1000);
const WRONG_KEY = deriveRoomKey('bukan', 1000);
const ANA: PeerAddress = { host: '10.0.0.2', port: 5000 };
const BUDI: PeerAddress = { host: '10.0.0.3', port: 5001 };

/** A room on a clock the test sets, with random bytes that are all different and all predictable. */
function room(): { state: RoomState; setNow(ms: number): void } {
  let nowMs = 0;
  let counter = 0;
  const env: Environment = {
    port: { send: () => undefined },
    clock: { setTimeout: () => 0, clearTimeout: () => undefined },
    now: () => nowMs,
    random: (count) =>
      Uint8Array.from({ length: count }, () => {
        counter += 1;
        return counter & 0xff;
      }),
  };
  return {
    state: createRoomState(SERVER_CONFIG_DEFAULT, ROOM_KEY, env),
    setNow: (ms) => {
      nowMs = ms;
    },
  };
}

function sent(effects: readonly RoomEffect[]): Packet[] {
  return effects.flatMap((effect) => {
    if (effect.kind !== 'send') {
      return [];
    }
    const decoded = decodePacket(effect.datagram);
    return decoded.ok ? [decoded.packet] : [];
  });
}

function nonce(byte: number): Uint8Array {
  return new Uint8Array(16).fill(byte);
}

function hello(state: RoomState, clientNonce: Uint8Array, from: PeerAddress) {
  const datagram = encodePacket({ type: 'hello', clientNonce });
  const step = onDatagram(state, datagram, from);
  const [challenge] = sent(step.effects);
  if (challenge?.type !== 'challenge') {
    throw new Error(`expected a challenge, got ${JSON.stringify(challenge)}`);
  }
  return { step, challenge, helloSize: datagram.length };
}

function join(challenge: ChallengePacket, name: string, roomKey = ROOM_KEY): Uint8Array {
  const proof = makeJoinProof(roomKey, challenge.clientNonce, challenge.cookie, name);
  return encodePacket({ ...challenge, type: 'join', proof, name });
}

function acceptOf(effects: readonly RoomEffect[]): AcceptPacket {
  const accept = sent(effects).find((packet) => packet.type === 'accept');
  if (accept?.type !== 'accept') {
    throw new Error('expected an accept');
  }
  return accept;
}

test('a HELLO gets a challenge no larger than itself, and the server keeps nothing for it', (t) => {
  const { state } = room();
  const { step, challenge, helloSize } = hello(state, nonce(1), ANA);
  t.true(encodePacket(challenge).length <= helloSize);
  t.is(step.state.sessions.size, 0);
  t.is(step.state.recentJoins.size, 0);
});

test('a JOIN with the cookie and the right proof opens a session and proves the server knows the key', (t) => {
  const { state } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  const step = onDatagram(state, join(challenge, 'ana'), ANA);
  const accept = acceptOf(step.effects);
  t.true(macEqual(accept.proof, makeAcceptProof(ROOM_KEY, nonce(1), challenge.cookie, accept.sessionId)));
  t.deepEqual([...step.state.members.keys()], ['ana']);
  t.true(step.effects.some((effect) => effect.kind === 'emit' && effect.event.type === 'member.joined'));
});

test('a wrong password is refused as such and opens nothing', (t) => {
  const { state } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  const step = onDatagram(state, join(challenge, 'ana', WRONG_KEY), ANA);
  t.like(sent(step.effects)[0], { type: 'refuse', reason: 'bad-password' });
  t.is(step.state.sessions.size, 0);
});

test('a name held by a member is refused whatever its case', (t) => {
  const { state } = room();
  const first = onDatagram(state, join(hello(state, nonce(1), ANA).challenge, 'Ana'), ANA).state;
  const step = onDatagram(first, join(hello(first, nonce(2), BUDI).challenge, 'aNA'), BUDI);
  t.like(sent(step.effects)[0], { type: 'refuse', reason: 'name-taken' });
  t.is(step.state.members.size, 1);
});

test('a cookie is bound to the address it was issued to', (t) => {
  const { state } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  const step = onDatagram(state, join(challenge, 'ana'), BUDI);
  t.deepEqual(sent(step.effects), []);
  t.is(step.state.stats.datagramsDropped['bad-cookie'], 1);
});

test('a JOIN whose cookie expired while it was retried gets a fresh challenge, and the fresh cookie works', (t) => {
  const { state, setNow } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  setNow(3 * SERVER_CONFIG_DEFAULT.cookieSlotMs);
  const stale = onDatagram(state, join(challenge, 'ana'), ANA);
  const [fresh] = sent(stale.effects);
  t.is(fresh?.type, 'challenge');
  t.is(stale.state.sessions.size, 0);
  if (fresh?.type !== 'challenge') {
    return;
  }
  t.false(macEqual(fresh.cookie, challenge.cookie));
  const step = onDatagram(stale.state, join(fresh, 'ana'), ANA);
  t.is(acceptOf(step.effects).type, 'accept');
  t.is(step.state.members.size, 1);
});

test('a JOIN repeated after its ACCEPT was lost gets the same session, proved over the cookie it carries', (t) => {
  const { state, setNow } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  const first = onDatagram(state, join(challenge, 'ana'), ANA);
  const sessionId = acceptOf(first.effects).sessionId;
  // The ACCEPT was lost; the client retried until its cookie expired and fetched a fresh one.
  setNow(3 * SERVER_CONFIG_DEFAULT.cookieSlotMs);
  const { challenge: fresh } = hello(first.state, nonce(1), ANA);
  const again = onDatagram(first.state, join(fresh, 'ana'), ANA);
  const accept = acceptOf(again.effects);
  t.is(accept.sessionId, sessionId);
  t.true(macEqual(accept.proof, makeAcceptProof(ROOM_KEY, nonce(1), fresh.cookie, sessionId)));
  t.is(again.state.sessions.size, 1, 'no second session');
  t.false(again.effects.some((effect) => effect.kind === 'emit' && effect.event.type === 'member.joined'));
});

test('a JOIN with a name the rules refuse is refused as bad-name, whatever its proof', (t) => {
  const { state } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  for (const [name, key] of [
    ['ana budi', ROOM_KEY],
    ['x'.repeat(33), WRONG_KEY],
  ] as const) {
    const step = onDatagram(state, join(challenge, name, key), ANA);
    t.like(sent(step.effects)[0], { type: 'refuse', reason: 'bad-name' }, name);
    t.is(step.state.sessions.size, 0);
  }
});

function statsReceiving(datagramsReceived: number): LinkStats {
  return {
    datagramsSent: 4,
    datagramsReceived,
    framesSent: 4,
    framesRetransmitted: 2,
    framesDelivered: 0,
    duplicatePacketsReceived: 0,
    duplicateFramesReceived: 0,
    framesOutsideWindow: 0,
    retransmitTimeouts: 3,
    pingsSent: 0,
    sendQueueHighWater: 2,
    reorderBufferHighWater: 0,
  };
}

test('a session its client never spoke on forgets its nonce when it ends: the client, still retrying, gets in', (t) => {
  const { state, setNow } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  const first = onDatagram(state, join(challenge, 'ana'), ANA);
  const sessionId = acceptOf(first.effects).sessionId;
  // Every ACCEPT was lost; the session ended at the first-contact timeout, after the cookie died.
  setNow(SERVER_CONFIG_DEFAULT.firstContactTimeoutMs);
  const ended = onLeave(first.state, sessionId, {
    reason: 'timeout',
    cause: 'never-heard-from',
    stats: statsReceiving(0),
  });
  t.is(ended.state.sessions.size, 0);
  const replay = onDatagram(ended.state, join(challenge, 'ana'), ANA);
  t.is(replay.state.sessions.size, 0, 'a copy of the old JOIN carries a dead cookie');
  const { step, challenge: fresh } = hello(replay.state, nonce(1), ANA);
  const again = onDatagram(step.state, join(fresh, 'ana'), ANA);
  t.not(acceptOf(again.effects).sessionId, sessionId);
  t.is(again.state.members.size, 1);
});

test('a JOIN replayed after its session ended, having been spoken on, is dropped as a replay', (t) => {
  const { state } = room();
  const { challenge } = hello(state, nonce(1), ANA);
  const first = onDatagram(state, join(challenge, 'ana'), ANA);
  const ended = onLeave(first.state, acceptOf(first.effects).sessionId, {
    reason: 'timeout',
    cause: 'idle-timeout',
    stats: statsReceiving(3),
  });
  const { step, challenge: fresh } = hello(ended.state, nonce(1), ANA);
  const replay = onDatagram(step.state, join(fresh, 'ana'), ANA);
  t.deepEqual(sent(replay.effects), []);
  t.is(replay.state.stats.datagramsDropped['replayed-join'], 1);
  t.is(replay.state.sessions.size, 0);
});
