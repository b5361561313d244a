import fc from 'fast-check';
import { frameSize, SESSION_OVERHEAD_BYTES, sessionIdFromBytes } from '../../engine/codec/codec.ts';
import type {
  AckFrame,
  AckRange,
  Frame,
  Packet,
  ReliableFrame,
  SessionId,
} from '../../engine/codec/frames.ts';
import {
  COOKIE_BYTES,
  DATAGRAM_SIZE_MAX,
  NAME_LENGTH_MAX,
  NONCE_BYTES,
  ORIGIN_SECRET_BYTES,
  RESET_TOKEN_BYTES,
  SERVER_KEY_BYTES,
  SESSION_ID_BYTES,
  SHARE_BYTES,
  SIGNATURE_BYTES,
  TAG_BYTES,
  TEXT_BYTES_MAX,
} from '../../engine/codec/frames.ts';

/**
 * Arbitraries for everything the codec carries: valid by construction (never by filtering), so that
 * no run is discarded, and spread over every varint length and the size limits.
 */

const NAME_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
/** The largest packet number: they are u32 on the wire. */
const U32_MAX = 0xffff_ffff;

/** A valid name: 1 to 32 ASCII letters, digits, `_` or `-`. */
export const nameArb: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(...NAME_CHARACTERS),
  minLength: 1,
  maxLength: NAME_LENGTH_MAX,
});

/** Bytes of UTF-8 a code point takes (a string of one code point). */
function codePointByteCount(codePoint: string): number {
  const value = codePoint.codePointAt(0) ?? 0;
  if (value < 0x80) {
    return 1;
  }
  if (value < 0x800) {
    return 2;
  }
  return value < 0x1_0000 ? 3 : 4;
}

/** Cuts `text` at a code point boundary so that it takes at most TEXT_BYTES_MAX bytes of UTF-8. */
function fitText(text: string): string {
  let byteCount = 0;
  let end = 0;
  for (const codePoint of text) {
    byteCount += codePointByteCount(codePoint);
    if (byteCount > TEXT_BYTES_MAX) {
      break;
    }
    end += codePoint.length;
  }
  return text.slice(0, end);
}

const INDONESIAN_PHRASES = [
  'Halo, apa kabar? Sampai jumpa besok 👋',
  'Selamat pagi! Sudah makan belum?',
  'Terima kasih banyak, ya 🙏',
  'Saya masih di jalan, tunggu sebentar.',
  'Rapatnya dipindah ke hari Kamis jam 14.00',
] as const;
const EMOJI = ['👋', '🙏', '😀', '🔥', '❤️', '👨‍👩‍👧‍👦', '🇮🇩', '🏳️‍🌈'] as const;

/**
 * Chat text as a user could send it: 1 to TEXT_BYTES_MAX bytes of well-formed UTF-8 from all of
 * Unicode, with Indonesian phrases and emoji (multi-code-point ones included), and long runs that reach
 * the byte limit.
 */
export const textArb: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
    fc
      .array(fc.constantFrom(...INDONESIAN_PHRASES, ...EMOJI, ' '), { minLength: 1, maxLength: 40 })
      .map((parts) => parts.join('')),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1000 }),
    fc.string({ unit: fc.constantFrom('a', 'é', 'ह', '👋'), minLength: 300, maxLength: 1000 }),
  )
  .map(fitText);

/** Integers of every varint length (1, 2, 4 and 8 bytes) up to Number.MAX_SAFE_INTEGER. */
export const varintValueArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0x3f }),
  fc.integer({ min: 0x40, max: 0x3fff }),
  fc.integer({ min: 0x4000, max: 0x3fff_ffff }),
  fc.integer({ min: 0x4000_0000, max: Number.MAX_SAFE_INTEGER }),
);

const u32Arb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 100 }),
  fc.integer({ min: 0, max: U32_MAX }),
);

const bytesArb = (length: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: length, maxLength: length });

/** A session id in its engine form: 16 lowercase hex digits. */
export const sessionIdArb: fc.Arbitrary<SessionId> = bytesArb(SESSION_ID_BYTES).map(sessionIdFromBytes);

/** Gaps and range lengths: mostly small, as on a real link, sometimes large enough for 4-byte varints. */
const ackStepValueArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 100_000 }));

/** Ranges built downward from the largest packet number, stopping before any would go below 0. */
export const ackFrameArb: fc.Arbitrary<AckFrame> = fc
  .record({
    largest: u32Arb,
    firstLength: ackStepValueArb,
    steps: fc.array(fc.record({ gap: ackStepValueArb, length: ackStepValueArb }), { maxLength: 15 }),
  })
  .map(({ largest, firstLength, steps }): AckFrame => {
    let range: AckRange = { smallest: Math.max(0, largest - firstLength), largest };
    const ranges: AckRange[] = [range];
    for (const { gap, length } of steps) {
      const nextLargest = range.smallest - gap - 2;
      if (nextLargest < 0) {
        break;
      }
      range = { smallest: Math.max(0, nextLargest - length), largest: nextLargest };
      ranges.push(range);
    }
    return { type: 'ack', ranges };
  });

/** The frames delivered reliably; MEMBERS holds at most 30 names so that any one frame fits a packet. */
export const reliableFrameArb: fc.Arbitrary<ReliableFrame> = fc.oneof(
  fc.record({
    type: fc.constant('claim' as const),
    msgSeq: varintValueArb,
    name: nameArb,
    originSecret: bytesArb(ORIGIN_SECRET_BYTES),
  }),
  fc.record({
    type: fc.constant('refused' as const),
    msgSeq: varintValueArb,
    reason: fc.constantFrom('name-taken' as const, 'bad-name' as const, 'room-full' as const),
  }),
  fc.record({
    type: fc.constant('say' as const),
    msgSeq: varintValueArb,
    line: varintValueArb,
    text: textArb,
  }),
  fc.record({ type: fc.constant('bye' as const), msgSeq: varintValueArb }),
  fc.record({
    type: fc.constant('members' as const),
    msgSeq: varintValueArb,
    roomSeq: varintValueArb,
    final: fc.boolean(),
    names: fc.array(nameArb, { maxLength: 30 }),
  }),
  fc.record({
    type: fc.constant('joined' as const),
    msgSeq: varintValueArb,
    roomSeq: varintValueArb,
    name: nameArb,
  }),
  fc.record({
    type: fc.constant('message' as const),
    msgSeq: varintValueArb,
    roomSeq: varintValueArb,
    timeMs: varintValueArb,
    from: nameArb,
    origin: sessionIdArb,
    line: varintValueArb,
    text: textArb,
  }),
  fc.record({
    type: fc.constant('left' as const),
    msgSeq: varintValueArb,
    roomSeq: varintValueArb,
    name: nameArb,
    reason: fc.constantFrom('quit' as const, 'timeout' as const),
  }),
  fc.record({ type: fc.constant('goodbye' as const), msgSeq: varintValueArb }),
  fc.record({ type: fc.constant('shutdown' as const), msgSeq: varintValueArb }),
  fc.record({
    type: fc.constant('paced' as const),
    msgSeq: varintValueArb,
    ratePerSecond: varintValueArb,
    burst: varintValueArb,
  }),
);

/** Any frame; each one alone fits in a SESSION packet. */
export const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  ackFrameArb,
  fc.constant({ type: 'ping' as const }),
  reliableFrameArb,
);

/** Keeps the longest prefix of `frames` that fits in one datagram; the first frame always fits. */
function fitFrames(frames: readonly Frame[]): Frame[] {
  let budget = DATAGRAM_SIZE_MAX - SESSION_OVERHEAD_BYTES;
  const fitting: Frame[] = [];
  for (const frame of frames) {
    budget -= frameSize(frame);
    if (budget < 0) {
      break;
    }
    fitting.push(frame);
  }
  return fitting;
}

/** The frames of one SESSION packet: 1 to 8, fitting in DATAGRAM_SIZE_MAX bytes once sealed. */
export const sessionFramesArb: fc.Arbitrary<Frame[]> = fc
  .array(frameArb, { minLength: 1, maxLength: 8 })
  .map((frames) => fitFrames(frames));

/** Every packet type but SESSION (whose frames travel sealed: see {@link sessionFramesArb}). */
export const packetArb: fc.Arbitrary<Exclude<Packet, { readonly type: 'session' }>> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), clientNonce: bytesArb(NONCE_BYTES) }),
  fc.record({
    type: fc.constant('challenge' as const),
    clientNonce: bytesArb(NONCE_BYTES),
    timeSlot: u32Arb,
    cookie: bytesArb(COOKIE_BYTES),
    serverKey: bytesArb(SERVER_KEY_BYTES),
  }),
  fc.record({
    type: fc.constant('join' as const),
    clientNonce: bytesArb(NONCE_BYTES),
    timeSlot: u32Arb,
    cookie: bytesArb(COOKIE_BYTES),
    share: bytesArb(SHARE_BYTES),
  }),
  fc.record({
    type: fc.constant('accept' as const),
    clientNonce: bytesArb(NONCE_BYTES),
    sessionId: sessionIdArb,
    share: bytesArb(SHARE_BYTES),
    sealed: bytesArb(RESET_TOKEN_BYTES + SIGNATURE_BYTES + TAG_BYTES),
  }),
  fc.record({
    type: fc.constant('refuse' as const),
    clientNonce: bytesArb(NONCE_BYTES),
    reason: fc.constantFrom(
      'bad-password' as const,
      'name-taken' as const,
      'bad-name' as const,
      'room-full' as const,
      'version' as const,
    ),
  }),
  fc.record({
    type: fc.constant('reset' as const),
    sessionId: sessionIdArb,
    token: bytesArb(RESET_TOKEN_BYTES),
  }),
  fc.record({
    type: fc.constant('wait' as const),
    clientNonce: bytesArb(NONCE_BYTES),
    reason: fc.constantFrom('load' as const, 'throttled' as const, 'host-quota' as const),
    retryAfterMs: fc.nat({ max: 0xffff_ffff }),
  }),
);
