import test from 'ava';
import { decodePacket, encodePacket } from '../codec/codec.ts';
import type { AcceptPacket, ChallengePacket, Packet } from '../codec/frames.ts';
import { SERVER_CONFIG_DEFAULT } from '../config.ts';
import { deriveRoomKey, macEqual, makeAcceptProof, makeJoinProof } from '../crypto.ts';
import type { Environment, PeerAddress } from '../port.ts';
import { Room, type RoomEffect } from './room.ts';

const ROOM_KEY = deriveRoomKey('rahasia', 1000);
const WRONG_KEY = deriveRoomKey('bukan', 1000);
const ANA: PeerAddress = { host: '10.0.0.2', port: 5000 };
const BUDI: PeerAddress = { host: '10.0.0.3', port: 5001 };

interface Harness {
  readonly room: Room;
  setNow(ms: number): void;
  /** A datagram arrives; returns what the room sent and logged for it. */
  datagram(datagram: Uint8Array, from: PeerAddress): readonly RoomEffect[];
  /** The turn is over: what the sessions made ready goes out (if the room asked for it). */
  flush(): readonly RoomEffect[];
  /** Fires the room's one timer at each deadline it arms, up to `untilMs`, then sets the time there. */
  runTimersUntil(untilMs: number): readonly RoomEffect[];
  /** The deadline the room's timer is armed for, as the machine would have armed it. */
  readonly timerAtMs: number | undefined;
}

/**
 * A room driven as its machine drives it (a handler, then `finishEvent`), on a clock the test sets,
 * with random bytes that are all different and all predictable.
 */
function room(): Harness {
  let nowMs = 0;
  let counter = 0;
  const env: Environment = {
    port: { send: () => undefined },
    clock: { setTimeout: () => 0, clearTimeout: () => undefined },
    afterTurn: () => undefined,
    now: () => nowMs,
    random: (count) =>
      Uint8Array.from({ length: count }, () => {
        counter += 1;
        return counter & 0xff;
      }),
  };
  const it = new Room(SERVER_CONFIG_DEFAULT, ROOM_KEY, env);
  let timerAtMs: number | undefined;
  let flushAsked = false;
  const finish = (sendNow: boolean): readonly RoomEffect[] => {
    const turn = it.finishEvent(sendNow);
    if (turn.timerInMs !== undefined) {
      timerAtMs = nowMs + turn.timerInMs;
    }
    flushAsked ||= turn.flushAfterTurn;
    return turn.effects;
  };
  return {
    room: it,
    setNow: (ms) => {
      nowMs = ms;
    },
    datagram: (datagram, from) => {
      it.datagram(datagram, from);
      return finish(false);
    },
    flush: () => {
      if (!flushAsked) {
        return [];
      }
      flushAsked = false;
      it.flush();
      return finish(true);
    },
    runTimersUntil: (untilMs) => {
      const effects: RoomEffect[] = [];
      while (timerAtMs !== undefined && timerAtMs <= untilMs) {
        nowMs = Math.max(nowMs, timerAtMs);
        timerAtMs = undefined;
        it.timer();
        effects.push(...finish(true));
      }
      nowMs = Math.max(nowMs, untilMs);
      return effects;
    },
    get timerAtMs() {
      return timerAtMs;
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

function hello(it: Harness, clientNonce: Uint8Array, from: PeerAddress) {
  const datagram = encodePacket({ type: 'hello', clientNonce });
  const [challenge] = sent(it.datagram(datagram, from));
  if (challenge?.type !== 'challenge') {
    throw new Error(`expected a challenge, got ${JSON.stringify(challenge)}`);
  }
  return { challenge, helloSize: datagram.length };
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
  const it = room();
  const { challenge, helloSize } = hello(it, nonce(1), ANA);
  t.true(encodePacket(challenge).length <= helloSize);
  t.is(it.room.sessions.size, 0);
  t.is(it.room.recentJoins.size, 0);
  t.is(it.timerAtMs, undefined, 'no timer for a stranger');
});

test('a JOIN with the cookie and the right proof opens a session and proves the server knows the key', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const effects = it.datagram(join(challenge, 'ana'), ANA);
  const accept = acceptOf(effects);
  t.true(macEqual(accept.proof, makeAcceptProof(ROOM_KEY, nonce(1), challenge.cookie, accept.sessionId)));
  t.deepEqual([...it.room.members.keys()], ['ana']);
  t.true(effects.some((effect) => effect.kind === 'emit' && effect.event.type === 'member.joined'));
  // The member list waits for the end of the turn, with whatever else the turn gave the session.
  t.false(sent(effects).some((packet) => packet.type === 'session'));
  const flushed = sent(it.flush());
  t.is(flushed.length, 1);
  t.like(flushed[0], { type: 'session', sessionId: accept.sessionId });
  t.not(it.timerAtMs, undefined, 'the new session has a deadline, and the room one timer for it');
});

test('a wrong password is refused as such and opens nothing', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  t.like(sent(it.datagram(join(challenge, 'ana', WRONG_KEY), ANA))[0], {
    type: 'refuse',
    reason: 'bad-password',
  });
  t.is(it.room.sessions.size, 0);
});

test('a name held by a member is refused whatever its case', (t) => {
  const it = room();
  it.datagram(join(hello(it, nonce(1), ANA).challenge, 'Ana'), ANA);
  const effects = it.datagram(join(hello(it, nonce(2), BUDI).challenge, 'aNA'), BUDI);
  t.like(sent(effects)[0], { type: 'refuse', reason: 'name-taken' });
  t.is(it.room.members.size, 1);
});

test('a cookie is bound to the address it was issued to', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  t.deepEqual(sent(it.datagram(join(challenge, 'ana'), BUDI)), []);
  t.is(it.room.stats.datagramsDropped['bad-cookie'], 1);
});

test('a JOIN whose cookie expired while it was retried gets a fresh challenge, and the fresh cookie works', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  it.setNow(3 * SERVER_CONFIG_DEFAULT.cookieSlotMs);
  const [fresh] = sent(it.datagram(join(challenge, 'ana'), ANA));
  t.is(fresh?.type, 'challenge');
  t.is(it.room.sessions.size, 0);
  if (fresh?.type !== 'challenge') {
    return;
  }
  t.false(macEqual(fresh.cookie, challenge.cookie));
  t.is(acceptOf(it.datagram(join(fresh, 'ana'), ANA)).type, 'accept');
  t.is(it.room.members.size, 1);
});

test('a JOIN repeated after its ACCEPT was lost gets the same session, proved over the cookie it carries', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const sessionId = acceptOf(it.datagram(join(challenge, 'ana'), ANA)).sessionId;
  // The ACCEPT was lost; the client retried until its cookie expired and fetched a fresh one.
  it.setNow(3 * SERVER_CONFIG_DEFAULT.cookieSlotMs);
  const { challenge: fresh } = hello(it, nonce(1), ANA);
  const again = it.datagram(join(fresh, 'ana'), ANA);
  const accept = acceptOf(again);
  t.is(accept.sessionId, sessionId);
  t.true(macEqual(accept.proof, makeAcceptProof(ROOM_KEY, nonce(1), fresh.cookie, sessionId)));
  t.is(it.room.sessions.size, 1, 'no second session');
  t.false(again.some((effect) => effect.kind === 'emit' && effect.event.type === 'member.joined'));
});

test('a JOIN with a name the rules refuse is refused as bad-name, whatever its proof', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  for (const [name, key] of [
    ['ana budi', ROOM_KEY],
    ['x'.repeat(33), WRONG_KEY],
  ] as const) {
    t.like(
      sent(it.datagram(join(challenge, name, key), ANA))[0],
      { type: 'refuse', reason: 'bad-name' },
      name,
    );
    t.is(it.room.sessions.size, 0);
  }
});

function emitted(effects: readonly RoomEffect[], type: string) {
  return effects.flatMap((effect) =>
    effect.kind === 'emit' && effect.event.type === type ? [effect.event] : [],
  );
}

test('a session its client never spoke on forgets its nonce when it ends: the client, still retrying, gets in', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const sessionId = acceptOf(it.datagram(join(challenge, 'ana'), ANA)).sessionId;
  it.flush();
  // Every ACCEPT was lost; the session ends at the first-contact timeout, by the room's one timer.
  const ended = it.runTimersUntil(SERVER_CONFIG_DEFAULT.firstContactTimeoutMs);
  t.like(emitted(ended, 'member.left')[0], { sessionId, reason: 'timeout', cause: 'never-heard-from' });
  t.is(it.room.sessions.size, 0);
  const copy = sent(it.datagram(join(challenge, 'ana'), ANA));
  t.deepEqual(
    copy.map((packet) => packet.type),
    ['challenge'],
    'a copy of the old JOIN carries a dead cookie: it is only challenged afresh',
  );
  t.is(it.room.sessions.size, 0);
  const { challenge: fresh } = hello(it, nonce(1), ANA);
  t.not(acceptOf(it.datagram(join(fresh, 'ana'), ANA)).sessionId, sessionId);
  t.is(it.room.members.size, 1);
});

test('a JOIN replayed after its session ended, having been spoken on, is dropped as a replay', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const sessionId = acceptOf(it.datagram(join(challenge, 'ana'), ANA)).sessionId;
  it.flush();
  // The client speaks once, then goes silent: the session ends by the idle timeout.
  it.datagram(encodePacket({ type: 'session', sessionId, packetNumber: 0, frames: [{ type: 'ping' }] }), ANA);
  it.flush();
  const ended = it.runTimersUntil(SERVER_CONFIG_DEFAULT.link.idleTimeoutMs + 1000);
  t.is(emitted(ended, 'session.ended').length, 1);
  t.is(it.room.sessions.size, 0);
  const { challenge: fresh } = hello(it, nonce(1), ANA);
  t.deepEqual(sent(it.datagram(join(fresh, 'ana'), ANA)), []);
  t.is(it.room.stats.datagramsDropped['replayed-join'], 1);
  t.is(it.room.sessions.size, 0);
});

test('one timer for the room: armed for the earliest session deadline, and only re-armed when one comes sooner', (t) => {
  const it = room();
  acceptOf(it.datagram(join(hello(it, nonce(1), ANA).challenge, 'ana'), ANA));
  it.flush();
  const first = it.timerAtMs;
  t.not(first, undefined);
  it.setNow(1000);
  const budi = acceptOf(it.datagram(join(hello(it, nonce(2), BUDI).challenge, 'budi'), BUDI)).sessionId;
  it.flush();
  t.is(it.timerAtMs, first, 'a later deadline leaves the armed timer alone');
  // Budi's client speaks with a frame to acknowledge: its session's acknowledgement deadline is sooner.
  it.datagram(
    encodePacket({
      type: 'session',
      sessionId: budi,
      packetNumber: 0,
      frames: [{ type: 'say', msgSeq: 0, text: 'halo' }],
    }),
    BUDI,
  );
  const relayed = it.flush();
  t.true(sent(relayed).length >= 2, 'the message went to both members at the end of the turn');
  t.true((it.timerAtMs ?? Number.POSITIVE_INFINITY) <= (first ?? 0), 'a sooner deadline re-arms the timer');
});
