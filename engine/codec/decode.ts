import { ByteReader } from './bytes.ts';
import { readFrame } from './decode-frames.ts';
import type { DecodeErrorKind, DecodeResult, Frame, FramesResult, Packet } from './frames.ts';
import {
  COOKIE_BYTES,
  DATAGRAM_SIZE_MAX,
  HELLO_SIZE_MIN,
  HELLO_V1_SIZE_MIN,
  JOIN_SIZE_MIN,
  NONCE_BYTES,
  PROTOCOL_VERSION,
  RESET_TOKEN_BYTES,
  SERVER_KEY_BYTES,
  SESSION_ID_BYTES,
  SHARE_BYTES,
  TAG_BYTES,
} from './frames.ts';
import {
  ACCEPT_SECRET_BYTES,
  PACKET_TYPE_CODES,
  PREFIX_BYTES,
  REFUSE_REASONS,
  reasonOf,
  SESSION_HEADER_BYTES,
  sessionIdFromBytes,
  WAIT_REASONS,
} from './layout.ts';

/**
 * Decoding is total: any bytes at all give a packet or a typed error, never an exception. The reader
 * records the first failure and returns sentinels after it (see bytes.ts); the functions here read a
 * whole structure and `finish` turns the reader's state into the result.
 */

function failure(kind: DecodeErrorKind, message: string, offset: number): DecodeResult {
  return { ok: false, error: { kind, message, offset } };
}

function finish(reader: ByteReader, packet: Packet): DecodeResult {
  const error = reader.error;
  return error === undefined ? { ok: true, packet } : { ok: false, error };
}

/** Fixed-size packets end exactly where their last field does. */
function expectEnd(reader: ByteReader, what: string): void {
  if (reader.remaining > 0) {
    reader.fail('trailing-bytes', `${reader.remaining} bytes follow the end of the ${what} packet`);
  }
}

/** A padded packet (HELLO, JOIN) must make the whole datagram at least `sizeMin` bytes. */
function paddedTooShort(reader: ByteReader, what: string, sizeMin: number): DecodeResult | undefined {
  const size = reader.offset + reader.remaining;
  return size < sizeMin
    ? failure('too-short', `the ${what} is ${size} bytes; it must be padded to ${sizeMin}`, size)
    : undefined;
}

function readSessionId(reader: ByteReader): string {
  const bytes = reader.view(SESSION_ID_BYTES);
  // After a failed read the bytes are empty, and an empty id is never returned as a packet.
  return bytes.length === SESSION_ID_BYTES ? sessionIdFromBytes(bytes) : '';
}

/** The header in clear and the sealed rest: its frames are read only once the session opened them. */
function readSession(reader: ByteReader, datagram: Uint8Array): DecodeResult {
  const sessionId = readSessionId(reader);
  const packetNumber = reader.u32();
  if (reader.remaining <= TAG_BYTES && reader.error === undefined) {
    reader.fail('too-short', `the SESSION packet has no room for a frame and its ${TAG_BYTES}-byte tag`);
  }
  const header = datagram.subarray(0, SESSION_HEADER_BYTES);
  const sealed = reader.view(reader.remaining);
  return finish(reader, { type: 'session', sessionId, packetNumber, header, sealed });
}

/** A reason byte of a handshake packet: a code this version knows, or a `bad-field` failure. */
function readReason<R extends string>(
  reader: ByteReader,
  reasons: readonly R[],
  what: string,
): R | undefined {
  const reasonAt = reader.offset;
  const code = reader.u8();
  const reason = reasonOf(reasons, code);
  if (reason === undefined) {
    reader.fail('bad-field', `the ${what} reason ${code} at byte ${reasonAt} is unknown`, reasonAt);
  }
  return reason;
}

function readRefuse(reader: ByteReader): DecodeResult {
  const clientNonce = reader.bytes(NONCE_BYTES);
  const reason = readReason(reader, REFUSE_REASONS, 'REFUSE');
  expectEnd(reader, 'REFUSE');
  return finish(reader, { type: 'refuse', clientNonce, reason: reason ?? 'version' });
}

function readWait(reader: ByteReader): DecodeResult {
  const clientNonce = reader.bytes(NONCE_BYTES);
  const reason = readReason(reader, WAIT_REASONS, 'WAIT');
  const retryAfterMs = reader.u32();
  expectEnd(reader, 'WAIT');
  return finish(reader, { type: 'wait', clientNonce, reason: reason ?? 'load', retryAfterMs });
}

/** Everything after the version and type bytes. */
function readBody(reader: ByteReader, typeCode: number, datagram: Uint8Array): DecodeResult {
  switch (typeCode) {
    case PACKET_TYPE_CODES.hello:
      // The padding is not read: its only job is to make the datagram large.
      return (
        paddedTooShort(reader, 'HELLO', HELLO_SIZE_MIN) ??
        finish(reader, { type: 'hello', clientNonce: reader.bytes(NONCE_BYTES) })
      );
    case PACKET_TYPE_CODES.challenge: {
      const clientNonce = reader.bytes(NONCE_BYTES);
      const timeSlot = reader.u32();
      const cookie = reader.bytes(COOKIE_BYTES);
      const serverKey = reader.bytes(SERVER_KEY_BYTES);
      expectEnd(reader, 'CHALLENGE');
      return finish(reader, { type: 'challenge', clientNonce, timeSlot, cookie, serverKey });
    }
    case PACKET_TYPE_CODES.join: {
      const tooShort = paddedTooShort(reader, 'JOIN', JOIN_SIZE_MIN);
      if (tooShort !== undefined) {
        return tooShort;
      }
      const clientNonce = reader.bytes(NONCE_BYTES);
      const timeSlot = reader.u32();
      const cookie = reader.bytes(COOKIE_BYTES);
      const share = reader.bytes(SHARE_BYTES);
      return finish(reader, { type: 'join', clientNonce, timeSlot, cookie, share });
    }
    case PACKET_TYPE_CODES.accept: {
      const clientNonce = reader.bytes(NONCE_BYTES);
      const sessionId = readSessionId(reader);
      const share = reader.bytes(SHARE_BYTES);
      const sealed = reader.bytes(ACCEPT_SECRET_BYTES + TAG_BYTES);
      expectEnd(reader, 'ACCEPT');
      return finish(reader, { type: 'accept', clientNonce, sessionId, share, sealed });
    }
    case PACKET_TYPE_CODES.refuse:
      return readRefuse(reader);
    case PACKET_TYPE_CODES.wait:
      return readWait(reader);
    case PACKET_TYPE_CODES.reset: {
      const sessionId = readSessionId(reader);
      const token = reader.bytes(RESET_TOKEN_BYTES);
      expectEnd(reader, 'RESET');
      return finish(reader, { type: 'reset', sessionId, token });
    }
    case PACKET_TYPE_CODES.session:
      return readSession(reader, datagram);
    default:
      return failure('unknown-packet-type', `packet type ${typeCode} at byte 1 is unknown`, 1);
  }
}

/**
 * Decodes one datagram. Never throws: bytes from the network are untrusted, and a bad datagram is an
 * expected event, returned as a typed error for the caller to count and drop.
 *
 * @example
 * const result = decodePacket(datagram);
 * if (!result.ok) { log(result.error.kind, result.error.message); }
 */
export function decodePacket(datagram: Uint8Array): DecodeResult {
  if (datagram.length > DATAGRAM_SIZE_MAX) {
    return failure('too-long', `the datagram is ${datagram.length} bytes; at most ${DATAGRAM_SIZE_MAX}`, 0);
  }
  const reader = new ByteReader(datagram);
  const version = reader.u8();
  const typeCode = reader.u8();
  if (reader.error !== undefined) {
    return { ok: false, error: reader.error };
  }
  if (version !== PROTOCOL_VERSION) {
    const message = `the datagram speaks protocol version ${version}; this build speaks ${PROTOCOL_VERSION}`;
    return { ok: false, error: { kind: 'version', message, offset: 0, version } };
  }
  return readBody(reader, typeCode, datagram);
}

/**
 * The frames of an opened SESSION packet (its plaintext), or the first error. Never throws.
 */
export function decodeFrames(plaintext: Uint8Array): FramesResult {
  const reader = new ByteReader(plaintext);
  const frames: Frame[] = [];
  while (reader.remaining > 0 && reader.error === undefined) {
    const frame = readFrame(reader);
    if (frame !== undefined) {
      frames.push(frame);
    }
  }
  if (frames.length === 0 && reader.error === undefined) {
    reader.fail('no-frames', 'the SESSION packet carries no frames');
  }
  const error = reader.error;
  return error === undefined ? { ok: true, frames } : { ok: false, error };
}

/**
 * A HELLO from another protocol version: its version and client nonce, so that a server can answer it
 * with REFUSE 'version' (which is smaller than the HELLO); undefined for any other datagram. A version 1
 * HELLO is at least 64 bytes, any other at least this version's minimum.
 */
export function peekForeignHello(
  datagram: Uint8Array,
): { readonly version: number; readonly clientNonce: Uint8Array } | undefined {
  const version = datagram[0];
  if (
    version === undefined ||
    version === PROTOCOL_VERSION ||
    datagram[1] !== PACKET_TYPE_CODES.hello ||
    datagram.length > DATAGRAM_SIZE_MAX ||
    datagram.length < (version === 1 ? HELLO_V1_SIZE_MIN : HELLO_SIZE_MIN)
  ) {
    return undefined;
  }
  return {
    version,
    clientNonce: new Uint8Array(datagram.subarray(PREFIX_BYTES, PREFIX_BYTES + NONCE_BYTES)),
  };
}
