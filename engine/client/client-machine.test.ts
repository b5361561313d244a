import test from 'ava';
import { SealedBook, simCrypto } from '../../adapters/sim/sim-crypto.ts';
import { VirtualClock } from '../../adapters/sim/virtual-clock.ts';
import { decodePacket, encodePacket } from '../codec/codec.ts';
import {
  type ChallengePacket,
  type Frame,
  type Packet,
  type ReliableFrame,
  SAYS_UNCONFIRMED_MAX,
  type SessionPacket,
} from '../codec/frames.ts';
import { CLIENT_CONFIG_DEFAULT, type ClientConfig, type ConfigOverrides } from '../config.ts';
import { originOf } from '../crypto.ts';
import { type ClientActor, type ClientEvent, createClient, describeRefusal, say } from '../index.ts';
import type { PeerAddress } from '../port.ts';
import { deriveSessionKeys } from '../secure/keys.ts';
import type { CryptoSuite } from '../secure/suite.ts';
import {
  counterRandom,
  openSession,
  sealSession,
  serverAccept,
  type TestAccept,
} from '../test/handshake-peer.ts';
import { UNVERIFIED_ATTEMPTS_FOR_VERDICT } from './client-machine.ts';

const PASSWORD = 'rahasia';
const WRONG_PASSWORD = 'bukan';
const SERVER: PeerAddress = { host: '10.0.0.1', port: 8080 };
const STRANGER: PeerAddress = { host: '10.0.0.66', port: 6666 };
const SESSION_ID = '0123456789abcdef';
/** The stand-in key exchange and signature (adapters/sim/sim-crypto.ts), as the client's env.crypto. */
const CRYPTO = simCrypto(new SealedBook());
/** The scripted server's identity, and a forger's who knows the password but not that secret. */
const IDENTITY = new Uint8Array(32).fill(9);
const FORGER = new Uint8Array(32).fill(13);
const SERVER_KEY = CRYPTO.signature.publicKey(IDENTITY);
/** Keys no exchange gave: a session packet sealed with them is a forgery. */
const WRONG_KEYS = deriveSessionKeys(new Uint8Array(64).fill(1), new Uint8Array(8));

/** How a scripted server answers a JOIN: its password, and whose signature it puts in the ACCEPT. */
interface AcceptAs {
  readonly password?: string;
  readonly signingSecret?: Uint8Array;
  /** The source it arrives from (the server's address by default). */
  readonly from?: PeerAddress;
}

/**
 * A client on a virtual clock whose datagrams the test reads, and answers by hand as the server: the
 * handshake computed as the room computes it (engine/test/handshake-peer.ts), the session's packets
 * sealed and opened with the keys of the ACCEPT it sent last.
 */
function handDriven(
  options: { readonly crypto?: CryptoSuite; readonly config?: ConfigOverrides<ClientConfig> } = {},
) {
  const crypto = options.crypto ?? CRYPTO;
  const clock = new VirtualClock();
  const datagrams: Uint8Array[] = [];
  /** Where each datagram went, by index. */
  const destinations: PeerAddress[] = [];
  const sent: Packet[] = [];
  const events: ClientEvent[] = [];
  const serverRandom = counterRandom(200);
  const client: ClientActor = createClient(
    { name: 'ana', password: PASSWORD, server: SERVER, ...(options.config && { config: options.config }) },
    {
      port: {
        send: (datagram, to) => {
          datagrams.push(datagram);
          destinations.push(to);
          const decoded = decodePacket(datagram);
          if (decoded.ok) {
            sent.push(decoded.packet);
          }
        },
      },
      clock,
      now: () => clock.now(),
      random: counterRandom(),
      afterTurn: clock.afterStep,
      crypto,
    },
  );
  client.on('*', (event) => events.push(event));
  const deliverDatagram = (datagram: Uint8Array, from: PeerAddress = SERVER) =>
    client.send({ type: 'datagram.received', datagram, from });
  const deliver = (packet: Exclude<Packet, { type: 'session' }>, from: PeerAddress = SERVER) =>
    deliverDatagram(encodePacket(packet), from);
  const last = <T extends Packet['type']>(type: T) =>
    sent.findLast((packet): packet is Extract<Packet, { type: T }> => packet.type === type);
  const count = (type: Packet['type']) => sent.filter((packet) => packet.type === type).length;
  let accepted: TestAccept | undefined;
  /** Where the accepted session's datagrams start: the client's packets of earlier sessions are not opened. */
  let sessionStart = 0;
  const keys = () => {
    if (accepted === undefined) {
      throw new Error('no ACCEPT yet');
    }
    return accepted.keys;
  };
  /** Answers the last HELLO with a CHALLENGE carrying the server's identity key. */
  const challenge = (): ChallengePacket => {
    const hello = last('hello');
    if (hello === undefined) {
      throw new Error('no HELLO');
    }
    const packet: ChallengePacket = {
      type: 'challenge',
      clientNonce: hello.clientNonce,
      timeSlot: 1,
      cookie: new Uint8Array(16).fill(5),
      serverKey: SERVER_KEY,
    };
    deliver(packet);
    return packet;
  };
  /** Answers the last JOIN with an ACCEPT (the genuine server's unless `as` says otherwise). */
  const accept = (as: AcceptAs = {}): TestAccept => {
    const join = last('join');
    if (join === undefined) {
      throw new Error('no JOIN');
    }
    const made = serverAccept(crypto, {
      password: as.password ?? PASSWORD,
      identitySecret: IDENTITY,
      join,
      sessionId: SESSION_ID,
      random: serverRandom,
      ...(as.signingSecret && { signingSecret: as.signingSecret }),
    });
    if (as.password === undefined && as.signingSecret === undefined) {
      accepted = made;
      sessionStart = datagrams.length;
    }
    deliverDatagram(made.datagram, as.from ?? SERVER);
    return made;
  };
  /** A SESSION packet from the server, sealed with the session's keys (or `sealWith`). */
  const session = (
    packetNumber: number,
    frames: readonly Frame[],
    from: PeerAddress = SERVER,
    sealWith = keys().serverToClient,
  ) => {
    const datagram = sealSession(crypto, sealWith, SESSION_ID, packetNumber, frames);
    deliverDatagram(datagram, from);
    return datagram;
  };
  /** Plays the server's side of a handshake that lets the client in, and sends the welcome. */
  const join = (): TestAccept => {
    challenge();
    const made = accept();
    session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] }]);
    return made;
  };
  /** What the client sent on its session, opened with the session's keys. */
  const sessionPackets = (): SessionPacket[] =>
    datagrams.slice(sessionStart).flatMap((datagram) => {
      const packet = decodePacket(datagram);
      if (!packet.ok || packet.packet.type !== 'session') {
        return [];
      }
      const opened = openSession(crypto, keys().clientToServer, datagram);
      if (opened === undefined) {
        throw new Error('a session packet of the client did not open with the session keys');
      }
      return [opened];
    });
  const reliableSent = (): ReliableFrame[] =>
    sessionPackets().flatMap((packet) =>
      packet.frames.filter((frame): frame is ReliableFrame => frame.type !== 'ack' && frame.type !== 'ping'),
    );
  /**
   * Runs the clock one timer at a time until the client closes, answering every new HELLO or JOIN
   * with `answer` as it goes out.
   */
  const answerUntilClosed = (answer: (type: 'hello' | 'join') => void) => {
    let hellos = 0;
    let joins = 0;
    for (let step = 0; step < 1000 && client.getSnapshot().status === 'active'; step += 1) {
      if (count('hello') > hellos) {
        hellos = count('hello');
        answer('hello');
      }
      if (count('join') > joins) {
        joins = count('join');
        answer('join');
      }
      if (!clock.step()) {
        break;
      }
    }
  };
  client.start();
  return {
    clock,
    client,
    sent,
    events,
    deliver,
    deliverDatagram,
    challenge,
    accept,
    join,
    session,
    last,
    count,
    keys,
    sessionPackets,
    reliableSent,
    answerUntilClosed,
    destinations,
  };
}

function closedEvent(events: readonly ClientEvent[]) {
  const closed = events.at(-1);
  return closed?.type === 'closed' ? closed : undefined;
}

test('the happy path: a JOIN with the cookie and a key exchange share, an ACCEPT that verifies, the name claimed sealed in the first session packet, the welcome', (t) => {
  const { client, events, challenge, accept, session, last, sessionPackets } = handDriven();
  const hello = last('hello');
  t.truthy(hello);
  const sentChallenge = challenge();
  const join = last('join');
  t.like(join, { type: 'join', timeSlot: 1 });
  t.deepEqual(join?.clientNonce, hello?.clientNonce);
  t.deepEqual(join?.cookie, sentChallenge.cookie);
  t.is(join?.share.length, 32);
  t.true(client.getSnapshot().matches('handshaking'));
  accept();
  t.is(client.getSnapshot().value, 'joined');
  // The client spoke first on the session: its first packet claims the name, sealed.
  const [first, ...others] = sessionPackets();
  t.deepEqual(others, []);
  t.like(first, { sessionId: SESSION_ID, packetNumber: 0 });
  const { origin, originSecret } = client.getSnapshot().context;
  t.is(originSecret.length, 16);
  // Members see the origin; only the server sees the secret it is the hash of.
  t.is(origin, originOf(originSecret));
  t.deepEqual(first?.frames, [{ type: 'claim', msgSeq: 0, name: 'ana', originSecret }]);
  t.deepEqual(
    events.filter((event) => event.type === 'welcome'),
    [],
    'not welcome before the room says so',
  );
  session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['budi', 'ana'] }]);
  const welcomes = events.filter((event) => event.type === 'welcome');
  t.is(welcomes.length, 1);
  t.like(welcomes[0], { type: 'welcome', name: 'ana', members: ['budi', 'ana'], roomSeq: 1 });
  // The key the handshake was signed with, for the client's user to pin.
  t.regex(String(welcomes[0]?.type === 'welcome' ? welcomes[0].serverKey : ''), /^[0-9a-f]{64}$/);
  t.false(events.some((event) => event.type === 'rejected' || event.type === 'closed'));
});

test('a forged ACCEPT is ignored (it cannot be opened without the password, or its signature is not the server’s), and the real one still lets the client in', (t) => {
  const { client, events, challenge, accept, session, deliverDatagram } = handDriven();
  challenge();
  // Someone without the password: the client's key does not open the ACCEPT.
  accept({ password: WRONG_PASSWORD });
  t.true(client.getSnapshot().matches('handshaking'));
  // Someone with the password but not the server's identity secret: it opens, the signature fails.
  accept({ signingSecret: FORGER });
  t.true(client.getSnapshot().matches('handshaking'));
  t.is(client.getSnapshot().context.unverifiedAnswers, 2);
  // An ACCEPT altered on the way (one bit of its sealed part).
  const genuine = accept();
  t.is(client.getSnapshot().value, 'joined', 'the genuine one, after the forgeries');
  const flipped = genuine.datagram.slice();
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  deliverDatagram(flipped);
  session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] }]);
  t.true(events.some((event) => event.type === 'welcome'));
  t.false(events.some((event) => event.type === 'rejected' || event.type === 'closed'));
});

test('answers that never verify, three attempts in a row: rejected as bad-password, "the room password is wrong"', (t) => {
  const { events, challenge, accept, count, answerUntilClosed } = handDriven();
  answerUntilClosed((type) => {
    if (type === 'hello') {
      challenge();
    } else {
      accept({ password: WRONG_PASSWORD });
    }
  });
  // Not at the first answer (it may be a forgery that beat the genuine one), nor after every retry.
  t.is(count('join'), UNVERIFIED_ATTEMPTS_FOR_VERDICT, 'the client tried its JOIN three times');
  const message = describeRefusal('bad-password', 'ana');
  t.regex(message, /^the room password is wrong/);
  t.deepEqual(
    events.filter((event) => event.type === 'rejected'),
    [{ type: 'rejected', reason: 'bad-password', message }],
  );
  t.like(closedEvent(events), { type: 'closed', reason: 'rejected', message });
});

test('a flood of forged ACCEPTs buys at most acceptTriesMax key exchange steps; the client then tries none, not even the genuine one', (t) => {
  let finishes = 0;
  const counting: CryptoSuite = {
    ...CRYPTO,
    keyExchange: {
      ...CRYPTO.keyExchange,
      initiate: (input) => {
        const run = CRYPTO.keyExchange.initiate(input);
        return {
          share: run.share,
          finish: (peerShare) => {
            finishes += 1;
            return run.finish(peerShare);
          },
        };
      },
    },
  };
  const { client, events, challenge, accept, clock } = handDriven({ crypto: counting });
  challenge();
  const tries = CLIENT_CONFIG_DEFAULT.acceptTriesMax;
  for (let forged = 0; forged < tries + 4; forged += 1) {
    accept({ password: WRONG_PASSWORD });
  }
  t.is(finishes, tries);
  accept();
  t.is(finishes, tries, 'past the bound no ACCEPT is tried');
  t.true(client.getSnapshot().matches('handshaking'));
  clock.runUntil(60_000, 10_000);
  t.like(closedEvent(events), { reason: 'rejected' });
  t.like(
    events.find((event) => event.type === 'rejected'),
    { reason: 'bad-password' },
  );
});

test('only REFUSE version answers until the retries run out: rejected as version', (t) => {
  const { events, deliver, last, count, answerUntilClosed } = handDriven();
  answerUntilClosed((type) => {
    const hello = last('hello');
    if (type === 'hello' && hello !== undefined) {
      deliver({ type: 'refuse', clientNonce: hello.clientNonce, reason: 'version' });
      // A REFUSE for another handshake is not this client's.
      deliver({ type: 'refuse', clientNonce: new Uint8Array(16).fill(0xaa), reason: 'version' });
    }
  });
  t.is(count('hello'), CLIENT_CONFIG_DEFAULT.handshakeRetryCountMax + 1, 'a REFUSE is not believed at once');
  const message = describeRefusal('version', 'ana');
  t.deepEqual(
    events.filter((event) => event.type === 'rejected'),
    [{ type: 'rejected', reason: 'version', message }],
  );
  t.like(closedEvent(events), { type: 'closed', reason: 'rejected', message });
});

test('a REFUSE version is not believed when the server answers: the handshake goes on and the client gets in', (t) => {
  const { client, events, deliver, last, join } = handDriven();
  const hello = last('hello');
  if (hello === undefined) {
    throw new Error('no HELLO');
  }
  deliver({ type: 'refuse', clientNonce: hello.clientNonce, reason: 'version' });
  t.true(client.getSnapshot().matches('handshaking'));
  join();
  t.is(client.getSnapshot().value, 'joined');
  t.true(events.some((event) => event.type === 'welcome'));
  t.false(events.some((event) => event.type === 'rejected'));
});

test('a REFUSE version is not believed once the server has challenged: a JOIN never answered is reported as a busy server', (t) => {
  const { events, challenge, deliver, last, clock } = handDriven();
  const sentChallenge = challenge();
  t.truthy(last('join'));
  deliver({ type: 'refuse', clientNonce: sentChallenge.clientNonce, reason: 'version' });
  clock.runUntil(60_000, 10_000);
  t.false(events.some((event) => event.type === 'rejected'));
  const closed = closedEvent(events);
  t.like(closed, { reason: 'unreachable' });
  t.regex(closed?.message ?? '', /answered but did not let us in/);
});

test('a REFUSED frame from the room rejects the client with its reason, once acknowledged', (t) => {
  for (const reason of ['name-taken', 'bad-name', 'room-full'] as const) {
    const { client, events, challenge, accept, session, sessionPackets } = handDriven();
    challenge();
    accept();
    session(0, [{ type: 'refused', msgSeq: 0, reason }]);
    const message = describeRefusal(reason, 'ana');
    t.deepEqual(
      events.filter((event) => event.type === 'rejected'),
      [{ type: 'rejected', reason, message }],
      reason,
    );
    t.like(closedEvent(events), { type: 'closed', reason: 'rejected', message });
    t.is(client.getSnapshot().status, 'done');
    t.true(
      sessionPackets().some((packet) =>
        packet.frames.some(
          (frame) => frame.type === 'ack' && frame.ranges.some((range) => range.smallest === 0),
        ),
      ),
      'the REFUSED was acknowledged before the client went quiet',
    );
  }
});

/** A message frame from `from`, as the server relays it: with its author's origin and line number. */
function message(msgSeq: number, from: string, origin: string, line: number, text: string): Frame {
  return { type: 'message', msgSeq, roomSeq: 10 + msgSeq, timeMs: 0, from, origin, line, text };
}

const BUDI = 'b0b0b0b0b0b0b0b0';

test('a RESET with another token, or from another address, changes nothing', (t) => {
  const { client, events, join, deliver } = handDriven();
  // The token the server sealed in its ACCEPT: only the holder of its identity secret computes it.
  const token = join().resetToken;
  t.deepEqual(client.getSnapshot().context.session?.resetToken, token);
  deliver({ type: 'reset', sessionId: SESSION_ID, token: new Uint8Array(16).fill(0x55) });
  t.is(client.getSnapshot().value, 'joined', 'a wrong token is nobody’s word');
  deliver({ type: 'reset', sessionId: SESSION_ID, token }, STRANGER);
  t.is(client.getSnapshot().value, 'joined', 'the right token from a stranger neither');
  t.false(events.some((event) => event.type === 'closed' || event.type === 'reconnecting'));
});

test('after a RESET the client joins again with the same name and origin, resends what was not confirmed, and shows nothing twice', (t) => {
  const { clock, client, events, join, deliver, challenge, accept, session, last, reliableSent } =
    handDriven();
  const token = join().resetToken;
  const origin = client.getSnapshot().context.origin;
  for (const text of ['satu', 'dua', 'tiga']) {
    t.true(say(client, text).ok);
  }
  clock.runUntil(clock.now(), 100);
  // The old server confirmed 'satu' and relayed budi's first line, then died.
  session(1, [message(1, 'ana', origin, 1, 'satu'), message(2, 'budi', BUDI, 1, 'halo')]);
  const firstNonce = last('hello')?.clientNonce;
  deliver({ type: 'reset', sessionId: SESSION_ID, token });
  t.like(events.at(-1), {
    type: 'reconnecting',
    unconfirmed: 2,
    message:
      'the server no longer holds this session (it restarted, or ended it); joining again as "ana" (2 messages to resend)',
  });
  t.true(client.getSnapshot().matches('handshaking'));
  t.notDeepEqual(last('hello')?.clientNonce, firstNonce, 'a new handshake, with a new nonce');
  t.true(say(client, 'empat').ok, 'a text typed while reconnecting waits for the new session');
  challenge();
  accept();
  t.deepEqual(
    reliableSent().map((frame) =>
      frame.type === 'claim' ? `${frame.name} ${originOf(frame.originSecret)}` : frame,
    ),
    [
      `ana ${origin}`,
      { type: 'say', msgSeq: 1, line: 2, text: 'dua' },
      { type: 'say', msgSeq: 2, line: 3, text: 'tiga' },
      { type: 'say', msgSeq: 3, line: 4, text: 'empat' },
    ],
    'the same name and origin claimed, and the unconfirmed texts resent under their numbers',
  );
  session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['budi', 'ana'] }]);
  t.like(events.at(-1), { type: 'rejoined', name: 'ana', members: ['budi', 'ana'], resent: 2 });
  t.false(
    events.some((event) => event.type === 'welcome' && events.indexOf(event) > 2),
    'one welcome',
  );
  // The new server relays budi's resent line 1 (shown already) and his line 2, and confirms ana's.
  session(1, [
    message(1, 'budi', BUDI, 1, 'halo'),
    message(2, 'budi', BUDI, 2, 'lagi'),
    message(3, 'ana', origin, 2, 'dua'),
    message(4, 'ana', origin, 3, 'tiga'),
    message(5, 'ana', origin, 4, 'empat'),
  ]);
  const shown = events.flatMap((event) =>
    event.type === 'message' ? [`${event.from}${event.self ? ' ✓' : ''}: ${event.text}`] : [],
  );
  t.deepEqual(shown, [
    'ana ✓: satu',
    'budi: halo',
    'budi: lagi',
    'ana ✓: dua',
    'ana ✓: tiga',
    'ana ✓: empat',
  ]);
  t.is(client.getSnapshot().context.own.count, 0);
  // A member of the same name but another origin (another program) is someone new: shown.
  session(2, [message(6, 'budi', 'c0c0c0c0c0c0c0c0', 1, 'saya budi yang lain')]);
  t.like(events.at(-1), { type: 'message', from: 'budi', text: 'saya budi yang lain' });
});

test('a rejoin takes only the server of the same identity key, and a refused rejoin reports what was not sent', (t) => {
  const { client, events, join, deliver, last, session, challenge, accept } = handDriven();
  const token = join().resetToken;
  t.true(say(client, 'belum terkirim').ok);
  deliver({ type: 'reset', sessionId: SESSION_ID, token });
  const hello = last('hello');
  // A member who knows the password poses as the server: its CHALLENGE carries another key.
  deliver({
    type: 'challenge',
    clientNonce: hello?.clientNonce ?? new Uint8Array(16),
    timeSlot: 1,
    cookie: new Uint8Array(16).fill(6),
    serverKey: CRYPTO.signature.publicKey(FORGER),
  });
  t.true(
    client.getSnapshot().matches({ handshaking: 'hello' }),
    'another key is not the server that reset us',
  );
  challenge();
  accept();
  session(0, [{ type: 'refused', msgSeq: 0, reason: 'name-taken' }]);
  const closed = closedEvent(events);
  t.like(closed, { reason: 'rejected' });
  t.like(
    events.find((event) => event.type === 'error'),
    {
      code: 'not-sent',
      message:
        '1 message was not confirmed by the server before the client closed; they may not have reached everyone',
    },
  );
});

test('a server that keeps losing the session is given up on after rejoinCountMax rejoins within the window', (t) => {
  const { client, events, deliver, challenge, accept, session } = handDriven();
  const { rejoinCountMax } = CLIENT_CONFIG_DEFAULT;
  for (let round = 0; round <= rejoinCountMax; round += 1) {
    challenge();
    const { resetToken } = accept();
    session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] }]);
    deliver({ type: 'reset', sessionId: SESSION_ID, token: resetToken });
  }
  t.is(events.filter((event) => event.type === 'reconnecting').length, rejoinCountMax);
  t.is(events.filter((event) => event.type === 'rejoined').length, rejoinCountMax);
  t.like(closedEvent(events), { reason: 'server-closed' });
  t.regex(closedEvent(events)?.message ?? '', /lost this session 4 times within 60 s; giving up/);
  t.is(client.getSnapshot().status, 'done');
});

test('a session packet not sealed with the session’s keys, or replayed, changes nothing', (t) => {
  const { client, events, join, session, deliverDatagram } = handDriven();
  join();
  const ignoredBefore = client.getSnapshot().context.datagramsIgnored;
  session(1, [{ type: 'shutdown', msgSeq: 1 }], SERVER, WRONG_KEYS.serverToClient);
  t.is(client.getSnapshot().value, 'joined', 'a forged SHUTDOWN does not close the room for the client');
  const joined = session(1, [{ type: 'joined', msgSeq: 1, roomSeq: 2, name: 'budi' }]);
  t.deepEqual(
    events.filter((event) => event.type === 'joined'),
    [{ type: 'joined', name: 'budi', roomSeq: 2 }],
    'the forgery did not take packet number 1',
  );
  deliverDatagram(joined);
  t.is(events.filter((event) => event.type === 'joined').length, 1);
  t.is(client.getSnapshot().context.datagramsIgnored, ignoredBefore + 2, 'the forgery and the replay');
});

test('a server that answers the HELLO but never the JOIN is reported as busy, not as unreachable by address', (t) => {
  const { clock, events, challenge } = handDriven();
  challenge();
  clock.runUntil(60_000, 10_000);
  const retries = events.filter((event) => event.type === 'retrying');
  t.is(retries.length, CLIENT_CONFIG_DEFAULT.handshakeRetryCountMax);
  t.regex(retries[0]?.type === 'retrying' ? retries[0].message : '', /no answer to the JOIN/);
  const closed = events.at(-1);
  t.is(closed?.type, 'closed');
  t.like(closed, { reason: 'unreachable' });
  t.regex(closed?.type === 'closed' ? closed.message : '', /answered but did not let us in/);
  t.notRegex(closed?.type === 'closed' ? closed.message : '', /firewall/);
});

test('a silent server is reported with what to check: that it runs, the address and port, the firewall', (t) => {
  const { clock, events } = handDriven();
  clock.runUntil(60_000, 10_000);
  const closed = events.at(-1);
  t.like(closed, { type: 'closed', reason: 'unreachable' });
  t.regex(
    closed?.type === 'closed' ? closed.message : '',
    /no answer from 10\.0\.0\.1:8080 .*firewall blocks UDP port 8080/,
  );
});

test('session packets from any address but the server are ignored: a stranger cannot close the room for a client', (t) => {
  const { clock, client, events, join, session, deliverDatagram } = handDriven();
  join();
  t.true(events.some((event) => event.type === 'welcome'));
  // Even a genuine packet of the session, sealed with its keys, is not the server's word from elsewhere.
  const shutdown = session(1, [{ type: 'shutdown', msgSeq: 1 }], STRANGER);
  clock.runUntil(100, 1000);
  t.is(client.getSnapshot().value, 'joined');
  t.false(events.some((event) => event.type === 'closed'));
  // The same packet from the server's address is the server's word.
  deliverDatagram(shutdown);
  t.like(events.at(-1), { type: 'closed', reason: 'server-closed' });
});

test('a SHUTDOWN while leaving closes the client as server-closed, and lines typed in the handshake are reported if it quits', (t) => {
  const leaving = handDriven();
  leaving.join();
  leaving.client.send({ type: 'chat.quit' });
  t.is(leaving.client.getSnapshot().value, 'leaving');
  leaving.session(1, [{ type: 'shutdown', msgSeq: 1 }]);
  t.like(leaving.events.at(-1), { type: 'closed', reason: 'server-closed' });

  const early = handDriven();
  early.client.send({ type: 'chat.say', text: 'satu' });
  early.client.send({ type: 'chat.say', text: 'dua' });
  early.client.send({ type: 'chat.quit' });
  t.like(
    early.events.find((event) => event.type === 'error'),
    { code: 'not-sent' },
  );
  t.like(early.events.at(-1), { type: 'closed', reason: 'quit' });
});

test('say returns the verdict the client emits: taken, too long, queue full, leaving, closed; texts typed in the handshake follow the CLAIM', (t) => {
  const { clock, client, events, join, sessionPackets, reliableSent } = handDriven();
  t.deepEqual(say(client, 'sebelum masuk'), { ok: true }, 'a text typed during the handshake waits for it');
  join();
  t.deepEqual(
    sessionPackets()[0]?.frames,
    [
      { type: 'claim', msgSeq: 0, name: 'ana', originSecret: client.getSnapshot().context.originSecret },
      { type: 'say', msgSeq: 1, line: 1, text: 'sebelum masuk' },
    ],
    'the first session packet claims the name, then says what waited',
  );
  t.deepEqual(say(client, 'halo'), { ok: true });
  // The turn ends (the welcome's acknowledgement opened it): what it made ready goes out.
  clock.runUntil(clock.now(), 100);
  t.true(
    reliableSent().some((frame) => frame.type === 'say' && frame.text === 'halo'),
    'a text taken is sent, sealed with the session’s keys',
  );
  const errorsBefore = events.filter((event) => event.type === 'error').length;
  const tooLong = say(client, 'x'.repeat(1001));
  t.like(tooLong, { ok: false, code: 'text-too-long' });
  const emitted = events.filter((event) => event.type === 'error');
  t.is(emitted.length, errorsBefore + 1, 'the machine emitted the same refusal');
  t.like(emitted.at(-1), tooLong.ok ? {} : { code: tooLong.code, message: tooLong.message });
  // Nothing is confirmed: texts wait up to the places kept for a rejoin's CLAIM and for the BYE.
  const textsMax = CLIENT_CONFIG_DEFAULT.link.sendQueueCountMax - 2;
  // 'sebelum masuk' and 'halo' wait.
  let waiting = 2;
  while (say(client, `pesan ${waiting}`).ok && waiting < 10 * textsMax) {
    waiting += 1;
  }
  t.is(waiting, textsMax, 'every place but the two kept was taken');
  t.like(say(client, 'satu lagi'), { ok: false, code: 'send-queue-full' });
  client.send({ type: 'chat.quit' });
  t.like(say(client, 'terlambat'), { ok: false, code: 'not-open' });
  client.stop();
  t.like(say(client, 'sesudah tutup'), { ok: false, code: 'not-open' });
});

test('a session whose key sealed packetNumberMax packets, or faced forgeriesMax forgeries, is left for a new one: the client rejoins', (t) => {
  for (const spend of ['packets', 'forgeries'] as const) {
    const link =
      spend === 'packets'
        ? { packetNumberMax: 3 }
        : { forgeriesMax: 2, packetNumberMax: CLIENT_CONFIG_DEFAULT.link.packetNumberMax };
    const { clock, client, events, join, session, last } = handDriven({ config: { link } });
    join();
    const hellos = () => events.filter((event) => event.type === 'reconnecting').length;
    if (spend === 'packets') {
      for (let line = 0; line < 5 && hellos() === 0; line += 1) {
        say(client, `pesan ${line}`);
        clock.runUntil(clock.now() + 50, 100);
      }
    } else {
      session(1, [{ type: 'ping' }], SERVER, WRONG_KEYS.serverToClient);
      t.is(hellos(), 0, 'one forgery is not the limit');
      session(2, [{ type: 'ping' }], SERVER, WRONG_KEYS.serverToClient);
    }
    const reconnecting = events.find((event) => event.type === 'reconnecting');
    t.regex(
      reconnecting?.type === 'reconnecting' ? reconnecting.message : '',
      /^this session's keys are spent; joining again as "ana"/,
    );
    t.true(client.getSnapshot().matches('handshaking'), spend);
    t.truthy(last('hello'));
  }
});

test('an author the server dropped, who rejoins and resends a line already shown, is not shown it again: leaving forgets nothing', (t) => {
  const { events, join, session } = handDriven();
  join();
  session(1, [
    { type: 'joined', msgSeq: 1, roomSeq: 2, name: 'budi' },
    message(2, 'budi', BUDI, 1, 'halo'),
    // The server dropped budi (a silence): its RESET sent budi back, and budi resends line 1.
    { type: 'left', msgSeq: 3, roomSeq: 14, name: 'budi', reason: 'timeout' },
    { type: 'joined', msgSeq: 4, roomSeq: 15, name: 'budi' },
    message(5, 'budi', BUDI, 1, 'halo'),
    message(6, 'budi', BUDI, 2, 'lagi'),
  ]);
  t.deepEqual(
    events.flatMap((event) => (event.type === 'message' ? [event.text] : [])),
    ['halo', 'lagi'],
  );
});

test('a forged CHALLENGE with a bogus cookie costs one attempt, not the handshake: the real one is taken at the next retry, however many came before', (t) => {
  const { clock, client, deliver, challenge, accept, last, events } = handDriven();
  const genuine = challenge();
  const fresh = (byte: number) => ({ ...genuine, cookie: new Uint8Array(16).fill(byte) });
  // Forgeries (and renewals) beyond the count that restarts retries: each is taken, one per attempt.
  for (let round = 0; round < CLIENT_CONFIG_DEFAULT.handshakeRenewCountMax + 2; round += 1) {
    deliver(fresh(0x60 + round));
    t.deepEqual(last('join')?.cookie, fresh(0x60 + round).cookie, `round ${round}: a fresh cookie is taken`);
    deliver(fresh(0x70 + round));
    t.deepEqual(last('join')?.cookie, fresh(0x60 + round).cookie, 'but only one an attempt');
    clock.step();
  }
  deliver(fresh(0x7f));
  accept();
  t.true(client.getSnapshot().matches('joined'));
  t.false(events.some((event) => event.type === 'closed'));
});

test('a WAIT for its JOIN makes the client wait as long as it says, tell its user, then start the handshake afresh and get in', (t) => {
  const { client, events, challenge, deliver, last, count, clock, join } = handDriven();
  const sentChallenge = challenge();
  deliver({ type: 'wait', clientNonce: sentChallenge.clientNonce, reason: 'throttled', retryAfterMs: 4000 });
  // A WAIT for another handshake is not this client's.
  deliver({ type: 'wait', clientNonce: new Uint8Array(16).fill(0xaa), reason: 'load', retryAfterMs: 60_000 });
  t.like(
    events.filter((event) => event.type === 'waiting'),
    [{ type: 'waiting', reason: 'throttled', retryAfterMs: 4000 }],
  );
  t.regex(
    events.find((event) => event.type === 'waiting')?.message ?? '',
    /slowing logins.*4 s \(wait 1 of 5\)/,
  );
  const hellos = count('hello');
  clock.runUntil(clock.now() + 3999, 100);
  t.is(count('hello'), hellos, 'nothing is sent while it waits');
  clock.runUntil(clock.now() + 1, 100);
  t.is(count('hello'), hellos + 1);
  t.truthy(last('hello'));
  join();
  t.is(client.getSnapshot().value, 'joined');
});

test('a genuine ACCEPT that comes while the client waits is taken: a forged WAIT costs no more than the wait', (t) => {
  const { client, challenge, deliver, accept, session } = handDriven();
  const sentChallenge = challenge();
  deliver({ type: 'wait', clientNonce: sentChallenge.clientNonce, reason: 'load', retryAfterMs: 60_000 });
  t.true(client.getSnapshot().matches({ handshaking: 'waiting' }));
  accept();
  session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] }]);
  t.is(client.getSnapshot().value, 'joined');
});

test('WAITs are taken at most waitCountMax times, each for at most waitMaxMs; the next one rejects the client with its reason', (t) => {
  const { events, challenge, deliver, clock } = handDriven();
  const config = CLIENT_CONFIG_DEFAULT;
  const started = clock.now();
  for (let i = 0; i <= config.waitCountMax; i += 1) {
    const sentChallenge = challenge();
    deliver({
      type: 'wait',
      clientNonce: sentChallenge.clientNonce,
      reason: 'host-quota',
      retryAfterMs: 0xffff_ffff,
    });
    clock.runUntil(clock.now() + config.waitMaxMs, 1000);
  }
  t.deepEqual(
    events
      .filter((event) => event.type === 'waiting')
      .map((event) => event.type === 'waiting' && event.retryAfterMs),
    Array.from({ length: config.waitCountMax }, () => config.waitMaxMs),
  );
  t.like(
    events.find((event) => event.type === 'rejected'),
    { reason: 'host-quota' },
  );
  t.like(closedEvent(events), { reason: 'rejected' });
  t.regex(closedEvent(events)?.message ?? '', /sessions-per-host.*gave up after waiting 5 times/);
  t.true(clock.now() - started <= (config.waitCountMax + 1) * config.waitMaxMs);
});

test('at most SAYS_UNCONFIRMED_MAX texts are out unconfirmed; the rest wait, in order, and go as confirmations come; a QUIT goes after the last of them', (t) => {
  const { clock, client, join, session, reliableSent } = handDriven();
  join();
  const origin = client.getSnapshot().context.origin;
  const total = SAYS_UNCONFIRMED_MAX + 10;
  for (let line = 1; line <= total; line += 1) {
    t.true(say(client, `line ${line}`).ok);
  }
  clock.runUntil(clock.now(), 100);
  const saidLines = () => reliableSent().flatMap((frame) => (frame.type === 'say' ? [frame.line] : []));
  t.is(saidLines().length, SAYS_UNCONFIRMED_MAX);
  client.send({ type: 'chat.quit' });
  clock.runUntil(clock.now(), 100);
  t.false(
    reliableSent().some((frame) => frame.type === 'bye'),
    'the BYE waits for the texts held back',
  );
  // The server confirms the first 6: as many more go out.
  session(
    1,
    Array.from({ length: 6 }, (_, index) =>
      message(1 + index, 'ana', origin, 1 + index, `line ${1 + index}`),
    ),
  );
  clock.runUntil(clock.now(), 100);
  t.deepEqual(
    saidLines(),
    Array.from({ length: SAYS_UNCONFIRMED_MAX + 6 }, (_, index) => index + 1),
  );
  t.false(reliableSent().some((frame) => frame.type === 'bye'));
  session(
    2,
    Array.from({ length: 4 }, (_, index) =>
      message(7 + index, 'ana', origin, 7 + index, `line ${7 + index}`),
    ),
  );
  clock.runUntil(clock.now(), 100);
  const sent = reliableSent();
  t.deepEqual(
    saidLines(),
    Array.from({ length: total }, (_, index) => index + 1),
    'each once, in order',
  );
  t.is(sent.at(-1)?.type, 'bye', 'the BYE after the last text');
});

test('a PACED frame tells the user their texts wait their turn', (t) => {
  const { events, join, session } = handDriven();
  join();
  session(1, [{ type: 'paced', msgSeq: 1, ratePerSecond: 20, burst: 40 }]);
  t.like(
    events.filter((event) => event.type === 'slowed'),
    [{ type: 'slowed', ratePerSecond: 20, burst: 40 }],
  );
  const slowed = events.at(-1);
  t.regex(slowed?.type === 'slowed' ? slowed.message : '', /40 at once, then 20 a second/);
});

test('a QUIT behind more texts than the window waits as long as the server keeps confirming them: every text goes, then the BYE', (t) => {
  const { clock, client, events, join, session, reliableSent } = handDriven();
  join();
  const origin = client.getSnapshot().context.origin;
  const total = 3 * SAYS_UNCONFIRMED_MAX;
  for (let line = 1; line <= total; line += 1) {
    t.true(say(client, `line ${line}`).ok);
  }
  client.send({ type: 'chat.quit' });
  // The server confirms a window's worth every 8 s: slower than the quit timeout, all told.
  for (let batch = 0; batch < 3; batch += 1) {
    clock.runUntil(clock.now() + 8000, 100);
    t.true(client.getSnapshot().matches('leaving'), `still leaving after batch ${batch}`);
    // A window's worth, 16 to a packet (a datagram holds no more).
    for (let part = 0; part < SAYS_UNCONFIRMED_MAX / 16; part += 1) {
      const first = batch * SAYS_UNCONFIRMED_MAX + part * 16 + 1;
      session(
        1 + batch * 4 + part,
        Array.from({ length: 16 }, (_, index) =>
          message(first + index, 'ana', origin, first + index, `line ${first + index}`),
        ),
      );
    }
  }
  clock.runUntil(clock.now() + 100, 100);
  const sent = reliableSent();
  // Each line once (retransmissions aside: nobody acknowledges the client here), then the BYE.
  t.is(new Set(sent.flatMap((frame) => (frame.type === 'say' ? [frame.line] : []))).size, total);
  t.true(sent.some((frame) => frame.type === 'bye'));
  const firstBye = sent.findIndex((frame) => frame.type === 'bye');
  const lastLine = sent.findIndex((frame) => frame.type === 'say' && frame.line === total);
  t.true(lastLine >= 0 && lastLine < firstBye, 'the last line goes before the BYE');
  t.false(events.some((event) => event.type === 'closed' && event.reason === 'timeout'));
});

test('an ACCEPT arriving from another source (a copy with a spoofed one) does not send the session astray: it goes where the JOIN went', (t) => {
  const { client, challenge, accept, session, destinations, clock } = handDriven();
  challenge();
  accept({ from: STRANGER });
  const sentBefore = destinations.length;
  // The server's own packets, from its address, are taken; so are the ACCEPT's source's.
  session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] }]);
  t.is(client.getSnapshot().value, 'joined');
  t.true(say(client, 'halo').ok);
  clock.runUntil(clock.now() + 100, 100);
  const after = destinations.slice(sentBefore - 1);
  t.true(after.length > 0);
  t.true(
    after.every((to) => to.host === SERVER.host && to.port === SERVER.port),
    JSON.stringify(after),
  );
});
