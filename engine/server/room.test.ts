import { ed25519 } from '@noble/curves/ed25519.js';
import test from 'ava';
import { SealedBook, simCrypto } from '../../adapters/sim/sim-crypto.ts';
import { acceptClearBytes, decodePacket, encodePacket, sessionIdToBytes } from '../codec/codec.ts';
import type { AcceptPacket, ChallengePacket, Packet, ReliableFrame, SessionId } from '../codec/frames.ts';
import { JOIN_SIZE_MIN, SAYS_UNCONFIRMED_MAX } from '../codec/frames.ts';
import { RESET_BYTES } from '../codec/layout.ts';
import { SERVER_CONFIG_DEFAULT, type ServerConfig } from '../config.ts';
import { macEqual, toHex } from '../crypto.ts';
import type { Environment, PeerAddress } from '../port.ts';
import {
  acceptSignedBytes,
  openAccept,
  passwordBytes,
  resetKeyOf,
  resetTokenOf,
} from '../secure/handshake-crypto.ts';
import { type CryptoSuite, REAL_CRYPTO } from '../secure/suite.ts';
import {
  type AcceptCheck,
  checkAccept,
  clientJoin,
  counterRandom,
  type TestExchange,
  TestPeer,
} from '../test/handshake-peer.ts';
import { Room, type RoomEffect } from './room.ts';

const PASSWORD = 'rahasia';
const WRONG_PASSWORD = 'bukan';
const IDENTITY = new Uint8Array(32).fill(42);
const ANA: PeerAddress = { host: '10.0.0.2', port: 5000 };
const BUDI: PeerAddress = { host: '10.0.0.3', port: 5001 };
const CITRA: PeerAddress = { host: '10.0.0.4', port: 5002 };
const LINK = SERVER_CONFIG_DEFAULT.link;
/** The stand-in key exchange and signature (adapters/sim/sim-crypto.ts): real sealing, fast handshakes. */
const STAND_IN = simCrypto(new SealedBook());

interface Harness {
  readonly room: Room;
  /** The room's cryptography, its key exchange wrapped to count what it costs. */
  readonly crypto: CryptoSuite;
  /** Key exchanges the server ran (`respond` calls). */
  readonly exchanges: () => number;
  /** Random bytes for the test's clients, apart from the room's. */
  readonly clientRandom: (count: number) => Uint8Array;
  now(): number;
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
function room(
  options: {
    readonly crypto?: CryptoSuite;
    readonly identitySecret?: Uint8Array;
    readonly config?: ServerConfig;
    /** The wall clock, when it is not the room's clock. */
    readonly wallNow?: () => number;
  } = {},
): Harness {
  let nowMs = 0;
  let respondCount = 0;
  const base = options.crypto ?? STAND_IN;
  const crypto: CryptoSuite = {
    ...base,
    keyExchange: {
      ...base.keyExchange,
      respond: (input) => {
        respondCount += 1;
        return base.keyExchange.respond(input);
      },
    },
  };
  const env: Environment = {
    port: { send: () => undefined },
    clock: { setTimeout: () => 0, clearTimeout: () => undefined },
    afterTurn: () => undefined,
    now: () => nowMs,
    ...(options.wallNow === undefined ? {} : { wallNow: options.wallNow }),
    random: counterRandom(),
    crypto,
  };
  const it = new Room(
    options.config ?? SERVER_CONFIG_DEFAULT,
    { password: passwordBytes(PASSWORD), identitySecret: options.identitySecret ?? IDENTITY },
    env,
  );
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
    crypto,
    exchanges: () => respondCount,
    clientRandom: counterRandom(100),
    now: () => nowMs,
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

function sentDatagrams(effects: readonly RoomEffect[]): Uint8Array[] {
  return effects.flatMap((effect) => (effect.kind === 'send' ? [effect.datagram] : []));
}

function emitted(effects: readonly RoomEffect[], type: string) {
  return effects.flatMap((effect) =>
    effect.kind === 'emit' && effect.event.type === type ? [effect.event] : [],
  );
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

/** The client's JOIN for a challenge: its key exchange started with `password`. */
function join(it: Harness, challenge: ChallengePacket, password = PASSWORD): TestExchange {
  return clientJoin(it.crypto, password, challenge, it.clientRandom);
}

function acceptOf(effects: readonly RoomEffect[]): AcceptPacket {
  const accept = sent(effects).find((packet) => packet.type === 'accept');
  if (accept?.type !== 'accept') {
    throw new Error('expected an accept');
  }
  return accept;
}

function verified(check: AcceptCheck): Extract<AcceptCheck, { ok: true }> {
  if (!check.ok) {
    throw new Error(`the ACCEPT did not verify: ${check.failed}`);
  }
  return check;
}

/** The one datagram a peer sends now (a CLAIM, a SAY...). */
function only(datagrams: readonly Uint8Array[]): Uint8Array {
  const [datagram, ...rest] = datagrams;
  if (datagram === undefined || rest.length > 0) {
    throw new Error(`expected one datagram, got ${datagrams.length}`);
  }
  return datagram;
}

/** A client that has done the handshake: its session's end, the ACCEPT check, the room's effects for it. */
interface Connected {
  readonly peer: TestPeer;
  readonly sessionId: SessionId;
  readonly accept: Extract<AcceptCheck, { ok: true }>;
  readonly exchange: TestExchange;
  readonly from: PeerAddress;
}

/** HELLO, JOIN with the right password, ACCEPT checked: the session is open, its client not yet a member. */
function connect(it: Harness, nonceByte: number, from: PeerAddress): Connected {
  const { challenge } = hello(it, nonce(nonceByte), from);
  const exchange = join(it, challenge);
  const accept = verified(checkAccept(it.crypto, exchange, acceptOf(it.datagram(exchange.datagram, from))));
  it.endTurn();
  const peer = new TestPeer(it.crypto, accept.isk, accept.sessionId, LINK, it.now());
  return { peer, sessionId: accept.sessionId, accept, exchange, from };
}

/** The frames the room's effects deliver to a client's session, opened with its keys. */
function deliverTo(client: Connected, effects: readonly RoomEffect[], nowMs = 0): ReliableFrame[] {
  const frames: ReliableFrame[] = [];
  for (const effect of effects) {
    if (effect.kind !== 'send') {
      continue;
    }
    const packet = decodePacket(effect.datagram);
    if (packet.ok && packet.packet.type === 'session' && packet.packet.sessionId === client.sessionId) {
      const received = client.peer.receive(effect.datagram, nowMs);
      if (!received.ok) {
        throw new Error(`a packet for ${client.sessionId} did not open: ${received.reason}`);
      }
      frames.push(...received.frames);
    }
  }
  return frames;
}

/** An origin secret of the client's own (each test client is another program, unless it passes one). */
function secretOf(client: Connected): Uint8Array {
  const id = sessionIdToBytes(client.sessionId);
  return Uint8Array.from([...id, ...id]);
}

/** The client claims its name: what the room did, and the frames it sent the client. */
function claim(it: Harness, client: Connected, name: string, originSecret = secretOf(client)) {
  const effects = it.datagram(
    only(client.peer.send(it.now(), { type: 'claim', name, originSecret })),
    client.from,
  );
  const frames = deliverTo(client, effects, it.now());
  it.endTurn();
  return { effects, frames };
}

/** HELLO, JOIN, ACCEPT, CLAIM: a member, its client having read everything the room sent it. */
function member(it: Harness, nonceByte: number, from: PeerAddress, name: string): Connected {
  const client = connect(it, nonceByte, from);
  const claimed = claim(it, client, name);
  if (emitted(claimed.effects, 'member.joined').length !== 1) {
    throw new Error(`${name} was not admitted`);
  }
  return client;
}

test('a HELLO gets a challenge no larger than itself, carrying the server’s identity key, and the server keeps nothing for it', (t) => {
  const it = room();
  const { challenge, helloSize } = hello(it, nonce(1), ANA);
  t.true(encodePacket(challenge).length <= helloSize);
  t.true(macEqual(challenge.serverKey, it.room.serverKey));
  t.true(macEqual(challenge.serverKey, it.crypto.signature.publicKey(IDENTITY)));
  t.is(it.room.sessions.size, 0);
  t.is(it.room.recentJoins.size, 0);
  t.is(it.exchanges(), 0, 'no key exchange for a HELLO');
  t.is(it.timerAtMs, undefined, 'no timer for a stranger');
});

test('a JOIN with the cookie opens a session whose ACCEPT proves the server knows the password and holds its identity; the CLAIM makes a member (v2: no member before the CLAIM)', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const exchange = join(it, challenge);
  const effects = it.datagram(exchange.datagram, ANA);
  t.deepEqual(
    sent(effects).map((packet) => packet.type),
    ['accept'],
  );
  t.true((sentDatagrams(effects)[0]?.length ?? Number.POSITIVE_INFINITY) <= exchange.datagram.length);
  const accept = acceptOf(effects);
  t.like(emitted(effects, 'session.opened')[0], {
    address: '10.0.0.2:5000',
    sessionId: accept.sessionId,
    handshake: toHex(nonce(1)),
  });
  t.is(it.exchanges(), 1);
  const check = verified(checkAccept(it.crypto, exchange, accept));
  t.is(it.room.sessions.size, 1);
  t.is(it.room.members.size, 0, 'the session is open, its client no member yet');
  t.deepEqual(emitted(effects, 'member.joined'), []);
  t.deepEqual(it.endTurn(), [], 'nothing was left for the end of the turn');
  t.not(it.timerAtMs, undefined, 'the new session has a deadline, and the room one timer for it');

  const client: Connected = {
    peer: new TestPeer(it.crypto, check.isk, accept.sessionId, LINK, 0),
    sessionId: accept.sessionId,
    accept: check,
    exchange,
    from: ANA,
  };
  const claimDatagram = only(
    client.peer.send(0, { type: 'claim', name: 'ana', originSecret: new Uint8Array(16) }),
  );
  t.false(new TextDecoder('latin1').decode(claimDatagram).includes('ana'), 'the name travels sealed');
  const claimed = it.datagram(claimDatagram, ANA);
  t.like(emitted(claimed, 'member.joined')[0], {
    roomSeq: 1,
    name: 'ana',
    address: '10.0.0.2:5000',
    sessionId: accept.sessionId,
    handshake: toHex(nonce(1)),
    memberCount: 1,
  });
  t.deepEqual([...it.room.members.keys()], ['ana']);
  t.is(it.room.sessions.get(accept.sessionId)?.name, 'ana', 'the session gets its name at the claim');
  // The first datagram of a turn sends what it made ready at once: the member list, sealed.
  t.deepEqual(
    sent(claimed).map((packet) => packet.type),
    ['session'],
  );
  t.deepEqual(deliverTo(client, claimed), [
    { type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] },
  ]);
  t.deepEqual(it.endTurn(), [], 'nothing was left for the end of the turn');
});

test('with the real suite (CPace, Ed25519), a client with the password opens the ACCEPT and joins; one without cannot open it', (t) => {
  const it = room({ crypto: REAL_CRYPTO });
  t.deepEqual(
    it.room.serverKey,
    ed25519.getPublicKey(IDENTITY),
    'the identity key is the Ed25519 public key',
  );
  const { challenge } = hello(it, nonce(1), ANA);
  const exchange = join(it, challenge);
  const accept = acceptOf(it.datagram(exchange.datagram, ANA));
  const check = verified(checkAccept(REAL_CRYPTO, exchange, accept));
  // The signature is checked again here with noble's Ed25519 itself: it is one, by the CHALLENGE's key.
  const secret = openAccept(
    REAL_CRYPTO.aead,
    check.isk,
    acceptClearBytes(accept.clientNonce, accept.sessionId, accept.share),
    accept.sealed,
  );
  const signed = acceptSignedBytes(
    exchange.ci,
    exchange.sid,
    exchange.share,
    accept.share,
    sessionIdToBytes(accept.sessionId),
  );
  t.true(secret !== undefined && ed25519.verify(secret.signature, signed, challenge.serverKey));
  it.endTurn();
  const client: Connected = {
    peer: new TestPeer(REAL_CRYPTO, check.isk, accept.sessionId, LINK, 0),
    sessionId: accept.sessionId,
    accept: check,
    exchange,
    from: ANA,
  };
  const claimed = claim(it, client, 'ana');
  t.is(emitted(claimed.effects, 'member.joined').length, 1);
  t.deepEqual(claimed.frames, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] }]);

  const { challenge: other } = hello(it, nonce(2), BUDI);
  const wrong = join(it, other, WRONG_PASSWORD);
  const wrongAccept = acceptOf(it.datagram(wrong.datagram, BUDI));
  t.deepEqual(checkAccept(REAL_CRYPTO, wrong, wrongAccept), { ok: false, failed: 'seal' });
});

test('a wrong password is not refused (v2: the server cannot tell): the client cannot open the ACCEPT, and what it seals with its keys is dropped as unauthentic', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const exchange = join(it, challenge, WRONG_PASSWORD);
  const effects = it.datagram(exchange.datagram, ANA);
  t.deepEqual(
    sent(effects).map((packet) => packet.type),
    ['accept'],
    'an ACCEPT like any other: no REFUSE says the password is wrong',
  );
  const accept = acceptOf(effects);
  t.deepEqual(checkAccept(it.crypto, exchange, accept), { ok: false, failed: 'seal' });
  it.endTurn();
  // A client that went on anyway, with the keys its exchange gave it, is not heard.
  const isk = exchange.finish(accept.share);
  if (isk === undefined) {
    t.fail('the exchange gave no key at all');
    return;
  }
  const peer = new TestPeer(it.crypto, isk, accept.sessionId, LINK, 0);
  const claimed = it.datagram(
    only(peer.send(0, { type: 'claim', name: 'ana', originSecret: new Uint8Array(16) })),
    ANA,
  );
  t.deepEqual(sent(claimed), [], 'nothing is said to it');
  t.like(emitted(claimed, 'datagram.dropped')[0], { address: '10.0.0.2:5000', reason: 'unauthentic' });
  t.is(it.room.stats.datagramsDropped.unauthentic, 1);
  t.is(it.room.members.size, 0);
  const session = it.room.sessions.get(accept.sessionId);
  t.false(session?.claimed ?? true);
  t.is(session?.link.stats.datagramsReceived, 0, 'an unauthentic packet is not even a sign of life');
  const ended = it.runTimersUntil(SERVER_CONFIG_DEFAULT.firstContactTimeoutMs);
  t.like(emitted(ended, 'session.ended')[0], { sessionId: accept.sessionId });
  t.deepEqual(emitted(ended, 'member.left'), []);
  t.is(it.room.sessions.size, 0);
});

test('a name held by a member is refused whatever its case: REFUSED name-taken, sealed, and the session closes (v2: after the exchange, not in a REFUSE)', (t) => {
  const it = room();
  member(it, 1, ANA, 'Ana');
  const budi = connect(it, 2, BUDI);
  const { effects, frames } = claim(it, budi, 'aNA');
  t.deepEqual(
    sent(effects).map((packet) => packet.type),
    ['session'],
    'no REFUSE packet: the refusal is a frame of the session',
  );
  t.deepEqual(frames, [{ type: 'refused', msgSeq: 0, reason: 'name-taken' }]);
  t.like(emitted(effects, 'join.refused')[0], {
    address: '10.0.0.3:5001',
    name: 'aNA',
    reason: 'name-taken',
  });
  t.deepEqual(emitted(effects, 'member.joined'), []);
  t.is(it.room.members.size, 1);
  t.is(it.room.stats.joinsRefused, 1);
  t.is(it.room.sessions.get(budi.sessionId)?.phase, 'closing');
  // Budi's client acknowledges the refusal: the session is over.
  const acked = it.datagram(only(budi.peer.send(0)), BUDI);
  t.like(emitted(acked, 'session.ended')[0], { sessionId: budi.sessionId });
  t.is(it.room.sessions.size, 1);
});

test('a claim of a name the rules refuse gets REFUSED bad-name, sealed; the same claim under the wrong keys is only dropped', (t) => {
  const it = room();
  for (const [index, name] of ['ana budi', 'x'.repeat(33)].entries()) {
    const client = connect(it, index + 1, ANA);
    const { effects, frames } = claim(it, client, name);
    t.deepEqual(frames, [{ type: 'refused', msgSeq: 0, reason: 'bad-name' }], name);
    t.like(emitted(effects, 'join.refused')[0], { name, reason: 'bad-name' });
    t.is(it.room.members.size, 0);
  }
  const { challenge } = hello(it, nonce(9), BUDI);
  const wrong = join(it, challenge, WRONG_PASSWORD);
  const accept = acceptOf(it.datagram(wrong.datagram, BUDI));
  const isk = wrong.finish(accept.share) ?? new Uint8Array(64);
  const peer = new TestPeer(it.crypto, isk, accept.sessionId, LINK, 0);
  const claimed = it.datagram(
    only(peer.send(0, { type: 'claim', name: 'ana budi', originSecret: new Uint8Array(16) })),
    BUDI,
  );
  t.deepEqual(sent(claimed), []);
  t.like(emitted(claimed, 'datagram.dropped')[0], { reason: 'unauthentic' });
  t.is(it.room.stats.joinsRefused, 2);
});

test('a cookie is bound to the address it was issued to, and a JOIN with a bad cookie costs no key exchange', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const exchange = join(it, challenge);
  t.deepEqual(sent(it.datagram(exchange.datagram, BUDI)), []);
  t.is(it.room.stats.datagramsDropped['bad-cookie'], 1);
  const tampered = exchange.datagram.slice();
  // The cookie follows the version, type, nonce and time slot.
  tampered[2 + 16 + 4] = (tampered[2 + 16 + 4] ?? 0) ^ 1;
  t.deepEqual(sent(it.datagram(tampered, ANA)), []);
  t.is(it.room.stats.datagramsDropped['bad-cookie'], 2);
  t.is(it.exchanges(), 0, 'the cookie is checked before any key exchange');
  t.is(it.room.sessions.size, 0);
  t.is(acceptOf(it.datagram(exchange.datagram, ANA)).type, 'accept', 'the genuine JOIN still gets in');
  t.is(it.exchanges(), 1);
});

test('a JOIN with a bad cookie changes nothing: the session its nonce opened, not yet spoken on, stays', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const sessionId = acceptOf(it.datagram(join(it, challenge).datagram, ANA)).sessionId;
  it.endTurn();
  // Someone who saw the nonce (it travels in clear) sends a JOIN of their own from the client's address:
  // another share, and a cookie the server never issued.
  const forged = join(it, { ...challenge, cookie: new Uint8Array(16).fill(0xee) });
  const effects = it.datagram(forged.datagram, ANA);
  t.deepEqual(sent(effects), []);
  t.is(it.room.stats.datagramsDropped['bad-cookie'], 1);
  t.deepEqual(emitted(effects, 'session.ended'), [], 'the session the genuine JOIN opened is not ended');
  t.true(it.room.sessions.has(sessionId));
});

test('a JOIN whose cookie expired while it was retried gets a fresh challenge, and the fresh cookie works', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  it.setNow(3 * SERVER_CONFIG_DEFAULT.cookieSlotMs);
  const [fresh] = sent(it.datagram(join(it, challenge).datagram, ANA));
  t.is(fresh?.type, 'challenge');
  t.is(it.room.sessions.size, 0);
  t.is(it.exchanges(), 0, 'an expired cookie costs no key exchange');
  if (fresh?.type !== 'challenge') {
    return;
  }
  t.false(macEqual(fresh.cookie, challenge.cookie));
  // The key exchange is bound to the cookie: the client starts it again for the fresh one.
  const exchange = join(it, fresh);
  const accept = acceptOf(it.datagram(exchange.datagram, ANA));
  const check = verified(checkAccept(it.crypto, exchange, accept));
  it.endTurn();
  const client: Connected = {
    peer: new TestPeer(it.crypto, check.isk, accept.sessionId, LINK, it.now()),
    sessionId: accept.sessionId,
    accept: check,
    exchange,
    from: ANA,
  };
  claim(it, client, 'ana');
  t.is(it.room.members.size, 1);
});

test('a retransmitted JOIN gets the identical ACCEPT bytes, without a second key exchange or a second session', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const exchange = join(it, challenge);
  const first = it.datagram(exchange.datagram, ANA);
  it.endTurn();
  const again = it.datagram(exchange.datagram, ANA);
  t.deepEqual(sentDatagrams(again), sentDatagrams(first));
  t.is(it.exchanges(), 1);
  t.is(it.room.sessions.size, 1, 'no second session');
  t.deepEqual(emitted(again, 'session.opened'), []);
  t.true(checkAccept(it.crypto, exchange, acceptOf(again)).ok);
});

test('a JOIN with a fresh cookie after its ACCEPT was lost is a new exchange: a new session takes the place of the unused one (v1: the same session again)', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const lost = acceptOf(it.datagram(join(it, challenge).datagram, ANA)).sessionId;
  it.endTurn();
  // The ACCEPT was lost; the client retried until its cookie expired and fetched a fresh one.
  it.setNow(2 * SERVER_CONFIG_DEFAULT.cookieSlotMs);
  const { challenge: fresh } = hello(it, nonce(1), ANA);
  const exchange = join(it, fresh);
  const again = it.datagram(exchange.datagram, ANA);
  const accept = acceptOf(again);
  t.not(accept.sessionId, lost);
  t.like(emitted(again, 'session.ended')[0], { sessionId: lost });
  t.like(emitted(again, 'session.opened')[0], { sessionId: accept.sessionId });
  t.is(it.room.sessions.size, 1, 'no second session');
  t.is(it.exchanges(), 2);
  const check = verified(checkAccept(it.crypto, exchange, accept));
  it.endTurn();
  const client: Connected = {
    peer: new TestPeer(it.crypto, check.isk, accept.sessionId, LINK, it.now()),
    sessionId: accept.sessionId,
    accept: check,
    exchange,
    from: ANA,
  };
  t.is(emitted(claim(it, client, 'ana').effects, 'member.joined').length, 1);
  // Once claimed, the session is its client's: another exchange on the same handshake is a replay.
  const { challenge: third } = hello(it, nonce(1), ANA);
  t.deepEqual(sent(it.datagram(join(it, third).datagram, ANA)), []);
  t.is(it.room.stats.datagramsDropped['replayed-join'], 1);
  t.is(it.exchanges(), 2);
  t.is(it.room.sessions.size, 1);
});

test('a session its client never spoke on forgets its nonce when it ends: the client, still retrying, gets in (v2: it was never a member, so nobody is announced as left)', (t) => {
  const it = room();
  const { challenge } = hello(it, nonce(1), ANA);
  const oldJoin = join(it, challenge).datagram;
  const sessionId = acceptOf(it.datagram(oldJoin, ANA)).sessionId;
  it.endTurn();
  // Every ACCEPT was lost; the session ends at the first-contact timeout, by the room's one timer.
  const ended = it.runTimersUntil(SERVER_CONFIG_DEFAULT.firstContactTimeoutMs);
  t.like(emitted(ended, 'session.ended')[0], { sessionId });
  t.deepEqual(emitted(ended, 'member.left'), []);
  t.is(it.room.sessions.size, 0);
  const copy = sent(it.datagram(oldJoin, ANA));
  t.deepEqual(
    copy.map((packet) => packet.type),
    ['challenge'],
    'a copy of the old JOIN carries a dead cookie: it is only challenged afresh',
  );
  t.is(it.room.sessions.size, 0);
  const client = member(it, 1, ANA, 'ana');
  t.not(client.sessionId, sessionId);
  t.is(it.room.members.size, 1);
});

test('a JOIN replayed after its session ended, having been spoken on, is dropped as a replay', (t) => {
  const it = room();
  const client = member(it, 1, ANA, 'ana');
  // The client spoke (its CLAIM), then goes silent: the session ends by the idle timeout.
  const ended = it.runTimersUntil(SERVER_CONFIG_DEFAULT.link.idleTimeoutMs + 1000);
  t.like(emitted(ended, 'member.left')[0], { sessionId: client.sessionId, reason: 'timeout' });
  t.is(emitted(ended, 'session.ended').length, 1);
  t.is(it.room.sessions.size, 0);
  const { challenge: fresh } = hello(it, nonce(1), ANA);
  t.deepEqual(sent(it.datagram(join(it, fresh).datagram, ANA)), []);
  t.is(it.room.stats.datagramsDropped['replayed-join'], 1);
  t.is(it.room.sessions.size, 0);
  t.is(it.exchanges(), 1, 'the replay cost no key exchange');
});

test('a session packet replayed is dropped as replayed: it changes nothing', (t) => {
  const it = room();
  const client = connect(it, 1, ANA);
  const claimDatagram = only(
    client.peer.send(0, { type: 'claim', name: 'ana', originSecret: new Uint8Array(16) }),
  );
  const first = it.datagram(claimDatagram, ANA);
  t.is(emitted(first, 'member.joined').length, 1);
  it.endTurn();
  const replayed = it.datagram(claimDatagram, ANA);
  t.deepEqual(sent(replayed), []);
  t.like(emitted(replayed, 'datagram.dropped')[0], { address: '10.0.0.2:5000', reason: 'replayed' });
  t.deepEqual(emitted(replayed, 'member.joined'), []);
  t.is(it.room.stats.datagramsDropped.replayed, 1);
  t.is(
    it.room.sessions.get(client.sessionId)?.link.stats.datagramsReceived,
    1,
    'its link never saw the copy',
  );
  // From another address, the copy is not even looked at.
  t.like(emitted(it.datagram(claimDatagram, BUDI), 'datagram.dropped')[0], { reason: 'wrong-address' });
});

test('a session packet for a session the server does not hold gets a RESET with the session’s token, smaller than the packet; a restarted server with the same identity makes the token the client holds', (t) => {
  const before = room();
  const client = member(before, 1, ANA, 'ana');
  // The server restarts with the same identity: the session is gone.
  const after = room();
  const say = only(client.peer.send(0, { type: 'say', line: 1, text: 'masih di sini?' }));
  const effects = after.datagram(say, ANA);
  t.like(emitted(effects, 'datagram.dropped')[0], { reason: 'unknown-session' });
  const [reset, ...others] = sentDatagrams(effects);
  t.deepEqual(others, []);
  if (reset === undefined) {
    t.fail('no RESET');
    return;
  }
  t.is(reset.length, RESET_BYTES);
  t.true(reset.length < say.length, 'no amplification');
  const packet = decodePacket(reset);
  t.true(packet.ok && packet.packet.type === 'reset');
  if (!packet.ok || packet.packet.type !== 'reset') {
    return;
  }
  t.is(packet.packet.sessionId, client.sessionId);
  t.deepEqual(packet.packet.token, resetTokenOf(resetKeyOf(IDENTITY), sessionIdToBytes(client.sessionId)));
  t.deepEqual(packet.packet.token, client.accept.resetToken, 'the token the ACCEPT gave the client');
  // Another server (another identity) cannot make it.
  const impostor = room({ identitySecret: new Uint8Array(32).fill(7) });
  const [other] = sent(
    impostor.datagram(only(client.peer.send(0, { type: 'say', line: 1, text: 'lagi' })), ANA),
  );
  t.is(other?.type, 'reset');
  t.false(other?.type === 'reset' && macEqual(other.token, client.accept.resetToken));
});

test('a version 1 HELLO gets a version 1 REFUSE version (19 bytes, byte 0 = 1) so that its client says to upgrade; another version’s gets this version’s', (t) => {
  const it = room();
  const v1Hello = new Uint8Array(64);
  v1Hello.set([1, 0x01]);
  v1Hello.set(nonce(5), 2);
  const effects = it.datagram(v1Hello, ANA);
  const [refuse, ...others] = sentDatagrams(effects);
  t.deepEqual(others, []);
  t.is(refuse?.length, 19);
  t.deepEqual(
    [...(refuse ?? [])],
    // Version 1, REFUSE, the nonce, reason 5: 'version' in version 1's list of reasons.
    [1, 0x05, ...nonce(5), 5],
  );
  t.like(emitted(effects, 'datagram.dropped')[0], { reason: 'malformed', detail: 'version' });
  t.deepEqual(sentDatagrams(it.datagram(v1Hello.subarray(0, 63), ANA)), [], 'a short one is not answered');
  const v3Hello = new Uint8Array(96);
  v3Hello.set([3, 0x01]);
  v3Hello.set(nonce(6), 2);
  const [v2Refuse] = sent(it.datagram(v3Hello, ANA));
  t.like(v2Refuse, { type: 'refuse', reason: 'version' });
  t.is(it.room.sessions.size, 0);
  t.is(it.exchanges(), 0);
});

test('the first datagram of a turn sends at once; what later ones of the turn make ready goes out in one flush', (t) => {
  const it = room();
  const ana = member(it, 1, ANA, 'ana');
  const budi = connect(it, 2, BUDI);
  const atAna: string[] = [];
  const hear = (effects: readonly RoomEffect[]) => {
    for (const frame of deliverTo(ana, effects, it.now())) {
      atAna.push(frame.type === 'message' ? `${frame.from}: ${frame.text}` : frame.type);
    }
  };
  // Ana reads the JOINED the room sent her when budi came in.
  hear(claim(it, budi, 'budi').effects);
  const say = (client: Connected, text: string) => {
    client.peer.link.enqueue({ type: 'say', line: 1, text });
    return only(client.peer.link.poll(it.now()));
  };
  const sessionIds = (packets: readonly Packet[]) =>
    packets.map((packet) => (packet.type === 'session' ? packet.sessionId : packet.type)).sort();
  // One turn: ana speaks, then budi.
  const firstEffects = it.datagram(say(ana, 'satu'), ANA);
  t.deepEqual(
    sessionIds(sent(firstEffects)),
    [ana.sessionId, budi.sessionId].sort(),
    'the relay of the first went out at once, to both members',
  );
  hear(firstEffects);
  t.deepEqual(sent(it.datagram(say(budi, 'dua'), BUDI)), [], 'the second waits for the turn to end');
  const flushed = it.endTurn();
  t.deepEqual(
    sessionIds(sent(flushed)),
    [ana.sessionId, budi.sessionId].sort(),
    'one flush: one datagram per member for everything the rest of the turn gave it',
  );
  hear(flushed);
  t.deepEqual(atAna, ['joined', 'ana: satu', 'budi: dua'], 'each sealed for ana, and opened by her keys');
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
  // Ana's session opens and is never spoken on; budi's opens later and claims.
  connect(it, 1, ANA);
  t.not(it.timerAtMs, undefined);
  t.is(it.timerAtMs, earliest());
  it.setNow(1000);
  const budi = connect(it, 2, BUDI);
  t.is(it.timerAtMs, earliest(), 'a later deadline leaves the earliest armed');
  it.setNow(1100);
  claim(it, budi, 'budi');
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

test('a session whose key faced forgeriesMax forgeries ends (RFC 9001 §6.6): its member leaves, keys-spent, and the others hear it', (t) => {
  const forgeriesMax = 2;
  const config = { ...SERVER_CONFIG_DEFAULT, link: { ...SERVER_CONFIG_DEFAULT.link, forgeriesMax } };
  const it = room({ config });
  const ana = member(it, 1, ANA, 'ana');
  const budi = member(it, 2, BUDI, 'budi');
  deliverTo(ana, it.runTimersUntil(it.now()), it.now());
  const forged = (byte: number) => {
    const datagram = only(ana.peer.send(it.now(), { type: 'say', line: byte, text: 'palsu' })).slice();
    datagram[datagram.length - 1] = (datagram[datagram.length - 1] ?? 0) ^ byte;
    return datagram;
  };
  const first = it.datagram(forged(1), ANA);
  t.deepEqual(emitted(first, 'member.left'), [], 'one forgery is not the limit');
  t.true(it.room.members.has('ana'));
  const second = it.datagram(forged(2), ANA);
  t.like(emitted(second, 'member.left')[0], { name: 'ana', reason: 'timeout', cause: 'keys-spent' });
  t.false(it.room.sessions.has(ana.sessionId));
  t.deepEqual(
    deliverTo(budi, second, it.now()).filter((frame) => frame.type === 'left'),
    [{ type: 'left', msgSeq: 1, roomSeq: 3, name: 'ana', reason: 'timeout' }],
  );
});

test("a member's own client rejoining (its CLAIM proves the origin: the secret behind it) takes its name over: the old session leaves, rejoined; another's proof is refused name-taken", (t) => {
  const it = room();
  const first = connect(it, 1, ANA);
  const secret = secretOf(first);
  claim(it, first, 'ana', secret);
  const budi = member(it, 2, BUDI, 'budi');
  // A member who knows ana's public origin but not its secret: refused, as for any taken name.
  const impostor = connect(it, 3, { host: '10.0.0.9', port: 4000 });
  const refused = claim(it, impostor, 'ana');
  t.like(emitted(refused.effects, 'join.refused')[0], { name: 'ana', reason: 'name-taken' });
  t.is(it.room.members.get('ana')?.sessionId, first.sessionId);
  // Ana's client again, from another address (a new session after its keys were spent).
  const again = connect(it, 4, { host: '10.0.0.2', port: 5001 });
  const claimed = claim(it, again, 'ana', secret);
  t.like(emitted(claimed.effects, 'member.left')[0], {
    name: 'ana',
    sessionId: first.sessionId,
    reason: 'timeout',
    cause: 'rejoined',
  });
  t.like(emitted(claimed.effects, 'member.joined')[0], { name: 'ana', sessionId: again.sessionId });
  t.is(it.room.members.get('ana')?.sessionId, again.sessionId);
  t.false(it.room.sessions.has(first.sessionId));
  t.deepEqual(
    deliverTo(budi, claimed.effects, it.now()).map((frame) => frame.type),
    ['left', 'joined'],
  );
});

/** The one WAIT the room sent, or a failure. */
function waitOf(effects: readonly RoomEffect[]) {
  const packets = sent(effects);
  const [wait] = packets;
  if (wait?.type !== 'wait' || packets.length !== 1) {
    throw new Error(`expected one WAIT, got ${JSON.stringify(packets.map((packet) => packet.type))}`);
  }
  return wait;
}

test('a host whose key exchanges never prove the password gets, past its burst, a WAIT throttled with a backoff that doubles, and no key exchange; another host is served', (t) => {
  const config = { ...SERVER_CONFIG_DEFAULT, unprovenPerHostBurst: 3 };
  const it = room({ config });
  const guess = (i: number): readonly RoomEffect[] => {
    const from = { host: ANA.host, port: 7000 + i };
    const { challenge } = hello(it, nonce(i + 1), from);
    return it.datagram(join(it, challenge, WRONG_PASSWORD).datagram, from);
  };
  for (let i = 0; i < 3; i += 1) {
    t.is(sent(guess(i))[0]?.type, 'accept', `guess ${i + 1}`);
  }
  t.is(it.exchanges(), 3);
  const refused = guess(3);
  const wait = waitOf(refused);
  t.like(wait, { reason: 'throttled', retryAfterMs: 1000, clientNonce: nonce(4) });
  t.is(it.exchanges(), 3, 'no key exchange for a throttled JOIN');
  t.like(emitted(refused, 'datagram.dropped')[0], { reason: 'throttled', address: `${ANA.host}:7003` });
  t.true(encodePacket(wait).length <= JOIN_SIZE_MIN, 'smaller than the JOIN it answers');
  t.is(it.room.stats.datagramsDropped.throttled, 1);
  // Another host is served meanwhile.
  connect(it, 50, BUDI);
  t.is(it.exchanges(), 4);
  // After the backoff, one more try, and a backoff twice as long.
  it.setNow(1000);
  t.is(sent(guess(4))[0]?.type, 'accept');
  t.like(waitOf(guess(5)), { reason: 'throttled', retryAfterMs: 2000 });
});

test('a session whose first packet opens proves the password: its host is not held up however many of its people log in', (t) => {
  const config = { ...SERVER_CONFIG_DEFAULT, unprovenPerHostBurst: 2, sessionsPerHostMax: 20 };
  const it = room({ config });
  for (let i = 0; i < 10; i += 1) {
    member(it, i + 1, { host: ANA.host, port: 7000 + i }, `user${i}`);
  }
  t.is(it.room.members.size, 10);
  t.is(it.room.stats.datagramsDropped.throttled, 0);
});

test('a host that holds sessionsPerHostMax sessions gets a WAIT host-quota, members or not; once one of them ends, it gets in', (t) => {
  const config = { ...SERVER_CONFIG_DEFAULT, sessionsPerHostMax: 2 };
  const it = room({ config });
  const first = member(it, 1, { host: ANA.host, port: 7000 }, 'ana');
  connect(it, 2, { host: ANA.host, port: 7001 });
  const from = { host: ANA.host, port: 7002 };
  const { challenge } = hello(it, nonce(3), from);
  const exchange = join(it, challenge);
  const refused = it.datagram(exchange.datagram, from);
  t.like(waitOf(refused), { reason: 'host-quota', retryAfterMs: config.firstContactTimeoutMs });
  t.like(emitted(refused, 'datagram.dropped')[0], { reason: 'host-quota' });
  t.is(it.exchanges(), 2);
  t.is(it.room.sessions.size, 2);
  // Another host is not counted against this one.
  connect(it, 4, BUDI);
  // Ana quits; her goodbye confirmed, her session ends, and the third client gets in.
  const quit = it.datagram(only(first.peer.send(it.now(), { type: 'bye' })), first.from);
  const goodbye = deliverTo(first, quit, it.now());
  t.true(goodbye.some((frame) => frame.type === 'goodbye'));
  it.endTurn();
  it.datagram(only(first.peer.send(it.now())), first.from);
  t.false(it.room.sessions.has(first.sessionId));
  t.is(sent(it.datagram(exchange.datagram, from))[0]?.type, 'accept');
});

test('with the key exchange budget half spent, hosts with an unproven exchange are told to WAIT load; a newcomer is still served; once spent, nobody is', (t) => {
  const config = {
    ...SERVER_CONFIG_DEFAULT,
    keyExchangesPerSecond: 4,
    keyExchangeBurst: 4,
    unprovenPerHostBurst: 10,
  };
  const it = room({ config });
  const attempt = (byte: number, from: PeerAddress, password = WRONG_PASSWORD) => {
    const { challenge } = hello(it, nonce(byte), from);
    return it.datagram(join(it, challenge, password).datagram, from);
  };
  const stranger = { host: '10.0.9.1', port: 9000 };
  t.is(sent(attempt(1, stranger))[0]?.type, 'accept');
  t.is(sent(attempt(2, { ...stranger, port: 9001 }))[0]?.type, 'accept');
  // Half the budget spent: the stranger, with two unproven exchanges, waits until it is refilled.
  t.like(waitOf(attempt(3, { ...stranger, port: 9002 })), { reason: 'load', retryAfterMs: 250 });
  t.is(it.room.stats.datagramsDropped.overloaded, 1);
  // A newcomer is served; after it and one more, nobody is.
  t.is(sent(attempt(4, BUDI, PASSWORD))[0]?.type, 'accept');
  t.is(sent(attempt(5, { host: '10.0.9.2', port: 9000 }))[0]?.type, 'accept');
  t.like(waitOf(attempt(6, { host: '10.0.9.3', port: 9000 })), { reason: 'load', retryAfterMs: 250 });
  t.is(it.exchanges(), 4);
});

/** A member sends `bodies` now: every datagram they fill goes to the room; what the room did. */
function sendAll(it: Harness, client: Connected, ...bodies: Parameters<TestPeer['send']>[1][]): RoomEffect[] {
  const effects: RoomEffect[] = [];
  for (const datagram of client.peer.send(it.now(), ...bodies)) {
    effects.push(...it.datagram(datagram, client.from));
  }
  effects.push(...it.endTurn());
  return effects;
}

function says(from: number, to: number) {
  return Array.from({ length: to - from + 1 }, (_, index) => ({
    type: 'say' as const,
    line: from + index,
    text: `line ${from + index}`,
  }));
}

const PACED_CONFIG = { ...SERVER_CONFIG_DEFAULT, sayRatePerSecond: 2, sayBurst: 3 };

test('a member over its share has its texts wait their turn, in order, none lost; it is told once (PACED, and the log); another member is relayed at once meanwhile', (t) => {
  const it = room({ config: PACED_CONFIG });
  // Budi first: everything the room sends ana reaches her in order.
  const budi = member(it, 2, BUDI, 'budi');
  const ana = member(it, 1, ANA, 'ana');
  const flood = sendAll(it, ana, ...says(1, 6));
  t.deepEqual(
    emitted(flood, 'message.received').map((event) => event.type === 'message.received' && event.line),
    [1, 2, 3],
  );
  t.like(emitted(flood, 'member.paced'), [{ name: 'ana', ratePerSecond: 2, burst: 3 }]);
  t.like(
    deliverTo(ana, flood).filter((frame) => frame.type === 'paced'),
    [{ type: 'paced', ratePerSecond: 2, burst: 3 }],
  );
  const budiSays = sendAll(it, budi, { type: 'say', line: 1, text: 'halo' });
  t.like(emitted(budiSays, 'message.received'), [{ from: 'budi', text: 'halo' }], 'not behind ana');
  const lines = (effects: readonly RoomEffect[]) =>
    emitted(effects, 'message.received').map((event) => event.type === 'message.received' && event.line);
  t.deepEqual(lines(it.runTimersUntil(499)), []);
  t.deepEqual(lines(it.runTimersUntil(500)), [4], "the room's timer fires at ana's next turn");
  const later = it.runTimersUntil(1500);
  t.deepEqual(lines(later), [5, 6]);
  t.deepEqual(emitted(later, 'member.paced'), [], 'told once');
  t.is(it.room.members.size, 2);
});

test("a message carries the wall clock's time, and pacing runs on the clock that never steps back: the wall clock set an hour back delays no waiting text", (t) => {
  let wallMs = 1_800_000_000_000;
  const it = room({ config: PACED_CONFIG, wallNow: () => wallMs });
  member(it, 2, BUDI, 'budi');
  const ana = member(it, 1, ANA, 'ana');
  const times = (effects: readonly RoomEffect[]) =>
    emitted(effects, 'message.received').map((event) => event.type === 'message.received' && event.timeMs);
  t.deepEqual(times(sendAll(it, ana, ...says(1, 4))), [wallMs, wallMs, wallMs], 'three relayed, one waits');
  wallMs -= 3_600_000;
  t.deepEqual(times(it.runTimersUntil(500)), [wallMs], 'its turn comes on time, stamped with the wall clock');
});

/** Who said which line, in the order the room sequenced them. */
function relayedLines(effects: readonly RoomEffect[]): string[] {
  return roomEvents(effects).filter((event) => !event.startsWith('left '));
}

/** The room's texts and departures in order: `ana2`, `left ana`. */
function roomEvents(effects: readonly RoomEffect[]): string[] {
  return effects.flatMap((effect) =>
    effect.kind === 'emit' && effect.event.type === 'message.received'
      ? [`${effect.event.from}${effect.event.line}`]
      : effect.kind === 'emit' && effect.event.type === 'member.left'
        ? [`left ${effect.event.name}`]
        : [],
  );
}

/** `count` members on hosts of their own (`10.0.SUBNET.x`), each having read what the room sent it. */
function crowd(it: Harness, count: number, subnet: number): Connected[] {
  return Array.from({ length: count }, (_, index) =>
    member(it, 10 + index, { host: `10.0.${subnet}.${index + 1}`, port: 5000 }, `m${subnet}-${index}`),
  );
}

const SHARED_CONFIG = { ...SERVER_CONFIG_DEFAULT, roomSayRatePerSecond: 2, roomSayBurst: 4 };

test("members sending together past the room's share take turns: its burst at once, then one text each in turn at its rate; nobody is told PACED, and the log says once that the room is busy", (t) => {
  const it = room({ config: SHARED_CONFIG });
  const ana = member(it, 1, ANA, 'ana');
  const budi = member(it, 2, BUDI, 'budi');
  const citra = member(it, 3, CITRA, 'citra');
  const first = sendAll(it, ana, ...says(1, 6));
  t.deepEqual(relayedLines(first), ['ana1', 'ana2', 'ana3', 'ana4']);
  t.like(emitted(first, 'room.busy'), [{ waitingCount: 1, authorCount: 1, ratePerSecond: 2, burst: 4 }]);
  const later = [
    ...sendAll(it, budi, { type: 'say', line: 1, text: 'halo' }),
    ...sendAll(it, citra, { type: 'say', line: 1, text: 'hai' }),
  ];
  t.deepEqual(relayedLines(later), []);
  t.deepEqual(emitted(later, 'room.busy'), [], 'said once');
  t.deepEqual(emitted([...first, ...later], 'member.paced'), [], 'nobody is over its own share');
  t.is(it.room.sharedSayCount, 4);
  // Budi's and Citra's lines wait behind one of Ana's, not behind all of them.
  t.deepEqual(relayedLines(it.runTimersUntil(500)), ['ana5']);
  t.deepEqual(relayedLines(it.runTimersUntil(1000)), ['budi1']);
  t.deepEqual(relayedLines(it.runTimersUntil(1500)), ['citra1']);
  t.deepEqual(relayedLines(it.runTimersUntil(2000)), ['ana6']);
  t.is(it.room.sharedSayCount, 0);
  t.is(it.room.members.size, 3);
});

test("32 members each sending a whole burst (40) in the same instant: the room's share lets 512 go, the rest wait their turns, and nobody is removed as too slow", (t) => {
  const it = room();
  const clients = crowd(it, 32, 1);
  const effects = clients.flatMap((client) => sendAll(it, client, ...says(1, 40)));
  t.is(emitted(effects, 'message.received').length, SERVER_CONFIG_DEFAULT.roomSayBurst);
  t.deepEqual(emitted(effects, 'member.left'), [], 'a send queue holds the room’s burst twice over');
  t.is(it.room.members.size, 32);
  t.is(it.room.sharedSayCount, 32 * 40 - SERVER_CONFIG_DEFAULT.roomSayBurst);
  t.deepEqual(emitted(effects, 'member.paced'), [], 'each is within its own share');
});

test("a QUIT takes its turns in the room's share: what waited there, then what waited for the member's own share, in order, and the member leaves after the last", (t) => {
  const it = room({
    config: {
      ...SERVER_CONFIG_DEFAULT,
      sayBurst: 2,
      sayRatePerSecond: 1,
      roomSayBurst: 3,
      roomSayRatePerSecond: 1,
    },
  });
  const ana = member(it, 1, ANA, 'ana');
  const budi = member(it, 2, BUDI, 'budi');
  t.deepEqual(relayedLines(sendAll(it, budi, ...says(1, 2))), ['budi1', 'budi2']);
  // ana1 takes the room's last token; ana2 has one of Ana's own but waits for the room's; ana3 and
  // ana4 wait for Ana's own.
  t.deepEqual(relayedLines(sendAll(it, ana, ...says(1, 4))), ['ana1']);
  const anaSession = it.room.members.get('ana');
  t.is(anaSession === undefined ? -1 : it.room.sharedSaysOf(anaSession), 1);
  // Budi's line comes after Ana's QUIT, and still gets its turn before Ana's last two.
  const bye = [
    ...sendAll(it, ana, { type: 'bye' }),
    ...sendAll(it, budi, { type: 'say', line: 3, text: 'dah' }),
  ];
  t.deepEqual(roomEvents(bye), [], 'the room has no token: nothing jumps it');
  t.is(it.room.sharedSayCount, 3, "Ana's three; Budi's waits for his own share until 1000");
  t.deepEqual(
    [1000, 2000, 3000, 4000].flatMap((atMs) => roomEvents(it.runTimersUntil(atMs))),
    ['ana2', 'budi3', 'ana3', 'ana4', 'left ana'],
  );
  t.is(it.room.sharedSayCount, 0);
  t.is(it.room.members.size, 1);
});

test("members quitting together while the room's share is spent wait their turns: nobody's send queue overflows, nobody is removed", (t) => {
  const it = room();
  const clients = crowd(it, 32, 2);
  const said = clients.flatMap((client) => sendAll(it, client, ...says(1, SAYS_UNCONFIRMED_MAX)));
  t.is(emitted(said, 'message.received').length, SERVER_CONFIG_DEFAULT.roomSayBurst);
  const quits = clients.slice(16, 24).flatMap((client) => sendAll(it, client, { type: 'bye' }));
  t.deepEqual(emitted(quits, 'message.received'), [], 'the quitters wait for the room like everyone');
  t.deepEqual(emitted([...said, ...quits], 'member.left'), []);
  t.is(it.room.members.size, 32);
});

test('a stopping room forgets what waited for its share, and a member found dead at a timer says nothing more', (t) => {
  const it = room({ config: SHARED_CONFIG });
  const ana = member(it, 1, ANA, 'ana');
  member(it, 2, BUDI, 'budi');
  sendAll(it, ana, ...says(1, 8));
  t.is(it.room.sharedSayCount, 4);
  it.room.shutdown();
  t.is(it.room.sharedSayCount, 0);
  t.deepEqual(relayedLines(it.runTimersUntil(5000)), []);

  const other = room({ config: { ...SHARED_CONFIG, roomSayRatePerSecond: 1 } });
  const citra = member(other, 3, CITRA, 'citra');
  member(other, 2, BUDI, 'budi');
  sendAll(other, citra, ...says(1, 40));
  // Nobody here acknowledges anything: the links die at the retransmission limit. The timer event that
  // finds Citra's dead relays nothing of what she had waiting (taken one timer at a time).
  const batches: string[][] = [];
  for (let atMs = 0; atMs <= 60_000 && other.timerAtMs !== undefined; atMs = other.timerAtMs) {
    batches.push(roomEvents(other.runTimersUntil(other.timerAtMs)));
  }
  const death = batches.find((batch) => batch.includes('left citra'));
  t.not(death, undefined, batches.flat().join(' '));
  t.deepEqual(
    death?.filter((event) => event.startsWith('citra')),
    [],
    'nothing of hers in the event that found her dead',
  );
  t.true(batches.flat().filter((event) => event.startsWith('citra')).length < 40, 'some were never relayed');
  t.is(other.room.sharedSayCount, 0);
});

test("a member's texts waiting for the room's share count toward what a client may have unconfirmed: one past it is flooding", (t) => {
  const config = {
    ...SERVER_CONFIG_DEFAULT,
    sayBurst: SAYS_UNCONFIRMED_MAX,
    sayRatePerSecond: 1,
    roomSayBurst: 1,
    roomSayRatePerSecond: 1,
  };
  const within = room({ config });
  const ana = member(within, 1, ANA, 'ana');
  member(within, 2, BUDI, 'budi');
  // One relayed, 63 waiting for the room, one waiting for Ana's own share: 64 waiting, the window.
  const held = sendAll(within, ana, ...says(1, SAYS_UNCONFIRMED_MAX + 1));
  t.deepEqual(emitted(held, 'member.left'), []);
  t.is(within.room.sharedSayCount, SAYS_UNCONFIRMED_MAX - 1);
  const past = sendAll(within, ana, { type: 'say', line: SAYS_UNCONFIRMED_MAX + 2, text: 'one more' });
  t.like(emitted(past, 'member.left'), [{ name: 'ana', cause: 'flooding' }]);
  t.is(within.room.sharedSayCount, 0, 'what it had waiting is forgotten with it');
});

test('a member with more texts waiting than a client may have unconfirmed is a flooder: removed (flooding), the others stay', (t) => {
  const it = room({ config: { ...PACED_CONFIG, sayBurst: 1 } });
  const ana = member(it, 1, ANA, 'ana');
  member(it, 2, BUDI, 'budi');
  const flood = sendAll(it, ana, ...says(1, 1 + SAYS_UNCONFIRMED_MAX + 1));
  t.like(emitted(flood, 'member.left'), [{ name: 'ana', reason: 'timeout', cause: 'flooding' }]);
  t.is(emitted(flood, 'message.received').length, 1);
  t.deepEqual(
    [...it.room.members.values()].map((session) => session.name),
    ['budi'],
  );
});

test('a QUIT relays first every text still waiting its turn, in order, then the member leaves', (t) => {
  const it = room({ config: PACED_CONFIG });
  const ana = member(it, 1, ANA, 'ana');
  member(it, 2, BUDI, 'budi');
  const effects = sendAll(it, ana, ...says(1, 6), { type: 'bye' });
  t.deepEqual(roomEvents(effects), ['ana1', 'ana2', 'ana3', 'ana4', 'ana5', 'ana6', 'left ana']);
});

test('a JOIN whose share the exchange refuses (the identity, 32 zero bytes) is charged like any exchange that proves nothing: replayed, it is throttled', (t) => {
  const it = room({ crypto: REAL_CRYPTO, config: { ...SERVER_CONFIG_DEFAULT, unprovenPerHostBurst: 3 } });
  const { challenge } = hello(it, nonce(1), ANA);
  const zeroShare = encodePacket({
    type: 'join',
    clientNonce: challenge.clientNonce,
    timeSlot: challenge.timeSlot,
    cookie: challenge.cookie,
    share: new Uint8Array(32),
  });
  const reasons = Array.from({ length: 5 }, () =>
    emitted(it.datagram(zeroShare, ANA), 'datagram.dropped').map((event) =>
      event.type === 'datagram.dropped' ? event.reason : '',
    ),
  );
  t.deepEqual(reasons, [['bad-share'], ['bad-share'], ['bad-share'], ['throttled'], ['throttled']]);
  t.is(it.exchanges(), 3);
  t.is(it.room.sessions.size, 0);
});
