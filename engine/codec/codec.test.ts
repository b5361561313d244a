import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { testProp } from '@fast-check/ava';
import test from 'ava';
import fc from 'fast-check';
import { frameArb, packetArb, sessionFramesArb, sessionIdArb } from '../../properties/arbitraries/frames.ts';
import { ContractError } from '../assert.ts';
import { PacketSealer } from '../secure/aead.ts';
import { deriveSessionKeys } from '../secure/keys.ts';
import { openTestDatagram, testSeal } from '../test/sealing.ts';
import { ByteWriter } from './bytes.ts';
import {
  ACK_RANGE_COUNT_MAX,
  decodeFrames,
  decodePacket,
  encodePacket,
  encodeSessionPlaintext,
  frameSize,
  type OutgoingSessionPacket,
  peekForeignHello,
  prepareFrame,
  SESSION_HEADER_BYTES,
  SESSION_OVERHEAD_BYTES,
  type SessionPlaintext,
  sessionIdToBytes,
  sessionPacketSize,
} from './codec.ts';
import { writeFrame } from './encode-frames.ts';
import type {
  AckFrame,
  AckRange,
  DecodeErrorKind,
  DecodeResult,
  Frame,
  FramesResult,
  Packet,
  ReliableFrameBody,
} from './frames.ts';
import {
  DATAGRAM_SIZE_MAX,
  HELLO_SIZE_MIN,
  HELLO_V1_SIZE_MIN,
  JOIN_SIZE_MIN,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_1,
  TAG_BYTES,
  TEXT_BYTES_MAX,
} from './frames.ts';

/** Every error kind, checked complete by the compiler, to recognise a decoder result at run time. */
const ERROR_KINDS = {
  'too-short': true,
  'too-long': true,
  version: true,
  'unknown-packet-type': true,
  'unknown-frame-type': true,
  'bad-varint': true,
  'bad-utf8': true,
  'bad-name': true,
  'text-too-long': true,
  'bad-field': true,
  'bad-ack': true,
  'no-frames': true,
  'trailing-bytes': true,
} as const satisfies Record<DecodeErrorKind, true>;
const SESSION_ID = '0123456789abcdef';
const NONCE = Uint8Array.from({ length: 16 }, (_, index) => index);
/** 32 bytes for a server key or a share: their contents are opaque to the codec. */
const KEY = Uint8Array.from({ length: 32 }, (_, index) => 0xa0 + index);
/** An ACCEPT's sealed part: the reset token and signature (80 bytes) and the tag (16). */
const ACCEPT_SEALED = Uint8Array.from({ length: 96 }, (_, index) => index);

type HandshakePacket = Exclude<Packet, { readonly type: 'session' }>;

const HELLO: HandshakePacket = { type: 'hello', clientNonce: NONCE };
const CHALLENGE: HandshakePacket = {
  type: 'challenge',
  clientNonce: NONCE,
  timeSlot: 5,
  cookie: NONCE,
  serverKey: KEY,
};
const JOIN: HandshakePacket = { type: 'join', clientNonce: NONCE, timeSlot: 5, cookie: NONCE, share: KEY };
const ACCEPT: HandshakePacket = {
  type: 'accept',
  clientNonce: NONCE,
  sessionId: SESSION_ID,
  share: KEY,
  sealed: ACCEPT_SEALED,
};
const REFUSE: HandshakePacket = { type: 'refuse', clientNonce: NONCE, reason: 'version' };
const RESET: HandshakePacket = { type: 'reset', sessionId: SESSION_ID, token: NONCE };
const WAIT: HandshakePacket = { type: 'wait', clientNonce: NONCE, reason: 'throttled', retryAfterMs: 70_000 };

/**
 * A SESSION packet as the link hands it to the encoder. `frames` must be in the link's wire order: at
 * most one ACK, first, then the reliable frames, then at most one PING, last.
 */
function outgoing(frames: readonly Frame[], packetNumber = 7, sessionId = SESSION_ID): OutgoingSessionPacket {
  let ack: AckFrame | undefined;
  let ping = false;
  const reliable: { msgSeq: number; prepared: ReturnType<typeof prepareFrame> }[] = [];
  for (const [index, frame] of frames.entries()) {
    if (frame.type === 'ack') {
      if (index !== 0) {
        throw new Error('test bug: an ACK goes first');
      }
      ack = frame;
    } else if (frame.type === 'ping') {
      if (index !== frames.length - 1) {
        throw new Error('test bug: a PING goes last');
      }
      ping = true;
    } else {
      const { msgSeq, ...body } = frame;
      reliable.push({ msgSeq, prepared: prepareFrame(body as ReliableFrameBody) });
    }
  }
  return { sessionIdBytes: sessionIdToBytes(sessionId), packetNumber, ack, frames: reliable, ping };
}

/** The header and plaintext of a SESSION packet of these frames (in wire order), as the link encodes it. */
function encodeFrames(...frames: Frame[]): SessionPlaintext {
  return encodeSessionPlaintext(outgoing(frames));
}

/** Frames in any order, each written as the encoder writes a whole frame, back to back. */
function writeFrames(frames: readonly Frame[]): Uint8Array {
  const writer = new ByteWriter(frames.reduce((size, frame) => size + frameSize(frame), 0));
  for (const frame of frames) {
    writeFrame(writer, frame);
  }
  return writer.bytes;
}

/** The link's wire order of drawn frames: the first ACK, the reliable frames, a PING if any was drawn. */
function wireOrder(drawn: readonly Frame[]): Frame[] {
  const ack = drawn.find((frame) => frame.type === 'ack');
  const reliable = drawn.filter((frame) => 'msgSeq' in frame);
  const ping = drawn.some((frame) => frame.type === 'ping');
  return [...(ack === undefined ? [] : [ack]), ...reliable, ...(ping ? [{ type: 'ping' as const }] : [])];
}

/** The datagram: the header, then the frames sealed with the test keys. */
function sealedDatagram(frames: readonly Frame[], packetNumber = 7, sessionId = SESSION_ID): Uint8Array {
  const { header, plaintext } = encodeSessionPlaintext(outgoing(frames, packetNumber, sessionId));
  return Uint8Array.of(...header, ...testSeal()(header, packetNumber, plaintext));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}

function errorKind(result: DecodeResult | FramesResult): DecodeErrorKind | 'ok' {
  return result.ok ? 'ok' : result.error.kind;
}

function checkKnownError(result: DecodeResult | FramesResult): void {
  if (!result.ok && !Object.hasOwn(ERROR_KINDS, result.error.kind)) {
    throw new Error(`unknown error kind ${result.error.kind}`);
  }
}

/**
 * Decodes an untrusted datagram and checks the result is well-formed: a known error, or a packet the
 * encoder accepts. A SESSION packet's header must be one the encoder writes the same way, with the
 * sealed rest of the datagram after it.
 */
function decodeChecked(datagram: Uint8Array): DecodeErrorKind | 'ok' {
  const result = decodePacket(datagram);
  checkKnownError(result);
  if (result.ok) {
    const packet = result.packet;
    if (packet.type === 'session') {
      const { header } = encodeSessionPlaintext(
        outgoing([{ type: 'ping' }], packet.packetNumber, packet.sessionId),
      );
      if (!isDeepStrictEqual(header, packet.header)) {
        throw new Error('a decoded SESSION header does not survive re-encoding');
      }
      if (!isDeepStrictEqual(Uint8Array.of(...packet.header, ...packet.sealed), datagram)) {
        throw new Error('a decoded SESSION packet is not its header and its sealed part');
      }
    } else {
      // A packet the decoder accepts satisfies every invariant the encoder asserts, so a relay cannot crash.
      const again = decodePacket(encodePacket(packet));
      if (!isDeepStrictEqual(again, result)) {
        throw new Error(`a decoded ${packet.type} packet does not survive re-encoding`);
      }
    }
  }
  return errorKind(result);
}

/** Decodes untrusted plaintext (what a peer with the key sealed) and checks the frames re-encode the same. */
function decodeFramesChecked(plaintext: Uint8Array): DecodeErrorKind | 'ok' {
  const result = decodeFrames(plaintext);
  checkKnownError(result);
  if (result.ok && !isDeepStrictEqual(decodeFrames(writeFrames(result.frames)), result)) {
    throw new Error('decoded frames do not survive re-encoding');
  }
  return errorKind(result);
}

// ---- Round trips. ----

testProp('every valid handshake packet round-trips through the codec', [packetArb], (t, packet) => {
  t.deepEqual(decodePacket(encodePacket(packet)), { ok: true, packet });
});

testProp(
  'the frames of every SESSION packet round-trip through encodeSessionPlaintext and decodeFrames',
  [sessionIdArb, fc.nat({ max: 2 ** 32 - 1 }), sessionFramesArb],
  (t, sessionId, packetNumber, drawn) => {
    const frames = wireOrder(drawn);
    const { header, plaintext } = encodeSessionPlaintext(outgoing(frames, packetNumber, sessionId));
    t.deepEqual(decodeFrames(plaintext), { ok: true, frames });
    const headerView = new DataView(header.buffer, header.byteOffset, header.byteLength);
    t.deepEqual(
      [header.length, header[0], header[1], header.subarray(2, 10), headerView.getUint32(10)],
      [SESSION_HEADER_BYTES, PROTOCOL_VERSION, 0x06, sessionIdToBytes(sessionId), packetNumber],
    );
  },
);

testProp(
  'frames in any order, ACKs and PINGs repeated, decode back in that order',
  [sessionFramesArb],
  (t, frames) => {
    t.deepEqual(decodeFrames(writeFrames(frames)), { ok: true, frames });
  },
);

testProp(
  'a sealed SESSION packet decodes to its header and sealed frames, which open to its frames',
  [sessionIdArb, fc.nat({ max: 2 ** 32 - 1 }), sessionFramesArb],
  (t, sessionId, packetNumber, drawn) => {
    const frames = wireOrder(drawn);
    const datagram = sealedDatagram(frames, packetNumber, sessionId);
    const { plaintext } = encodeSessionPlaintext(outgoing(frames, packetNumber, sessionId));
    t.is(datagram.length, SESSION_HEADER_BYTES + plaintext.length + TAG_BYTES);
    t.true(datagram.length <= DATAGRAM_SIZE_MAX);
    const decoded = decodePacket(datagram);
    t.deepEqual(decoded, {
      ok: true,
      packet: {
        type: 'session',
        sessionId,
        packetNumber,
        header: datagram.slice(0, SESSION_HEADER_BYTES),
        sealed: datagram.slice(SESSION_HEADER_BYTES),
      },
    });
    t.deepEqual(openTestDatagram(datagram), { sessionId, packetNumber, frames });
  },
);

testProp(
  'frameSize is exactly the number of bytes a frame adds to a SESSION packet',
  [sessionIdArb, frameArb],
  (t, sessionId, frame) => {
    const packet = outgoing([frame], 1, sessionId);
    const { header, plaintext } = encodeSessionPlaintext(packet);
    t.is(plaintext.length, frameSize(frame));
    t.is(header.length, SESSION_HEADER_BYTES);
    t.is(sessionPacketSize(packet), SESSION_OVERHEAD_BYTES + frameSize(frame));
    // And once sealed, the datagram is the size announced: the tag is the rest of the overhead.
    t.is(testSeal()(header, 1, plaintext).length, frameSize(frame) + TAG_BYTES);
  },
);

testProp(
  'a SESSION packet built from prepared frames is byte for byte the frames written whole, of the size announced',
  [sessionIdArb, fc.nat({ max: 2 ** 32 - 1 }), sessionFramesArb],
  (t, sessionId, packetNumber, drawn) => {
    // The link's wire order: an ACK first, then the reliable frames, then a PING.
    const frames = wireOrder(drawn);
    const packet = outgoing(frames, packetNumber, sessionId);
    const size = sessionPacketSize(packet);
    t.true(size <= DATAGRAM_SIZE_MAX);
    const { header, plaintext } = encodeSessionPlaintext(packet);
    t.is(header.length + plaintext.length + TAG_BYTES, size);
    t.deepEqual(plaintext, writeFrames(frames));
  },
);

// ---- Untrusted input. ----

/**
 * Random bytes, bytes behind a valid prefix (so that they reach the packet decoders, not just the
 * version check) and random plaintexts behind a frame type (so that they reach the frame and field
 * decoders, which only opened SESSION packets reach).
 */
type Untrusted = { readonly layer: 'datagram' | 'plaintext'; readonly bytes: Uint8Array };
const untrustedArb: fc.Arbitrary<Untrusted> = fc.oneof(
  fc
    .uint8Array({ maxLength: DATAGRAM_SIZE_MAX + 10 })
    .map((bytes) => ({ layer: 'datagram' as const, bytes })),
  fc.tuple(fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 200 })).map(([type, rest]) => ({
    layer: 'datagram' as const,
    bytes: Uint8Array.of(PROTOCOL_VERSION, type, ...rest),
  })),
  fc.tuple(fc.integer({ min: 0, max: 13 }), fc.uint8Array({ maxLength: 60 })).map(([frameType, rest]) => ({
    layer: 'plaintext' as const,
    bytes: Uint8Array.of(frameType, ...rest),
  })),
);

function decodeUntrusted(input: Untrusted): DecodeErrorKind | 'ok' {
  return input.layer === 'datagram' ? decodeChecked(input.bytes) : decodeFramesChecked(input.bytes);
}

test('decoding arbitrary bytes never throws, and gives a known error or a packet that re-encodes', (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(untrustedArb, (input) => void seen.add(decodeUntrusted(input))),
    { numRuns: 1000 },
  );
  // Not vacuous: random input reached every layer of the decoder. (Acceptance of damaged input is
  // measured by the mutation test below, where it is common.)
  for (const kind of ['version', 'unknown-packet-type', 'unknown-frame-type', 'too-short']) {
    t.true(seen.has(kind), `no input gave ${kind}; seen: ${[...seen].join(', ')}`);
  }
});

type Mutation =
  | { readonly kind: 'flip'; readonly index: number; readonly mask: number }
  | { readonly kind: 'truncate'; readonly length: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), index: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function mutate(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  switch (mutation.kind) {
    case 'flip': {
      const flipped = new Uint8Array(bytes);
      if (flipped.length === 0) {
        return flipped;
      }
      const index = mutation.index % flipped.length;
      flipped[index] = (flipped[index] ?? 0) ^ mutation.mask;
      return flipped;
    }
    case 'truncate':
      return bytes.subarray(0, bytes.length === 0 ? 0 : mutation.length % bytes.length);
    case 'append':
      return Uint8Array.of(...bytes, ...mutation.bytes);
  }
}

/** Valid datagrams: every handshake packet, and sealed SESSION packets. */
const validDatagramArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  packetArb.map((packet) => encodePacket(packet)),
  fc
    .tuple(sessionIdArb, fc.nat({ max: 2 ** 32 - 1 }), sessionFramesArb)
    .map(([sessionId, packetNumber, drawn]) => sealedDatagram(wireOrder(drawn), packetNumber, sessionId)),
);

test('decoding a mutated valid datagram never throws, and gives a known error or a packet that re-encodes', (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(
      validDatagramArb,
      fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      (datagram, mutations) => {
        seen.add(decodeChecked(mutations.reduce(mutate, datagram)));
      },
    ),
  );
  t.true(seen.has('ok'));
  t.true(seen.has('too-short'));
  t.true(seen.has('trailing-bytes'));
});

test('decoding mutated valid frames never throws, and gives a known error or frames that re-encode', (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(
      sessionFramesArb,
      fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      (frames, mutations) => {
        seen.add(decodeFramesChecked(mutations.reduce(mutate, writeFrames(frames))));
      },
    ),
  );
  t.true(seen.has('ok'));
  t.true(seen.has('too-short'));
});

// ---- Texts and names. ----

test('a text of exactly 1000 bytes of UTF-8 is accepted', (t) => {
  const text = `a${'👋'.repeat(249)}abc`;
  t.is(Buffer.byteLength(text), TEXT_BYTES_MAX);
  const frame: Frame = { type: 'say', msgSeq: 1, line: 1, text };
  t.deepEqual(decodeFrames(encodeFrames(frame).plaintext), { ok: true, frames: [frame] });
});

test('a text of 1001 bytes is refused by the decoder as text-too-long', (t) => {
  // Say frame: type 3, msgSeq 0, line 1, then the 2-byte varint 1001 (0x4000 | 1001) and 1001 bytes of 'a'.
  const plaintext = Uint8Array.of(0x03, 0x00, 0x01, 0x43, 0xe9, ...new Uint8Array(1001).fill(0x61));
  t.is(errorKind(decodeFrames(plaintext)), 'text-too-long');
});

test('the encoder asserts on a text of 1001 bytes', (t) => {
  t.throws(() => encodeFrames({ type: 'say', msgSeq: 1, line: 1, text: 'a'.repeat(TEXT_BYTES_MAX + 1) }), {
    instanceOf: ContractError,
  });
});

test('emoji and Indonesian text round-trip unchanged', (t) => {
  for (const text of ['Halo, apa kabar? Sampai jumpa besok 👋', '👨‍👩‍👧‍👦🇮🇩😀', '\uFEFFdimulai dengan BOM']) {
    const frame: Frame = {
      type: 'message',
      msgSeq: 3,
      roomSeq: 9,
      timeMs: 1_700_000_000_000,
      from: 'Budi',
      origin: '0123456789abcdef',
      line: 1,
      text,
    };
    t.deepEqual(decodeFrames(encodeFrames(frame).plaintext), { ok: true, frames: [frame] });
  }
});

test('a CLAIM with a name the rules refuse still decodes, so that the server can refuse it with a reason', (t) => {
  // What a JOIN's name was in version 1: the name now travels sealed, in the session's first frame.
  for (const name of ['ana budi', '', 'n'.repeat(33), 'caf\u00e9', 'a\u0007b']) {
    const frame: Frame = { type: 'claim', msgSeq: 0, name, originSecret: new Uint8Array(16) };
    t.deepEqual(decodeFrames(encodeFrames(frame).plaintext), { ok: true, frames: [frame] }, name);
  }
  // A byte over 0x7f is read as it is (Latin-1), not refused: `bad-name` is the server's answer.
  t.deepEqual(decodeFrames(Uint8Array.of(0x0b, 0x00, 0x02, 0x61, 0xff, ...new Uint8Array(16))), {
    ok: true,
    frames: [{ type: 'claim', msgSeq: 0, name: 'a\u00ff', originSecret: new Uint8Array(16) }],
  });
});

// ---- The new frames. ----

test('CLAIM and REFUSED frames round-trip, with their layout on the wire', (t) => {
  const originSecret = Uint8Array.from({ length: 16 }, (_, index) => 0xa0 + index);
  const claim: Frame = { type: 'claim', msgSeq: 0, name: 'ana', originSecret };
  // Type, msgSeq, the name with its length, the origin secret's 16 bytes.
  t.is(
    hex(encodeFrames(claim).plaintext),
    '0b 00 03 61 6e 61 a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af',
  );
  t.is(
    errorKind(decodeFrames(Uint8Array.of(0x0b, 0x00, 0x03, 0x61, 0x6e, 0x61, ...new Uint8Array(15)))),
    'too-short',
  );
  t.throws(() => encodeFrames({ ...claim, originSecret: new Uint8Array(8) }), { instanceOf: ContractError });
  t.deepEqual(decodeFrames(encodeFrames(claim).plaintext), { ok: true, frames: [claim] });
  const codes = { 'name-taken': '02', 'bad-name': '03', 'room-full': '04' } as const;
  for (const [reason, code] of Object.entries(codes)) {
    const refused: Frame = { type: 'refused', msgSeq: 1, reason: reason as keyof typeof codes };
    t.is(hex(encodeFrames(refused).plaintext), `0c 01 ${code}`);
    t.deepEqual(decodeFrames(encodeFrames(refused).plaintext), { ok: true, frames: [refused] });
  }
});

test('a REFUSED with an unknown reason is refused as bad-field', (t) => {
  // 1 (bad-password) and 5 (version) are REFUSE's codes, never a room's refusal.
  for (const code of [0, 1, 5, 0xff]) {
    const result = decodeFrames(Uint8Array.of(0x0c, 0x00, code));
    t.is(errorKind(result), 'bad-field', `code ${code}`);
    t.is(result.ok ? undefined : result.error.offset, 2);
  }
});

// ---- Decode errors. ----

test('a datagram of another protocol version is refused with kind version and its version byte', (t) => {
  for (const version of [PROTOCOL_VERSION_1, 3, 0]) {
    const datagram = encodePacket(HELLO);
    datagram[0] = version;
    const result = decodePacket(datagram);
    t.deepEqual(result.ok ? undefined : [result.error.kind, result.error.version], ['version', version]);
  }
});

test('a datagram of 1201 bytes is refused as too-long', (t) => {
  t.is(errorKind(decodePacket(new Uint8Array(DATAGRAM_SIZE_MAX + 1).fill(PROTOCOL_VERSION))), 'too-long');
});

test('a truncated CHALLENGE is refused as too-short', (t) => {
  const datagram = encodePacket(CHALLENGE);
  t.is(errorKind(decodePacket(datagram.subarray(0, datagram.length - 1))), 'too-short');
});

test('a REFUSE with a byte after its reason is refused as trailing-bytes', (t) => {
  t.is(errorKind(decodePacket(Uint8Array.of(...encodePacket(REFUSE), 0))), 'trailing-bytes');
});

test('every fixed-size handshake packet refuses a byte more (trailing-bytes) or a byte less (too-short)', (t) => {
  for (const packet of [CHALLENGE, ACCEPT, REFUSE, RESET, WAIT]) {
    const datagram = encodePacket(packet);
    t.is(errorKind(decodePacket(Uint8Array.of(...datagram, 0))), 'trailing-bytes', packet.type);
    t.is(errorKind(decodePacket(datagram.subarray(0, datagram.length - 1))), 'too-short', packet.type);
  }
});

test('an unknown packet type is refused as unknown-packet-type, an unknown REFUSE reason as bad-field', (t) => {
  for (const type of [0x00, 0x09, 0xff]) {
    const datagram = Uint8Array.of(PROTOCOL_VERSION, type, ...new Uint8Array(200));
    t.is(errorKind(decodePacket(datagram)), 'unknown-packet-type', `type ${type}`);
  }
  for (const code of [0, 6]) {
    t.is(errorKind(decodePacket(Uint8Array.of(PROTOCOL_VERSION, 0x05, ...NONCE, code))), 'bad-field');
  }
  for (const code of [0, 4]) {
    t.is(
      errorKind(decodePacket(Uint8Array.of(PROTOCOL_VERSION, 0x08, ...NONCE, code, 0, 0, 0, 1))),
      'bad-field',
    );
  }
});

test('text that is not valid UTF-8 is refused as bad-utf8', (t) => {
  // SAY: type, msgSeq, line, the text's length, its bytes.
  t.is(errorKind(decodeFrames(Uint8Array.of(0x03, 0x00, 0x01, 0x02, 0xc3, 0x28))), 'bad-utf8');
});

test('a name outside the allowed characters is refused as bad-name', (t) => {
  // Joined frame: type 6, msgSeq 0, roomSeq 0, name "a b".
  t.is(errorKind(decodeFrames(Uint8Array.of(0x06, 0x00, 0x00, 0x03, 0x61, 0x20, 0x62))), 'bad-name');
});

test('an opened SESSION packet with no frames (empty plaintext) is refused as no-frames', (t) => {
  t.is(errorKind(decodeFrames(new Uint8Array(0))), 'no-frames');
});

test('a SESSION packet with no room for a frame and its tag is refused as too-short', (t) => {
  const datagram = sealedDatagram([{ type: 'ping' }]);
  // Header (14) + PING (1) + tag (16) = 31 bytes: one byte less leaves only a tag, which seals nothing.
  t.is(datagram.length, SESSION_OVERHEAD_BYTES + 1);
  t.is(decodeChecked(datagram), 'ok');
  t.is(errorKind(decodePacket(datagram.subarray(0, SESSION_OVERHEAD_BYTES))), 'too-short');
  t.is(errorKind(decodePacket(datagram.subarray(0, SESSION_HEADER_BYTES + 1))), 'too-short');
  t.is(errorKind(decodePacket(datagram.subarray(0, SESSION_HEADER_BYTES))), 'too-short');
  t.is(errorKind(decodePacket(datagram.subarray(0, SESSION_HEADER_BYTES - 1))), 'too-short');
});

test('an unknown frame type is refused as unknown-frame-type', (t) => {
  for (const type of [0x00, 0x0e, 0xff]) {
    t.is(errorKind(decodeFrames(Uint8Array.of(type, 0x00))), 'unknown-frame-type', `type ${type}`);
  }
  // After a good frame too: the rest of the packet cannot be parsed, so the whole packet is refused.
  t.is(errorKind(decodeFrames(Uint8Array.of(0x02, 0x0e))), 'unknown-frame-type');
});

test('an unknown reason or a boolean other than 0 and 1 is refused as bad-field', (t) => {
  t.is(errorKind(decodeFrames(Uint8Array.of(0x08, 0x00, 0x00, 0x03, 0x01, 0x61))), 'bad-field');
  t.is(errorKind(decodeFrames(Uint8Array.of(0x05, 0x00, 0x00, 0x02, 0x00))), 'bad-field');
});

test('an ACK of a packet number of 2^32 or more is refused as bad-field', (t) => {
  // Largest 2^32 as an 8-byte varint: 0xc0 00 00 01 00 00 00 00; no more ranges, first range 0.
  t.is(errorKind(decodeFrames(Uint8Array.of(0x01, 0xc0, 0, 0, 1, 0, 0, 0, 0, 0x00, 0x00))), 'bad-field');
});

test('an ACK whose ranges reach below packet number 0 is refused as bad-ack', (t) => {
  // Largest 5, one more range, first range 2 (3..5), gap 1: the next largest would be 3 - 1 - 2 = 0,
  // and a length of 1 would take its smallest to -1.
  t.is(errorKind(decodeFrames(Uint8Array.of(0x01, 0x05, 0x01, 0x02, 0x01, 0x01))), 'bad-ack');
  t.is(errorKind(decodeFrames(Uint8Array.of(0x01, 0x05, 0x00, 0x06))), 'bad-ack');
});

test('an ACK of more than 16 ranges is refused as bad-ack', (t) => {
  t.is(errorKind(decodeFrames(Uint8Array.of(0x01, 0x3f, ACK_RANGE_COUNT_MAX, 0x00))), 'bad-ack');
});

test('a varint above 2^53 - 1 is refused as bad-varint', (t) => {
  t.is(errorKind(decodeFrames(Uint8Array.of(0x04, 0xc0, 0x20, 0, 0, 0, 0, 0, 0))), 'bad-varint');
});

test('a MEMBERS count larger than the bytes left is refused as too-short', (t) => {
  t.is(errorKind(decodeFrames(Uint8Array.of(0x05, 0x00, 0x00, 0x01, 0x05, 0x01, 0x61))), 'too-short');
});

test('every decode error kind is still reachable, from a datagram or from an opened plaintext', (t) => {
  const examples: Record<DecodeErrorKind, DecodeResult | FramesResult> = {
    'too-short': decodePacket(encodePacket(HELLO).subarray(0, HELLO_SIZE_MIN - 1)),
    'too-long': decodePacket(new Uint8Array(DATAGRAM_SIZE_MAX + 1)),
    version: decodePacket(Uint8Array.of(PROTOCOL_VERSION_1, 0x01, ...new Uint8Array(62))),
    'unknown-packet-type': decodePacket(Uint8Array.of(PROTOCOL_VERSION, 0x09)),
    'unknown-frame-type': decodeFrames(Uint8Array.of(0x0e)),
    'bad-varint': decodeFrames(Uint8Array.of(0x04, 0xc0, 0x20, 0, 0, 0, 0, 0, 0)),
    'bad-utf8': decodeFrames(Uint8Array.of(0x03, 0x00, 0x01, 0x01, 0xff)),
    'bad-name': decodeFrames(Uint8Array.of(0x06, 0x00, 0x00, 0x00)),
    'text-too-long': decodeFrames(Uint8Array.of(0x03, 0x00, 0x01, 0x43, 0xe9)),
    'bad-field': decodeFrames(Uint8Array.of(0x0c, 0x00, 0x09)),
    'bad-ack': decodeFrames(Uint8Array.of(0x01, 0x00, 0x00, 0x01)),
    'no-frames': decodeFrames(new Uint8Array(0)),
    'trailing-bytes': decodePacket(Uint8Array.of(...encodePacket(RESET), 0)),
  };
  for (const kind of Object.keys(ERROR_KINDS) as DecodeErrorKind[]) {
    t.is(errorKind(examples[kind]), kind);
  }
});

// ---- The encoder's contract. ----

test('the encoder asserts on every packet that breaks the contract', (t) => {
  const ping: Frame = { type: 'ping' };
  const broken: HandshakePacket[] = [
    { type: 'hello', clientNonce: new Uint8Array(15) },
    { type: 'challenge', clientNonce: NONCE, timeSlot: 2 ** 32, cookie: NONCE, serverKey: KEY },
    { type: 'challenge', clientNonce: NONCE, timeSlot: 1, cookie: NONCE, serverKey: new Uint8Array(31) },
    { type: 'join', clientNonce: NONCE, timeSlot: 1, cookie: NONCE, share: new Uint8Array(33) },
    { type: 'join', clientNonce: NONCE, timeSlot: 1, cookie: new Uint8Array(17), share: KEY },
    { type: 'accept', clientNonce: NONCE, sessionId: '0123456789ABCDEF', share: KEY, sealed: ACCEPT_SEALED },
    { type: 'accept', clientNonce: NONCE, sessionId: SESSION_ID, share: KEY, sealed: new Uint8Array(80) },
    { type: 'reset', sessionId: SESSION_ID, token: new Uint8Array(15) },
    { type: 'reset', sessionId: '0123', token: NONCE },
  ];
  for (const packet of broken) {
    t.throws(() => encodePacket(packet), { instanceOf: ContractError }, JSON.stringify(packet));
  }
  const brokenSessions: [string, () => unknown][] = [
    ['packet number 1.5', () => encodeSessionPlaintext({ ...outgoing([ping]), packetNumber: 1.5 })],
    ['packet number 2^32', () => encodeSessionPlaintext({ ...outgoing([ping]), packetNumber: 2 ** 32 })],
    [
      'a 7-byte session id',
      () => encodeSessionPlaintext({ ...outgoing([ping]), sessionIdBytes: new Uint8Array(7) }),
    ],
    ['no frames', () => encodeFrames()],
    ['msgSeq -1', () => encodeFrames({ type: 'bye', msgSeq: -1 })],
    [
      'a lone surrogate',
      () => encodeFrames({ type: 'say', msgSeq: 1, line: 1, text: 'lone \ud800 surrogate' }),
    ],
    ['an ACK without ranges', () => encodeFrames({ type: 'ack', ranges: [] })],
    [
      'adjacent ACK ranges',
      () =>
        encodeFrames({
          type: 'ack',
          ranges: [
            { smallest: 3, largest: 5 },
            { smallest: 0, largest: 2 },
          ],
        }),
    ],
    [
      'a MEMBERS over the datagram',
      () =>
        encodeFrames({
          type: 'members',
          msgSeq: 1,
          roomSeq: 1,
          final: true,
          names: Array(40).fill('n'.repeat(32)),
        }),
    ],
    // A CLAIM may carry a name the server will refuse, but only one that fits a byte per character.
    [
      'a CLAIM name with an emoji',
      () => encodeFrames({ type: 'claim', msgSeq: 0, name: 'nama 👋', originSecret: new Uint8Array(16) }),
    ],
    [
      'a CLAIM name of 256 characters',
      () =>
        encodeFrames({ type: 'claim', msgSeq: 0, name: 'a'.repeat(256), originSecret: new Uint8Array(16) }),
    ],
    ['a JOINED with a bad name', () => encodeFrames({ type: 'joined', msgSeq: 0, roomSeq: 0, name: 'a b' })],
  ];
  for (const [what, encode] of brokenSessions) {
    t.throws(encode, { instanceOf: ContractError }, what);
  }
});

test('encodePacket writes version 1 only for a REFUSE version, and refuses every other packet in it', (t) => {
  for (const packet of [HELLO, CHALLENGE, JOIN, ACCEPT, RESET]) {
    t.throws(() => encodePacket(packet, PROTOCOL_VERSION_1), { instanceOf: ContractError }, packet.type);
  }
  t.throws(
    () => encodePacket({ type: 'refuse', clientNonce: NONCE, reason: 'room-full' }, PROTOCOL_VERSION_1),
    {
      instanceOf: ContractError,
    },
  );
  // Version 1's REFUSE (PROTOCOL.md, version 1): version 1, type 0x05, the nonce, reason 5 (version).
  const refuse = encodePacket(REFUSE, PROTOCOL_VERSION_1);
  t.is(hex(refuse), hex(Uint8Array.of(0x01, 0x05, ...NONCE, 0x05)));
  t.is(refuse.length, 19);
  // This build does not read it: it speaks version 2.
  const result = decodePacket(refuse);
  t.deepEqual(result.ok ? undefined : [result.error.kind, result.error.version], ['version', 1]);
});

// ---- Foreign HELLOs. ----

test('peekForeignHello gives the version and nonce of a HELLO of another version, and nothing for our own', (t) => {
  const datagram = encodePacket(HELLO);
  t.is(peekForeignHello(datagram), undefined);
  datagram[0] = 9;
  t.deepEqual(peekForeignHello(datagram), { version: 9, clientNonce: NONCE });
  t.is(peekForeignHello(datagram.subarray(0, HELLO_SIZE_MIN - 1)), undefined);
  // Not a HELLO: nothing, whatever its size.
  datagram[1] = 0x03;
  t.is(peekForeignHello(datagram), undefined);
  t.is(peekForeignHello(new Uint8Array(0)), undefined);
});

test('peekForeignHello takes a version 1 HELLO of 64 bytes, its minimum, but a version 3 HELLO only from 96', (t) => {
  const v1 = Uint8Array.of(PROTOCOL_VERSION_1, 0x01, ...NONCE, ...new Uint8Array(HELLO_V1_SIZE_MIN - 18));
  t.is(v1.length, 64);
  const peeked = peekForeignHello(v1);
  t.deepEqual(peeked, { version: 1, clientNonce: NONCE });
  // The nonce is a copy: a receive buffer reused later does not change it.
  v1[2] = 0xff;
  t.is(peeked?.clientNonce[0], 0);
  t.is(peekForeignHello(v1.subarray(0, HELLO_V1_SIZE_MIN - 1)), undefined);
  const v3 = Uint8Array.of(3, 0x01, ...NONCE, ...new Uint8Array(HELLO_SIZE_MIN - 18));
  t.deepEqual(peekForeignHello(v3), { version: 3, clientNonce: NONCE });
  t.is(peekForeignHello(v3.subarray(0, HELLO_SIZE_MIN - 1)), undefined);
  t.is(peekForeignHello(v3.subarray(0, HELLO_V1_SIZE_MIN)), undefined);
  // A HELLO over the datagram limit is not answered either.
  t.is(peekForeignHello(Uint8Array.of(...v1, ...new Uint8Array(DATAGRAM_SIZE_MAX))), undefined);
});

// ---- Sizes. ----

test('a HELLO encodes to exactly HELLO_SIZE_MIN bytes, and a shorter one is too-short', (t) => {
  const datagram = encodePacket(HELLO);
  t.is(datagram.length, HELLO_SIZE_MIN);
  t.is(HELLO_SIZE_MIN, 96);
  t.is(errorKind(decodePacket(datagram.subarray(0, HELLO_SIZE_MIN - 1))), 'too-short');
  // Its padding runs to the end of the datagram, whatever its bytes.
  const padded = Uint8Array.of(...datagram, ...new Uint8Array(DATAGRAM_SIZE_MAX - HELLO_SIZE_MIN).fill(0x5a));
  t.deepEqual(decodePacket(padded), { ok: true, packet: HELLO });
});

test('a JOIN is zero-padded to exactly JOIN_SIZE_MIN bytes, and a shorter one is too-short', (t) => {
  const datagram = encodePacket(JOIN);
  t.is(datagram.length, JOIN_SIZE_MIN);
  t.is(JOIN_SIZE_MIN, 160);
  // Its fields end at byte 70 (2 + 16 + 4 + 16 + 32); zeros follow.
  t.true(datagram.subarray(70).every((byte) => byte === 0));
  t.is(errorKind(decodePacket(datagram.subarray(0, JOIN_SIZE_MIN - 1))), 'too-short');
  const padded = Uint8Array.of(...datagram, ...new Uint8Array(100).fill(0x5a));
  t.deepEqual(decodePacket(padded), { ok: true, packet: JOIN });
});

test('CHALLENGE is 70 bytes, ACCEPT 154, REFUSE 19 and RESET 26', (t) => {
  t.is(encodePacket(CHALLENGE).length, 70);
  t.is(encodePacket(ACCEPT).length, 154);
  t.is(encodePacket(REFUSE).length, 19);
  t.is(encodePacket(RESET).length, 26);
});

test('no answer is larger than the datagram it answers (no amplification)', (t) => {
  const hello = encodePacket(HELLO).length;
  t.true(encodePacket(CHALLENGE).length <= hello);
  t.true(encodePacket(REFUSE).length <= hello);
  t.true(encodePacket(REFUSE, PROTOCOL_VERSION_1).length <= HELLO_V1_SIZE_MIN);
  t.true(encodePacket(ACCEPT).length <= encodePacket(JOIN).length);
  // A RESET answers a SESSION packet of at least 31 bytes, the smallest the decoder accepts.
  t.true(encodePacket(RESET).length <= SESSION_OVERHEAD_BYTES + 1);
});

test('a SESSION packet holds 1170 bytes of frames once sealed: the encoder refuses one byte more', (t) => {
  // SAY frames: 1 + 1 (msgSeq) + 1 (line) + 2 (length) + 1000 = 1005, and 1 + 1 + 1 + 2 + 160 = 165:
  // 1170 in all.
  const big: Frame = { type: 'say', msgSeq: 0, line: 1, text: 'a'.repeat(TEXT_BYTES_MAX) };
  const fitting = encodeFrames(big, { type: 'say', msgSeq: 1, line: 1, text: 'b'.repeat(160) });
  t.is(fitting.plaintext.length, DATAGRAM_SIZE_MAX - SESSION_OVERHEAD_BYTES);
  t.is(SESSION_HEADER_BYTES + testSeal()(fitting.header, 7, fitting.plaintext).length, DATAGRAM_SIZE_MAX);
  t.throws(() => encodeFrames(big, { type: 'say', msgSeq: 1, line: 1, text: 'b'.repeat(161) }), {
    instanceOf: ContractError,
  });
});

test('the largest MESSAGE frame fits a sealed SESSION packet, but no longer beside a full ACK: the tag and the origin leave room for an ACK of 12 ranges', (t) => {
  // Realistic maxima: sequence numbers below 2^30 (4-byte varints), any time in milliseconds (8 bytes),
  // packet numbers up to 2^32 - 1, and ack ranges whose gaps and lengths take 4-byte varints.
  const message: Frame = {
    type: 'message',
    msgSeq: 2 ** 30 - 1,
    roomSeq: 2 ** 30 - 1,
    timeMs: Number.MAX_SAFE_INTEGER,
    from: 'n'.repeat(32),
    origin: '0123456789abcdef',
    line: 2 ** 30 - 1,
    text: 'a'.repeat(TEXT_BYTES_MAX),
  };
  const step = 2 ** 14;
  const ack = (rangeCount: number): AckFrame => ({
    type: 'ack',
    ranges: Array.from({ length: rangeCount }, (_, index): AckRange => {
      const largest = 2 ** 32 - 1 - index * 3 * step;
      return { smallest: largest - step, largest };
    }),
  });
  t.is(frameSize(ack(ACK_RANGE_COUNT_MAX)), 134);
  // 1052 bytes in version 1's fields, and the origin (8) and line number (4).
  t.is(frameSize(message), 1064);
  // Alone, with the header and the tag: 14 + 1064 + 16 = 1094 bytes.
  const alone = sealedDatagram([message]);
  t.is(alone.length, 1094);
  t.deepEqual(openTestDatagram(alone).frames, [message]);
  // Version 1's budget had the full ACK and the largest MESSAGE take exactly 1200 bytes; the tag's 16
  // bytes and the origin's 12 are three and a half ranges (8 bytes each): 12 ranges (102 bytes) fit.
  // The link sends a frame that does not fit beside the ACK in the next packet.
  t.is(frameSize(ack(12)), 102);
  t.is(sealedDatagram([ack(12), message]).length, DATAGRAM_SIZE_MAX - 4);
  t.is(sessionPacketSize(outgoing([ack(13), message])), DATAGRAM_SIZE_MAX + 4);
  t.is(sessionPacketSize(outgoing([ack(ACK_RANGE_COUNT_MAX), message])), DATAGRAM_SIZE_MAX + 28);
  t.throws(() => encodeFrames(ack(13), message), { instanceOf: ContractError });
  t.throws(() => encodeFrames(ack(ACK_RANGE_COUNT_MAX), message), { instanceOf: ContractError });
});

// ---- PROTOCOL.md. ----

const PROTOCOL_MD = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');

test('the ACK example in PROTOCOL.md is what the encoder produces', (t) => {
  // Packets 0, 1, 3, 4 and 5 received (2 missing).
  const frame: Frame = {
    type: 'ack',
    ranges: [
      { smallest: 3, largest: 5 },
      { smallest: 0, largest: 1 },
    ],
  };
  const bytes = hex(encodeFrames(frame).plaintext);
  t.is(bytes, '01 05 01 02 00 01');
  t.true(PROTOCOL_MD.includes(`bytes \`${bytes}\``));
  t.deepEqual(decodeFrames(encodeFrames(frame).plaintext), { ok: true, frames: [frame] });
});

test('the worked example of PROTOCOL.md in version 2: its frames are unchanged, its header says version 2 and a tag follows', (t) => {
  const frames: Frame[] = [
    {
      type: 'ack',
      ranges: [
        { smallest: 3, largest: 5 },
        { smallest: 0, largest: 1 },
      ],
    },
    { type: 'say', msgSeq: 2, line: 2, text: 'Halo 👋' },
  ];
  const { header, plaintext } = encodeFrames(...frames);
  t.is(hex(header), '02 06 01 23 45 67 89 ab cd ef 00 00 00 07');
  const framesHex = '01 05 01 02 00 01 03 02 02 09 48 61 6c 6f 20 f0 9f 91 8b';
  t.is(hex(plaintext), framesHex);
  t.true(PROTOCOL_MD.includes(framesHex));
  // Sealed with the client-to-server keys of PROTOCOL.md's known answer, as the example shows them.
  const isk = Uint8Array.from({ length: 64 }, (_, index) => index);
  const keys = deriveSessionKeys(isk, sessionIdToBytes(SESSION_ID));
  const sealed = new PacketSealer(keys.clientToServer).seal(header, 7, plaintext);
  t.regex(PROTOCOL_MD, new RegExp(`${hex(sealed.subarray(0, -TAG_BYTES))} +sealed frames`));
  t.regex(PROTOCOL_MD, new RegExp(`${hex(sealed.subarray(-TAG_BYTES))} +tag`));
  const datagram = sealedDatagram(frames);
  t.is(datagram.length, SESSION_HEADER_BYTES + 19 + TAG_BYTES);
  t.is(hex(datagram.subarray(0, SESSION_HEADER_BYTES)), hex(header));
  t.deepEqual(openTestDatagram(datagram), { sessionId: SESSION_ID, packetNumber: 7, frames });
});
