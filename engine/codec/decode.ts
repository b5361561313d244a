import { ByteReader } from './bytes.ts';
import { readFrame, readName } from './decode-frames.ts';
import type { DecodeErrorKind, DecodeResult, Frame, Packet } from './frames.ts';
import {
  COOKIE_BYTES,
  DATAGRAM_SIZE_MAX,
  HELLO_SIZE_MIN,
  NONCE_BYTES,
  PROOF_BYTES,
  PROTOCOL_VERSION,
  SESSION_ID_BYTES,
} from './frames.ts';
import { PACKET_TYPE_CODES, PREFIX_BYTES, REFUSE_REASONS, reasonOf, sessionIdFromBytes } from './layout.ts';

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

function readSessionId(reader: ByteReader): string {
  const bytes = reader.view(SESSION_ID_BYTES);
  // After a failed read the bytes are empty, and an empty id is never returned as a packet.
  return bytes.length === SESSION_ID_BYTES ? sessionIdFromBytes(bytes) : '';
}

function readSession(reader: ByteReader): DecodeResult {
  const sessionId = readSessionId(reader);
  const packetNumber = reader.u32();
  const frames: Frame[] = [];
  while (reader.remaining > 0 && reader.error === undefined) {
    const frame = readFrame(reader);
    if (frame !== undefined) {
      frames.push(frame);
    }
  }
  if (frames.length === 0) {
    reader.fail('no-frames', 'the SESSION packet carries no frames');
  }
  return finish(reader, { type: 'session', sessionId, packetNumber, frames });
}

function readRefuse(reader: ByteReader): DecodeResult {
  const clientNonce = reader.bytes(NONCE_BYTES);
  const reasonAt = reader.offset;
  const code = reader.u8();
  const reason = reasonOf(REFUSE_REASONS, code);
  if (reason === undefined) {
    reader.fail('bad-field', `the REFUSE reason ${code} at byte ${reasonAt} is unknown`, reasonAt);
  }
  expectEnd(reader, 'REFUSE');
  return finish(reader, { type: 'refuse', clientNonce, reason: reason ?? 'version' });
}

/** Everything after the version and type bytes. */
function readBody(reader: ByteReader, typeCode: number): DecodeResult {
  switch (typeCode) {
    case PACKET_TYPE_CODES.hello: {
      const size = reader.offset + reader.remaining;
      if (size < HELLO_SIZE_MIN) {
        return failure(
          'too-short',
          `the HELLO is ${size} bytes; it must be padded to ${HELLO_SIZE_MIN}`,
          size,
        );
      }
      // The padding is not read: its only job is to make the datagram large.
      return finish(reader, { type: 'hello', clientNonce: reader.bytes(NONCE_BYTES) });
    }
    case PACKET_TYPE_CODES.challenge: {
      const clientNonce = reader.bytes(NONCE_BYTES);
      const timeSlot = reader.u32();
      const cookie = reader.bytes(COOKIE_BYTES);
      expectEnd(reader, 'CHALLENGE');
      return finish(reader, { type: 'challenge', clientNonce, timeSlot, cookie });
    }
    case PACKET_TYPE_CODES.join: {
      const clientNonce = reader.bytes(NONCE_BYTES);
      const timeSlot = reader.u32();
      const cookie = reader.bytes(COOKIE_BYTES);
      const proof = reader.bytes(PROOF_BYTES);
      // Checked by the server, which answers a bad one with REFUSE bad-name.
      const name = readName(reader, true);
      expectEnd(reader, 'JOIN');
      return finish(reader, { type: 'join', clientNonce, timeSlot, cookie, proof, name });
    }
    case PACKET_TYPE_CODES.accept: {
      const clientNonce = reader.bytes(NONCE_BYTES);
      const sessionId = readSessionId(reader);
      const proof = reader.bytes(PROOF_BYTES);
      expectEnd(reader, 'ACCEPT');
      return finish(reader, { type: 'accept', clientNonce, sessionId, proof });
    }
    case PACKET_TYPE_CODES.refuse:
      return readRefuse(reader);
    case PACKET_TYPE_CODES.session:
      return readSession(reader);
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
  return readBody(reader, typeCode);
}

/**
 * The client nonce of a HELLO from another protocol version, so that a server can answer it with REFUSE
 * 'version' (which is smaller than the HELLO); undefined for any other datagram.
 */
export function peekHelloNonce(datagram: Uint8Array): Uint8Array | undefined {
  const isForeignHello =
    datagram.length >= HELLO_SIZE_MIN &&
    datagram.length <= DATAGRAM_SIZE_MAX &&
    datagram[0] !== PROTOCOL_VERSION &&
    datagram[1] === PACKET_TYPE_CODES.hello;
  return isForeignHello
    ? new Uint8Array(datagram.subarray(PREFIX_BYTES, PREFIX_BYTES + NONCE_BYTES))
    : undefined;
}
