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
  /**
   * The turn is over: if an event opened it, the room closes it, and what sessions were given after
   * the turn's first send goes out in a flush.
   */
  endTurn(): readonly RoomEffect[];
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
  let watching = false;
  const finish = (sendNow: boolean): readonly RoomEffect[] => {
    const turn = it.finishEvent(sendNow);
    if (turn.timer === 'cancel') {
      timerAtMs = undefined;
    } else if (turn.timer !== 'keep') {
      timerAtMs = nowMs + turn.timer;
    }
    watching ||= turn.watchTurn;
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
    endTurn: () => {
      if (!watching) {
        return [];
      }
      watching = false;
      return it.endTurn() ? finish(true) : [];
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
  // The first datagram of a turn sends what it made ready at once: the ACCEPT, then the member list.
  t.deepEqual(
    sent(effects).map((packet) => packet.type),
    ['accept', 'session'],
  );
  t.deepEqual(it.endTurn(), [], 'nothing was left for the end of the turn');
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
  it.endTurn();
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
  it.endTurn();
  // The client speaks once, then goes silent: the session ends by the idle timeout.
  it.datagram(encodePacket({ type: 'session', sessionId, packetNumber: 0, frames: [{ type: 'ping' }] }), ANA);
  it.endTurn();
  const ended = it.runTimersUntil(SERVER_CONFIG_DEFAULT.link.idleTimeoutMs + 1000);
  t.is(emitted(ended, 'session.ended').length, 1);
  t.is(it.room.sessions.size, 0);
  const { challenge: fresh } = hello(it, nonce(1), ANA);
  t.deepEqual(sent(it.datagram(join(fresh, 'ana'), ANA)), []);
  t.is(it.room.stats.datagramsDropped['replayed-join'], 1);
  t.is(it.room.sessions.size, 0);
});

function sayPacket(sessionId: string, packetNumber: number, text: string): Uint8Array {
  return encodePacket({
    type: 'session',
    sessionId,
    packetNumber,
    frames: [{ type: 'say', msgSeq: packetNumber, text }],
  });
}

test('the first datagram of a turn sends at once; what later ones of the turn make ready goes out in one flush', (t) => {
  const it = room();
  const ana = acceptOf(it.datagram(join(hello(it, nonce(1), ANA).challenge, 'ana'), ANA)).sessionId;
  it.endTurn();
  const budi = acceptOf(it.datagram(join(hello(it, nonce(2), BUDI).challenge, 'budi'), BUDI)).sessionId;
  it.endTurn();
  // One turn: ana speaks, then budi.
  const first = sent(it.datagram(sayPacket(ana, 0, 'satu'), ANA));
  t.deepEqual(
    first.map((packet) => (packet.type === 'session' ? packet.sessionId : packet.type)).sort(),
    [ana, budi].sort(),
    'the relay of the first went out at once, to both members',
  );
  t.deepEqual(sent(it.datagram(sayPacket(budi, 0, 'dua'), BUDI)), [], 'the second waits for the turn to end');
  const flushed = sent(it.endTurn());
  t.deepEqual(
    flushed.map((packet) => (packet.type === 'session' ? packet.sessionId : packet.type)).sort(),
    [ana, budi].sort(),
    'one flush: one datagram per member for everything the rest of the turn gave it',
  );
  t.deepEqual(it.endTurn(), [], 'a turn nobody opened has nothing to flush');
});

test('one timer for the room, armed for exactly the earliest deadline of its sessions, never firing for nothing, cancelled when none is left', (t) => {
  const it = room();
  const earliest = () => {
    let min: number | undefined;
    for (const session of it.room.sessions.values()) {
      const deadline = session.link.timerDeadlineMs();
      if (deadline !== undefined && (min === undefined || deadline < min)) {
        min = deadline;
      }
    }
    return min;
  };
  acceptOf(it.datagram(join(hello(it, nonce(1), ANA).challenge, 'ana'), ANA));
  it.endTurn();
  t.not(it.timerAtMs, undefined);
  t.is(it.timerAtMs, earliest());
  it.setNow(1000);
  const budi = acceptOf(it.datagram(join(hello(it, nonce(2), BUDI).challenge, 'budi'), BUDI)).sessionId;
  it.endTurn();
  t.is(it.timerAtMs, earliest(), 'a later deadline leaves the earliest armed');
  it.setNow(1100);
  it.datagram(sayPacket(budi, 0, 'halo'), BUDI);
  it.endTurn();
  t.is(it.timerAtMs, earliest(), 'budi was heard from: the deadlines moved, and the timer with them');
  // Nobody answers any more: the timers run every session to its end, each firing with work due.
  let firings = 0;
  for (;;) {
    const at = it.timerAtMs;
    if (at === undefined || firings >= 1000) {
      break;
    }
    t.is(earliest(), at);
    it.runTimersUntil(at);
    firings += 1;
  }
  t.is(it.room.sessions.size, 0, 'every session ended');
  t.is(it.timerAtMs, undefined, 'and the timer was cancelled');
  t.true(firings > 2, `${firings} firings`);
});
