import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { testProp } from '@fast-check/ava';
import test from 'ava';
import fc from 'fast-check';
import { frameArb, packetArb, sessionIdArb } from '../../properties/arbitraries/frames.ts';
import { ContractError } from '../assert.ts';
import {
  ACK_RANGE_COUNT_MAX,
  decodePacket,
  encodePacket,
  encodeSessionPacket,
  frameSize,
  peekHelloNonce,
  prepareFrame,
  SESSION_HEADER_BYTES,
  sessionIdToBytes,
  sessionPacketSize,
} from './codec.ts';
import type {
  AckRange,
  DecodeErrorKind,
  DecodeResult,
  Frame,
  Packet,
  ReliableFrameBody,
  SessionPacket,
} from './frames.ts';
import { DATAGRAM_SIZE_MAX, HELLO_SIZE_MIN, TEXT_BYTES_MAX } from './frames.ts';

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

function session(...frames: Frame[]): SessionPacket {
  return { type: 'session', sessionId: SESSION_ID, packetNumber: 7, frames };
}

/** A SESSION datagram whose frames are given as raw bytes, to build what the encoder refuses to. */
function rawSession(...frameBytes: number[]): Uint8Array {
  return Uint8Array.of(
    ...encodePacket(session({ type: 'ping' })).subarray(0, SESSION_HEADER_BYTES),
    ...frameBytes,
  );
}

function errorKind(result: DecodeResult): DecodeErrorKind | 'ok' {
  return result.ok ? 'ok' : result.error.kind;
}

/** Decodes untrusted bytes and checks the result is well-formed: a known error, or a packet the encoder accepts. */
function decodeChecked(datagram: Uint8Array): DecodeErrorKind | 'ok' {
  const result = decodePacket(datagram);
  if (result.ok) {
    // A packet the decoder accepts satisfies every invariant the encoder asserts, so a relay cannot crash.
    const again = decodePacket(encodePacket(result.packet));
    if (!isDeepStrictEqual(again, result)) {
      throw new Error(`a decoded ${result.packet.type} packet does not survive re-encoding`);
    }
  } else if (!Object.hasOwn(ERROR_KINDS, result.error.kind)) {
    throw new Error(`unknown error kind ${result.error.kind}`);
  }
  return errorKind(result);
}

testProp('every valid packet round-trips through the codec', [packetArb], (t, packet) => {
  t.deepEqual(decodePacket(encodePacket(packet)), { ok: true, packet });
});

testProp(
  'frameSize is exactly the number of bytes a frame adds to a SESSION packet',
  [sessionIdArb, frameArb],
  (t, sessionId, frame) => {
    const base: Packet = { type: 'session', sessionId, packetNumber: 1, frames: [{ type: 'ping' }] };
    const grown: Packet = { ...base, frames: [{ type: 'ping' }, frame] };
    t.is(encodePacket(grown).length - encodePacket(base).length, frameSize(frame));
  },
);

testProp(
  'a SESSION packet built from prepared frames is byte for byte the packet encodePacket builds, of the size announced',
  [sessionIdArb, fc.nat({ max: 2 ** 32 - 1 }), fc.array(frameArb, { minLength: 1, maxLength: 6 })],
  (t, sessionId, packetNumber, drawn) => {
    // The link's wire order: an ACK first, then the reliable frames, then a PING.
    const ack = drawn.find((frame) => frame.type === 'ack');
    const reliable = drawn.filter((frame) => 'msgSeq' in frame);
    const ping = drawn.some((frame) => frame.type === 'ping');
    fc.pre(ack !== undefined || reliable.length > 0 || ping);
    const frames: Frame[] = [
      ...(ack === undefined ? [] : [ack]),
      ...reliable,
      ...(ping ? [{ type: 'ping' as const }] : []),
    ];
    const outgoing = {
      sessionIdBytes: sessionIdToBytes(sessionId),
      packetNumber,
      ack,
      frames: reliable.map(({ msgSeq, ...body }) => ({
        msgSeq,
        prepared: prepareFrame(body as ReliableFrameBody),
      })),
      ping,
    };
    const size = sessionPacketSize(outgoing);
    fc.pre(size <= DATAGRAM_SIZE_MAX);
    const built = encodeSessionPacket(outgoing);
    t.is(built.length, size);
    t.deepEqual(built, encodePacket({ type: 'session', sessionId, packetNumber, frames }));
  },
);

/** Random bytes behind a valid prefix reach the frame and field decoders, not just the version check. */
const untrustedBytesArb = fc.oneof(
  fc.uint8Array({ maxLength: DATAGRAM_SIZE_MAX + 10 }),
  fc
    .tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 200 }))
    .map(([type, rest]) => Uint8Array.of(1, type, ...rest)),
  fc
    .tuple(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 60 }))
    .map(([frameType, rest]) => rawSession(frameType, ...rest)),
);

test('decoding arbitrary bytes never throws, and gives a known error or a packet that re-encodes', (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(untrustedBytesArb, (datagram) => void seen.add(decodeChecked(datagram))),
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

function mutate(datagram: Uint8Array, mutation: Mutation): Uint8Array {
  switch (mutation.kind) {
    case 'flip': {
      const flipped = new Uint8Array(datagram);
      const index = mutation.index % flipped.length;
      flipped[index] = (flipped[index] ?? 0) ^ mutation.mask;
      return flipped;
    }
    case 'truncate':
      return datagram.subarray(0, mutation.length % datagram.length);
    case 'append':
      return Uint8Array.of(...datagram, ...mutation.bytes);
  }
}

test('decoding a mutated valid datagram never throws, and gives a known error or a packet that re-encodes', (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(packetArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (packet, mutations) => {
      seen.add(decodeChecked(mutations.reduce(mutate, encodePacket(packet))));
    }),
  );
  t.true(seen.has('ok'));
  t.true(seen.has('too-short'));
  t.true(seen.has('trailing-bytes'));
});

test('a text of exactly 1000 bytes of UTF-8 is accepted', (t) => {
  const text = `a${'👋'.repeat(249)}abc`;
  t.is(Buffer.byteLength(text), TEXT_BYTES_MAX);
  const packet = session({ type: 'say', msgSeq: 1, text });
  t.deepEqual(decodePacket(encodePacket(packet)), { ok: true, packet });
});

test('a text of 1001 bytes is refused by the decoder as text-too-long', (t) => {
  // Say frame: type 3, msgSeq 0, then the 2-byte varint 1001 (0x4000 | 1001) and 1001 bytes of 'a'.
  const datagram = rawSession(0x03, 0x00, 0x43, 0xe9, ...new Uint8Array(1001).fill(0x61));
  t.is(errorKind(decodePacket(datagram)), 'text-too-long');
});

test('the encoder asserts on a text of 1001 bytes', (t) => {
  const packet = session({ type: 'say', msgSeq: 1, text: 'a'.repeat(TEXT_BYTES_MAX + 1) });
  t.throws(() => encodePacket(packet), { instanceOf: ContractError });
});

test('the encoder asserts on every packet that breaks the contract', (t) => {
  const ping: Frame = { type: 'ping' };
  const broken: Packet[] = [
    { type: 'hello', clientNonce: new Uint8Array(15) },
    { type: 'challenge', clientNonce: NONCE, timeSlot: 2 ** 32, cookie: NONCE },
    { type: 'join', clientNonce: NONCE, timeSlot: 1, cookie: NONCE, proof: new Uint8Array(17), name: 'ana' },
    // A JOIN may carry a name the server will refuse, but only one that fits a byte per character.
    { type: 'join', clientNonce: NONCE, timeSlot: 1, cookie: NONCE, proof: NONCE, name: 'nama 👋' },
    { type: 'join', clientNonce: NONCE, timeSlot: 1, cookie: NONCE, proof: NONCE, name: 'a'.repeat(256) },
    { type: 'accept', clientNonce: NONCE, sessionId: '0123456789ABCDEF', proof: NONCE },
    { type: 'session', sessionId: SESSION_ID, packetNumber: 1.5, frames: [ping] },
    session(),
    session({ type: 'bye', msgSeq: -1 }),
    session({ type: 'say', msgSeq: 1, text: 'lone \ud800 surrogate' }),
    session({ type: 'ack', ranges: [] }),
    session({
      type: 'ack',
      ranges: [
        { smallest: 3, largest: 5 },
        { smallest: 0, largest: 2 },
      ],
    }),
    session({ type: 'members', msgSeq: 1, roomSeq: 1, final: true, names: Array(40).fill('n'.repeat(32)) }),
  ];
  for (const packet of broken) {
    t.throws(() => encodePacket(packet), { instanceOf: ContractError }, JSON.stringify(packet));
  }
});

test('emoji and Indonesian text round-trip unchanged', (t) => {
  for (const text of ['Halo, apa kabar? Sampai jumpa besok 👋', '👨‍👩‍👧‍👦🇮🇩😀', '\uFEFFdimulai dengan BOM']) {
    const packet = session({
      type: 'message',
      msgSeq: 3,
      roomSeq: 9,
      timeMs: 1_700_000_000_000,
      from: 'Budi',
      text,
    });
    t.deepEqual(decodePacket(encodePacket(packet)), { ok: true, packet });
  }
});

test('a datagram of another protocol version is refused with kind version and its version byte', (t) => {
  const datagram = encodePacket({ type: 'hello', clientNonce: NONCE });
  datagram[0] = 2;
  const result = decodePacket(datagram);
  t.deepEqual(result.ok ? undefined : [result.error.kind, result.error.version], ['version', 2]);
});

test('peekHelloNonce returns the nonce of a HELLO of another version, and nothing for our own', (t) => {
  const datagram = encodePacket({ type: 'hello', clientNonce: NONCE });
  t.is(peekHelloNonce(datagram), undefined);
  datagram[0] = 9;
  t.deepEqual(peekHelloNonce(datagram), NONCE);
  t.is(peekHelloNonce(datagram.subarray(0, HELLO_SIZE_MIN - 1)), undefined);
});

test('a HELLO encodes to exactly HELLO_SIZE_MIN bytes, and a shorter one is too-short', (t) => {
  const datagram = encodePacket({ type: 'hello', clientNonce: NONCE });
  t.is(datagram.length, HELLO_SIZE_MIN);
  t.is(errorKind(decodePacket(datagram.subarray(0, HELLO_SIZE_MIN - 1))), 'too-short');
});

test('a datagram of 1201 bytes is refused as too-long', (t) => {
  t.is(errorKind(decodePacket(new Uint8Array(DATAGRAM_SIZE_MAX + 1).fill(1))), 'too-long');
});

test('a truncated CHALLENGE is refused as too-short', (t) => {
  const datagram = encodePacket({ type: 'challenge', clientNonce: NONCE, timeSlot: 5, cookie: NONCE });
  t.is(errorKind(decodePacket(datagram.subarray(0, datagram.length - 1))), 'too-short');
});

test('a REFUSE with a byte after its reason is refused as trailing-bytes', (t) => {
  const datagram = encodePacket({ type: 'refuse', clientNonce: NONCE, reason: 'room-full' });
  t.is(errorKind(decodePacket(Uint8Array.of(...datagram, 0))), 'trailing-bytes');
});

test('text that is not valid UTF-8 is refused as bad-utf8', (t) => {
  t.is(errorKind(decodePacket(rawSession(0x03, 0x00, 0x02, 0xc3, 0x28))), 'bad-utf8');
});

test('a name outside the allowed characters is refused as bad-name', (t) => {
  // Joined frame: type 6, msgSeq 0, roomSeq 0, name "a b".
  t.is(errorKind(decodePacket(rawSession(0x06, 0x00, 0x00, 0x03, 0x61, 0x20, 0x62))), 'bad-name');
});

test('a SESSION packet with no frames is refused as no-frames', (t) => {
  t.is(errorKind(decodePacket(rawSession())), 'no-frames');
});

test('an unknown reason or a boolean other than 0 and 1 is refused as bad-field', (t) => {
  t.is(errorKind(decodePacket(rawSession(0x08, 0x00, 0x00, 0x03, 0x01, 0x61))), 'bad-field');
  t.is(errorKind(decodePacket(rawSession(0x05, 0x00, 0x00, 0x02, 0x00))), 'bad-field');
});

test('an ACK whose ranges reach below packet number 0 is refused as bad-ack', (t) => {
  // Largest 5, one more range, first range 2 (3..5), gap 1: the next largest would be 3 - 1 - 2 = 0,
  // and a length of 1 would take its smallest to -1.
  t.is(errorKind(decodePacket(rawSession(0x01, 0x05, 0x01, 0x02, 0x01, 0x01))), 'bad-ack');
  t.is(errorKind(decodePacket(rawSession(0x01, 0x05, 0x00, 0x06))), 'bad-ack');
});

test('an ACK of more than 16 ranges is refused as bad-ack', (t) => {
  t.is(errorKind(decodePacket(rawSession(0x01, 0x3f, ACK_RANGE_COUNT_MAX, 0x00))), 'bad-ack');
});

test('a varint above 2^53 - 1 is refused as bad-varint', (t) => {
  t.is(errorKind(decodePacket(rawSession(0x04, 0xc0, 0x20, 0, 0, 0, 0, 0, 0))), 'bad-varint');
});

test('the worked example in PROTOCOL.md is what the encoder produces', (t) => {
  const packet = session(
    {
      type: 'ack',
      ranges: [
        { smallest: 3, largest: 5 },
        { smallest: 0, largest: 1 },
      ],
    },
    { type: 'say', msgSeq: 2, text: 'Halo 👋' },
  );
  const hex = Buffer.from(encodePacket(packet))
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
  t.is(
    hex,
    '01 06 01 23 45 67 89 ab cd ef 00 00 00 07 01 05 01 02 00 01 03 02 09 48 61 6c 6f 20 f0 9f 91 8b',
  );
  t.true(readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8').includes(hex));
});

test('the largest MESSAGE frame and the largest ACK frame fit in one SESSION packet together', (t) => {
  // Realistic maxima: sequence numbers below 2^30 (4-byte varints), any time in milliseconds (8 bytes),
  // packet numbers up to 2^32 - 1, and 16 ack ranges whose gaps and lengths take 4-byte varints.
  const message: Frame = {
    type: 'message',
    msgSeq: 2 ** 30 - 1,
    roomSeq: 2 ** 30 - 1,
    timeMs: Number.MAX_SAFE_INTEGER,
    from: 'n'.repeat(32),
    text: 'a'.repeat(TEXT_BYTES_MAX),
  };
  const step = 2 ** 14;
  const ranges: AckRange[] = Array.from({ length: ACK_RANGE_COUNT_MAX }, (_, index) => {
    const largest = 2 ** 32 - 1 - index * 3 * step;
    return { smallest: largest - step, largest };
  });
  const datagram = encodePacket(session({ type: 'ack', ranges }, message));
  t.is(frameSize({ type: 'ack', ranges }), 134);
  t.is(frameSize(message), 1052);
  t.true(datagram.length <= DATAGRAM_SIZE_MAX, `${datagram.length} bytes`);
});

test('a JOIN with a name the rules refuse still decodes, so that the server can refuse it with a reason', (t) => {
  const join = {
    type: 'join',
    clientNonce: NONCE,
    timeSlot: 1,
    cookie: NONCE,
    proof: NONCE,
    name: 'ana budi',
  } as const;
  const decoded = decodePacket(encodePacket(join));
  t.true(decoded.ok);
  t.like(decoded.ok ? decoded.packet : {}, { type: 'join', name: 'ana budi' });
});
