import { testProp } from '@fast-check/ava';
import test from 'ava';
import {
  encodeSessionPlaintext,
  type OutgoingSessionPacket,
  prepareFrame,
  sessionIdToBytes,
} from '../../engine/codec/codec.ts';
import {
  encodePacket,
  type Frame,
  LINK_CONFIG_DEFAULT,
  type Packet,
  type ReliableFrameBody,
} from '../../engine/index.ts';
import { deriveSessionKeys } from '../../engine/secure/keys.ts';
import { SessionProtection } from '../../engine/secure/session-protection.ts';
import { testSeal } from '../../engine/test/sealing.ts';
import { packetArb, sessionFramesArb, sessionIdArb } from '../../properties/arbitraries/frames.ts';
import { DATAGRAM_LABEL_LENGTH_MAX, describeDatagram } from './datagram-label.ts';
import { SimNetwork } from './network.ts';
import { SealedBook, simCrypto } from './sim-crypto.ts';
import { plainTraceEntry, Trace } from './trace.ts';
import { VirtualClock } from './virtual-clock.ts';

const NONCE = Uint8Array.from({ length: 16 }, (_, index) => index);
const COOKIE = Uint8Array.from({ length: 16 }, (_, index) => 100 + index);
const KEY = Uint8Array.from({ length: 32 }, (_, index) => 200 + index);
const SESSION_ID = '0123456789abcdef';
/** The shared secret of a key exchange, as both ends of one session would hold it. */
const ISK = new Uint8Array(64).fill(3);
/** Another run's: sealing is deterministic, so the same keys would seal the same bytes as this run. */
const ELSEWHERE = { book: new SealedBook(), isk: new Uint8Array(64).fill(4) };

type HandshakePacket = Exclude<Packet, { readonly type: 'session' }>;

/** The SESSION packet of one frame, as a link hands it to the encoder. */
function outgoingOne(frame: Frame, sessionId: string, packetNumber: number): OutgoingSessionPacket {
  const base = {
    sessionIdBytes: sessionIdToBytes(sessionId),
    packetNumber,
    ack: undefined,
    frames: [],
    ping: false,
  };
  switch (frame.type) {
    case 'ack':
      return { ...base, ack: frame };
    case 'ping':
      return { ...base, ping: true };
    default: {
      const { msgSeq, ...body } = frame;
      return { ...base, frames: [{ msgSeq, prepared: prepareFrame(body as ReliableFrameBody) }] };
    }
  }
}

interface SealOptions {
  /** What records the plaintexts sealed: the run's book. */
  readonly book?: SealedBook;
  readonly packetNumber?: number;
  readonly sessionId?: string;
  readonly side?: 'client' | 'server';
  /** The session's shared secret: another one stands for another run's session. */
  readonly isk?: Uint8Array;
}

/** The book of this file's runs: it knows every packet {@link sealed} seals unless told another. */
const BOOK = new SealedBook();

/**
 * A SESSION datagram sealed as a session of a simulated run seals it: real keys, the run's AEAD
 * recording what it seals in `book`. `frames` go in the order given (any order decodes); `plaintext`
 * overrides them with raw bytes.
 */
function sealed(frames: readonly Frame[], options: SealOptions = {}, plaintext?: Uint8Array): Uint8Array {
  const { book = BOOK, packetNumber = 7, sessionId = SESSION_ID, side = 'client', isk = ISK } = options;
  const keys = deriveSessionKeys(isk, sessionIdToBytes(sessionId));
  const protection = new SessionProtection(
    keys,
    side,
    simCrypto(book).aead,
    LINK_CONFIG_DEFAULT.forgeriesMax,
  );
  const { header } = encodeSessionPlaintext(outgoingOne({ type: 'ping' }, sessionId, packetNumber));
  const body =
    plaintext ??
    Uint8Array.from(
      frames.flatMap((frame) => [
        ...encodeSessionPlaintext(outgoingOne(frame, sessionId, packetNumber)).plaintext,
      ]),
    );
  return Uint8Array.of(...header, ...protection.seal(header, packetNumber, body));
}

function labelOf(packet: HandshakePacket) {
  return describeDatagram(encodePacket(packet), BOOK);
}

/** The label of a SESSION packet of these frames, sealed in this run. */
function labelOfFrames(...frames: Frame[]) {
  return describeDatagram(sealed(frames), BOOK);
}

const ACK: Frame = { type: 'ack', ranges: [{ smallest: 1, largest: 5 }] };
const MESSAGE_4: Frame = {
  type: 'message',
  msgSeq: 2,
  roomSeq: 4,
  timeMs: 1500,
  from: 'ana',
  origin: '0123456789abcdef',
  line: 1,
  text: 'halo',
};
const SEALED_7 = { text: 'sealed #7', ackOrPingOnly: false, packetType: 'session', sessionId: SESSION_ID };

test('handshake packets are labelled by their type, a REFUSE with its reason; a JOIN carries no name now', (t) => {
  t.deepEqual(labelOf({ type: 'hello', clientNonce: NONCE }), {
    text: 'HELLO',
    ackOrPingOnly: false,
    packetType: 'hello',
  });
  t.is(
    labelOf({ type: 'challenge', clientNonce: NONCE, timeSlot: 3, cookie: COOKIE, serverKey: KEY }).text,
    'CHALLENGE',
  );
  // The name goes sealed, in the session's CLAIM.
  t.deepEqual(labelOf({ type: 'join', clientNonce: NONCE, timeSlot: 3, cookie: COOKIE, share: KEY }), {
    text: 'JOIN',
    ackOrPingOnly: false,
    packetType: 'join',
  });
  const accept = {
    type: 'accept',
    clientNonce: NONCE,
    sessionId: SESSION_ID,
    share: KEY,
    sealed: new Uint8Array(96),
  } as const;
  t.is(labelOf(accept).text, 'ACCEPT');
  t.is(labelOf({ type: 'refuse', clientNonce: NONCE, reason: 'version' }).text, 'REFUSE version');
  t.is(labelOf({ type: 'refuse', clientNonce: NONCE, reason: 'bad-password' }).text, 'REFUSE bad-password');
  t.is(labelOf({ type: 'refuse', clientNonce: NONCE, reason: 'room-full' }).text, 'REFUSE room-full');
  t.deepEqual(labelOf({ type: 'reset', sessionId: SESSION_ID, token: COOKIE }), {
    text: 'RESET',
    ackOrPingOnly: false,
    packetType: 'reset',
  });
});

test('a SESSION packet the run sealed is labelled by its frames, room events with their roomSeq', (t) => {
  t.is(labelOfFrames(ACK, MESSAGE_4).text, 'ACK+MESSAGE #4');
  t.is(labelOfFrames({ type: 'say', msgSeq: 1, line: 1, text: 'halo' }).text, 'SAY');
  t.is(
    labelOfFrames({ type: 'members', msgSeq: 1, roomSeq: 3, final: true, names: ['ana'] }).text,
    'MEMBERS #3',
  );
  t.is(labelOfFrames({ type: 'joined', msgSeq: 2, roomSeq: 5, name: 'budi' }).text, 'JOINED #5 budi');
  t.is(
    labelOfFrames({ type: 'left', msgSeq: 3, roomSeq: 6, name: 'budi', reason: 'timeout' }).text,
    'LEFT #6 budi',
  );
  t.is(labelOfFrames({ type: 'bye', msgSeq: 4 }).text, 'BYE');
  t.is(labelOfFrames(ACK, { type: 'goodbye', msgSeq: 5 }).text, 'ACK+GOODBYE');
  t.is(labelOfFrames({ type: 'shutdown', msgSeq: 6 }).text, 'SHUTDOWN');
  // The frames version 2 adds: the claim of a name, and the room's refusal of it.
  t.is(
    labelOfFrames({ type: 'claim', msgSeq: 0, name: 'ana', originSecret: new Uint8Array(16) }).text,
    'CLAIM',
  );
  t.is(labelOfFrames(ACK, { type: 'refused', msgSeq: 0, reason: 'name-taken' }).text, 'ACK+REFUSED');
  // The server's packets are in the book as well as the client's.
  t.is(describeDatagram(sealed([MESSAGE_4], { side: 'server' }), BOOK).text, 'MESSAGE #4');
});

test('only packets whose frames are all ACK or PING are marked as ACK-only or keepalive', (t) => {
  t.deepEqual(labelOfFrames(ACK), {
    text: 'ACK',
    ackOrPingOnly: true,
    packetType: 'session',
    sessionId: SESSION_ID,
  });
  t.deepEqual(labelOfFrames({ type: 'ping' }), {
    text: 'PING',
    ackOrPingOnly: true,
    packetType: 'session',
    sessionId: SESSION_ID,
  });
  t.deepEqual(labelOfFrames(ACK, { type: 'ping' }), {
    text: 'ACK+PING',
    ackOrPingOnly: true,
    packetType: 'session',
    sessionId: SESSION_ID,
  });
  t.false(labelOfFrames(ACK, MESSAGE_4).ackOrPingOnly);
  t.false(labelOfFrames({ type: 'ping' }, { type: 'bye', msgSeq: 1 }).ackOrPingOnly);
  t.false(labelOf({ type: 'hello', clientNonce: NONCE }).ackOrPingOnly);
});

test('a SESSION packet the book does not know is labelled sealed with its packet number, and not marked', (t) => {
  // Sealed in another run (another book): its frames are unknown here, even an ACK's.
  const elsewhere = sealed([ACK], ELSEWHERE);
  t.deepEqual(describeDatagram(elsewhere, BOOK), SEALED_7);
  // Without a book nothing sealed is known.
  t.deepEqual(describeDatagram(sealed([ACK]), undefined), SEALED_7);
  t.deepEqual(describeDatagram(sealed([ACK])), SEALED_7);
  // Sealed outside the run's AEAD (the engine's test keys): the same.
  const header = sealed([ACK], ELSEWHERE).subarray(0, 14);
  const withTestKeys = Uint8Array.of(...header, ...testSeal()(header, 7, Uint8Array.of(0x02)));
  t.deepEqual(describeDatagram(withTestKeys, BOOK), SEALED_7);
  // The packet number is the header's, in the clear.
  const later = describeDatagram(sealed([MESSAGE_4], { ...ELSEWHERE, packetNumber: 4242 }), BOOK);
  t.deepEqual(later, { ...SEALED_7, text: 'sealed #4242' });
  t.is(
    describeDatagram(sealed([MESSAGE_4], { ...ELSEWHERE, packetNumber: 2 ** 32 - 1 }), BOOK).text,
    'sealed #4294967295',
  );
});

test('a sealed packet whose tag was changed, or whose known plaintext holds no frames, is labelled sealed', (t) => {
  const datagram = sealed([ACK, MESSAGE_4]);
  t.is(describeDatagram(datagram, BOOK).text, 'ACK+MESSAGE #4');
  // A flipped tag: not what the run sealed (it would not open either).
  const forged = datagram.slice();
  forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 0x01;
  t.deepEqual(describeDatagram(forged, BOOK), SEALED_7);
  // Sealed in this run, but its plaintext is not frames (unknown type 0x0d): named by what is known.
  t.deepEqual(describeDatagram(sealed([], {}, Uint8Array.of(0x0d, 0x00)), BOOK), SEALED_7);
});

test('a long label is cut, naming the frames that fit and counting the rest', (t) => {
  const messages = Array.from(
    { length: 9 },
    (_, index): Frame => ({ ...MESSAGE_4, msgSeq: index, roomSeq: 10 + index }),
  );
  const label = labelOfFrames(ACK, ...messages).text;
  t.true(label.length <= DATAGRAM_LABEL_LENGTH_MAX, label);
  const match = /^(.*)\+(\d+) more$/.exec(label);
  t.truthy(match, label);
  const named = (match?.[1] ?? '').split('+');
  t.is(named[0], 'ACK');
  t.is(named[1], 'MESSAGE #10');
  t.is(named.length + Number(match?.[2]), 10, label);
});

test('bytes the codec refuses are labelled with the reason instead of throwing', (t) => {
  t.is(describeDatagram(new Uint8Array()).text, 'undecodable (too-short)');
  t.is(describeDatagram(Uint8Array.of(9, 1, 2, 3)).text, 'undecodable (version)');
  // Version 1's datagrams are another version's.
  t.is(describeDatagram(Uint8Array.of(1, 1, ...new Uint8Array(62)), BOOK).text, 'undecodable (version)');
  // A SESSION packet with no room for a frame and its tag.
  t.deepEqual(describeDatagram(sealed([ACK]).subarray(0, 30), BOOK), {
    text: 'undecodable (too-short)',
    ackOrPingOnly: false,
    packetType: 'undecodable',
  });
});

test('a CLAIM name, which the server reads unchecked, never reaches the label: nothing unprintable does', (t) => {
  // Version 1 showed a JOIN's name, odd characters replaced; version 2's name travels sealed in a
  // CLAIM, which is labelled by its type alone, whatever bytes its name holds.
  for (const name of ['an\u0007', 'caf\u00e9', '<svg>', 'a'.repeat(255)]) {
    const label = labelOfFrames({ type: 'claim', msgSeq: 0, name, originSecret: new Uint8Array(16) });
    t.is(label.text, 'CLAIM', JSON.stringify(name));
  }
  // A JOIN's padding (any bytes) does not reach its label either.
  const join = encodePacket({ type: 'join', clientNonce: NONCE, timeSlot: 3, cookie: COOKIE, share: KEY });
  t.is(describeDatagram(Uint8Array.of(...join, 0x07, 0xff, 0x3c), BOOK).text, 'JOIN');
});

testProp('every handshake packet gets a short printable label, never marked', [packetArb], (t, packet) => {
  const label = labelOf(packet);
  t.true(label.text.length > 0 && label.text.length <= DATAGRAM_LABEL_LENGTH_MAX, label.text);
  t.regex(label.text, /^[\x20-\x7e…]+$/);
  t.false(label.ackOrPingOnly);
  t.is(label.packetType, packet.type);
});

testProp(
  'every SESSION packet the run sealed gets a short printable label, marked exactly when all its frames are ACK or PING',
  [sessionIdArb, sessionFramesArb],
  (t, sessionId, frames) => {
    const label = describeDatagram(sealed(frames, { sessionId }), BOOK);
    t.true(label.text.length > 0 && label.text.length <= DATAGRAM_LABEL_LENGTH_MAX, label.text);
    t.regex(label.text, /^[\x20-\x7e…]+$/);
    t.is(
      label.ackOrPingOnly,
      frames.every((f) => f.type === 'ack' || f.type === 'ping'),
    );
    t.like(label, { packetType: 'session', sessionId });
    t.notRegex(label.text, /^sealed/);
  },
);

function networkWith(describe: boolean) {
  const clock = new VirtualClock();
  const trace = new Trace();
  const book = new SealedBook();
  const network = new SimNetwork({
    clock,
    trace,
    latencyMs: 5,
    faultTape: [],
    partitions: [],
    ...(describe ? { describe: (datagram: Uint8Array) => describeDatagram(datagram, book) } : {}),
  });
  const a = network.attach('a', { host: '10.0.0.1', port: 1 }, () => {});
  network.attach('b', { host: '10.0.0.2', port: 2 }, () => {});
  a.send(sealed([ACK], { book }), { host: '10.0.0.2', port: 2 });
  a.send(sealed([ACK, MESSAGE_4], { book }), { host: '10.0.0.2', port: 2 });
  clock.runUntil(100, 1000);
  return trace;
}

test('the network labels each send with its describer, once, and the trace shows it on every line of that datagram', (t) => {
  const trace = networkWith(true);
  const sends = trace.entries.filter((entry) => entry.kind === 'send');
  // Each names its session: an address may change hands, and the checker tells conversations apart.
  t.like(sends[0], { kind: 'send', label: 'ACK', ackOrPingOnly: true, session: SESSION_ID });
  t.like(sends[1], { kind: 'send', label: 'ACK+MESSAGE #4', session: SESSION_ID });
  t.is(sends[1]?.kind === 'send' ? sends[1].ackOrPingOnly : 'no send', undefined);
  t.false(sends[1] !== undefined && 'ackOrPingOnly' in plainTraceEntry(sends[1]), 'nor is it in its JSON');
  // Only the send carries the label: a delivery is tied to it by its send number.
  t.true(trace.entries.filter((entry) => entry.kind === 'deliver').every((entry) => !('label' in entry)));
  const lines = trace.formatted().split('\n');
  t.is(lines.length, 4);
  // 14 bytes of header, 4 of ACK, 16 of tag.
  t.regex(lines[0] ?? '', /a -> b +send 34B #[0-9a-f]{8} ACK$/);
  t.regex(
    lines.find((line) => line.includes('deliver') && line.includes('MESSAGE')) ?? '',
    /ACK\+MESSAGE #4$/,
  );
  t.is(trace.toJsonLines(), networkWith(true).toJsonLines());
});

test('without a describer the trace is exactly as before: no label fields at all', (t) => {
  const trace = networkWith(false);
  t.true(trace.entries.every((entry) => !('label' in entry) && !('ackOrPingOnly' in entry)));
  t.regex(trace.formatted().split('\n')[0] ?? '', /send 34B #[0-9a-f]{8}$/);
  t.notRegex(trace.toJsonLines(), /label|ackOrPingOnly|session/);
});
