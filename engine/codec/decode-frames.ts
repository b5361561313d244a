import { isNameBytes, validateName } from '../names.ts';
import type { ByteReader } from './bytes.ts';
import type {
  AckFrame,
  AckRange,
  Frame,
  LeftFrame,
  MembersFrame,
  RefusedFrame,
  RoomRefusal,
} from './frames.ts';
import { ORIGIN_BYTES, ORIGIN_SECRET_BYTES, type Origin, TEXT_BYTES_MAX } from './frames.ts';
import {
  ACK_RANGE_COUNT_MAX,
  FRAME_TYPE_CODES,
  LEAVE_REASONS,
  PACKET_NUMBER_MAX,
  ROOM_REFUSAL_CODES,
  reasonOf,
  sessionIdFromBytes,
} from './layout.ts';

/**
 * Reading the frames of a SESSION packet, and the names and texts they carry. Each function reads its
 * whole structure even after a failure (the reader then returns sentinels), and leaves the first failure
 * recorded on the reader; see bytes.ts. The placeholder values returned after a failure (an empty name,
 * reason 'quit') never reach a caller: `decodePacket` returns the recorded error instead.
 */

// `fatal` refuses invalid UTF-8 instead of replacing it; `ignoreBOM` keeps a leading U+FEFF, which the
// decoder would otherwise strip, so that text round-trips exactly.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readBoolean(reader: ByteReader, what: string): boolean {
  const start = reader.offset;
  const value = reader.u8();
  if (value > 1) {
    reader.fail('bad-field', `${what} at byte ${start} is ${value}; only 0 and 1 are booleans`, start);
  }
  return value === 1;
}

/**
 * Reads a name. In frames it must be valid, or the packet is malformed. A CLAIM's name is read as it
 * is (`lenient`), so that the server can refuse it with the reason `bad-name` rather than drop it.
 */
export function readName(reader: ByteReader, lenient = false): string {
  const start = reader.offset;
  const bytes = reader.view(reader.u8());
  // Any byte over 0x7f becomes a Latin-1 character, which validateName refuses: names are ASCII.
  const name = String.fromCharCode.apply(null, bytes as unknown as number[]);
  // Every name on the wire is checked; the common case, a valid one, without a pattern or an allocation.
  if (!isNameBytes(bytes)) {
    const validation = validateName(name);
    if (!validation.ok && !lenient) {
      reader.fail('bad-name', `the name at byte ${start} is refused: ${validation.message}`, start);
    }
  }
  return name;
}

function readText(reader: ByteReader): string {
  const start = reader.offset;
  const byteCount = reader.varint();
  if (byteCount > TEXT_BYTES_MAX) {
    reader.fail(
      'text-too-long',
      `the text at byte ${start} is ${byteCount} bytes; at most ${TEXT_BYTES_MAX}`,
      start,
    );
    return '';
  }
  const bytes = reader.view(byteCount);
  try {
    return utf8.decode(bytes);
  } catch {
    reader.fail('bad-utf8', `the text at byte ${start} is not valid UTF-8`, start);
    return '';
  }
}

/** Rebuilds ranges from RFC 9000 §19.3.1 gaps and lengths; any step below packet number 0 is refused. */
function readAck(reader: ByteReader): AckFrame {
  const start = reader.offset;
  const largest = reader.varint();
  const moreRangeCount = reader.varint();
  const firstLength = reader.varint();
  const ranges: AckRange[] = [];
  if (largest > PACKET_NUMBER_MAX) {
    reader.fail(
      'bad-field',
      `the ACK at byte ${start} acknowledges ${largest}, past the u32 packet numbers`,
      start,
    );
  }
  if (moreRangeCount + 1 > ACK_RANGE_COUNT_MAX) {
    reader.fail(
      'bad-ack',
      `the ACK at byte ${start} has ${moreRangeCount + 1} ranges; at most ${ACK_RANGE_COUNT_MAX}`,
      start,
    );
  }
  let range: AckRange = { smallest: largest - firstLength, largest };
  for (let index = 0; reader.error === undefined; index += 1) {
    if (range.smallest < 0) {
      reader.fail('bad-ack', `the ACK at byte ${start} has a range reaching below packet number 0`, start);
      break;
    }
    ranges.push(range);
    if (index === moreRangeCount) {
      break;
    }
    const gap = reader.varint();
    const length = reader.varint();
    const nextLargest = range.smallest - gap - 2;
    range = { smallest: nextLargest - length, largest: nextLargest };
  }
  return { type: 'ack', ranges };
}

/** Reads one frame, or records 'unknown-frame-type' and returns undefined. */
export function readFrame(reader: ByteReader): Frame | undefined {
  const start = reader.offset;
  const code = reader.u8();
  switch (code) {
    case FRAME_TYPE_CODES.ack:
      return readAck(reader);
    case FRAME_TYPE_CODES.ping:
      return { type: 'ping' };
    case FRAME_TYPE_CODES.say:
      return { type: 'say', msgSeq: reader.varint(), line: reader.varint(), text: readText(reader) };
    case FRAME_TYPE_CODES.bye:
      return { type: 'bye', msgSeq: reader.varint() };
    case FRAME_TYPE_CODES.members:
      return readMembers(reader);
    case FRAME_TYPE_CODES.joined:
      return { type: 'joined', msgSeq: reader.varint(), roomSeq: reader.varint(), name: readName(reader) };
    case FRAME_TYPE_CODES.message:
      return {
        type: 'message',
        msgSeq: reader.varint(),
        roomSeq: reader.varint(),
        timeMs: reader.varint(),
        from: readName(reader),
        origin: readOrigin(reader),
        line: reader.varint(),
        text: readText(reader),
      };
    case FRAME_TYPE_CODES.left:
      return readLeft(reader);
    case FRAME_TYPE_CODES.goodbye:
      return { type: 'goodbye', msgSeq: reader.varint() };
    case FRAME_TYPE_CODES.shutdown:
      return { type: 'shutdown', msgSeq: reader.varint() };
    case FRAME_TYPE_CODES.claim:
      // Read as it is: the server answers a bad name with REFUSED bad-name.
      return {
        type: 'claim',
        msgSeq: reader.varint(),
        name: readName(reader, true),
        originSecret: reader.bytes(ORIGIN_SECRET_BYTES),
      };
    case FRAME_TYPE_CODES.refused:
      return readRefused(reader);
    case FRAME_TYPE_CODES.paced:
      return {
        type: 'paced',
        msgSeq: reader.varint(),
        ratePerSecond: reader.varint(),
        burst: reader.varint(),
      };
    default:
      reader.fail('unknown-frame-type', `the frame at byte ${start} has unknown type ${code}`, start);
      return undefined;
  }
}

const NO_ORIGIN: Origin = '0'.repeat(2 * ORIGIN_BYTES);

/** Reads an origin's 8 bytes (after a failure, a placeholder that never reaches a caller). */
function readOrigin(reader: ByteReader): Origin {
  const bytes = reader.view(ORIGIN_BYTES);
  return bytes.length === ORIGIN_BYTES ? sessionIdFromBytes(bytes) : NO_ORIGIN;
}

function readMembers(reader: ByteReader): MembersFrame {
  const msgSeq = reader.varint();
  const roomSeq = reader.varint();
  const final = readBoolean(reader, 'the final flag');
  const countAt = reader.offset;
  const count = reader.varint();
  // Every name takes at least its length byte: a larger count cannot fit, and must not drive the loop.
  if (count > reader.remaining) {
    reader.fail('too-short', `the member count ${count} at byte ${countAt} exceeds the bytes left`, countAt);
  }
  const names: string[] = [];
  while (names.length < count && reader.error === undefined) {
    names.push(readName(reader));
  }
  return { type: 'members', msgSeq, roomSeq, final, names };
}

function readLeft(reader: ByteReader): LeftFrame {
  const msgSeq = reader.varint();
  const roomSeq = reader.varint();
  const reasonAt = reader.offset;
  const code = reader.u8();
  const reason = reasonOf(LEAVE_REASONS, code);
  if (reason === undefined) {
    reader.fail('bad-field', `the LEFT reason ${code} at byte ${reasonAt} is unknown`, reasonAt);
  }
  return { type: 'left', msgSeq, roomSeq, reason: reason ?? 'quit', name: readName(reader) };
}

const ROOM_REFUSAL_OF_CODE = new Map<number, RoomRefusal>(
  Object.entries(ROOM_REFUSAL_CODES).map(([reason, code]) => [code, reason as RoomRefusal]),
);

function readRefused(reader: ByteReader): RefusedFrame {
  const msgSeq = reader.varint();
  const reasonAt = reader.offset;
  const code = reader.u8();
  const reason = ROOM_REFUSAL_OF_CODE.get(code);
  if (reason === undefined) {
    reader.fail('bad-field', `the REFUSED reason ${code} at byte ${reasonAt} is unknown`, reasonAt);
  }
  return { type: 'refused', msgSeq, reason: reason ?? 'room-full' };
}
