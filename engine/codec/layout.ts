import assert from '../assert.ts';
import type {
  Frame,
  LeaveReason,
  Packet,
  RefuseReason,
  RoomRefusal,
  SessionId,
  WaitReason,
} from './frames.ts';
import {
  COOKIE_BYTES,
  NONCE_BYTES,
  RESET_TOKEN_BYTES,
  SERVER_KEY_BYTES,
  SESSION_ID_BYTES,
  SHARE_BYTES,
  SIGNATURE_BYTES,
  TAG_BYTES,
} from './frames.ts';

/**
 * The numbers that appear on the wire, shared by the encoder and the decoder. PROTOCOL.md documents
 * the same layout in tables; the test of its worked example keeps the two in step.
 */

/** Byte 1 of every datagram. */
export const PACKET_TYPE_CODES = {
  hello: 0x01,
  challenge: 0x02,
  join: 0x03,
  accept: 0x04,
  refuse: 0x05,
  session: 0x06,
  reset: 0x07,
  wait: 0x08,
} as const satisfies Record<Packet['type'], number>;

/** The first byte of every frame inside a SESSION packet. */
export const FRAME_TYPE_CODES = {
  ack: 0x01,
  ping: 0x02,
  say: 0x03,
  bye: 0x04,
  members: 0x05,
  joined: 0x06,
  message: 0x07,
  left: 0x08,
  goodbye: 0x09,
  shutdown: 0x0a,
  claim: 0x0b,
  refused: 0x0c,
  paced: 0x0d,
} as const satisfies Record<Frame['type'], number>;

/** REFUSE reasons; the code on the wire is the index plus one, so that 0 is never valid. */
export const REFUSE_REASONS = [
  'bad-password',
  'name-taken',
  'bad-name',
  'room-full',
  'version',
] as const satisfies readonly RefuseReason[];

/** WAIT reasons; the code on the wire is the index plus one. */
export const WAIT_REASONS = ['load', 'throttled', 'host-quota'] as const satisfies readonly WaitReason[];

/** REFUSED reasons: the same codes as REFUSE's for the same reasons. */
export const ROOM_REFUSAL_CODES = {
  'name-taken': 2,
  'bad-name': 3,
  'room-full': 4,
} as const satisfies Record<RoomRefusal, number>;

/** LEFT reasons; the code on the wire is the index plus one. */
export const LEAVE_REASONS = ['quit', 'timeout'] as const satisfies readonly LeaveReason[];

/** The code of a reason: its index in `reasons`, plus one. */
export function reasonCode<R extends string>(reasons: readonly R[], reason: R): number {
  const index = reasons.indexOf(reason);
  if (!(index >= 0)) {
    assert.fail(`"${reason}" has no wire code`);
  }
  return index + 1;
}

/** The reason a code stands for, or undefined for a code this version does not know. */
export function reasonOf<R extends string>(reasons: readonly R[], code: number): R | undefined {
  return reasons[code - 1];
}

/** Version and packet type: the two bytes every datagram starts with. */
export const PREFIX_BYTES = 2;
/** Packet numbers are u32 on the wire, so acknowledged packet numbers are bounded by the same limit. */
export const PACKET_NUMBER_MAX = 0xffff_ffff;
/** Version, type, session id and packet number: a SESSION packet's header, in clear, its associated data. */
export const SESSION_HEADER_BYTES = PREFIX_BYTES + SESSION_ID_BYTES + 4;
/** What a SESSION packet spends besides its frames: the header and the tag. */
export const SESSION_OVERHEAD_BYTES = SESSION_HEADER_BYTES + TAG_BYTES;
/** At most this many ranges in one ACK frame: it bounds the frame at 134 bytes and the decoder's work. */
export const ACK_RANGE_COUNT_MAX = 16;

export const CHALLENGE_BYTES = PREFIX_BYTES + NONCE_BYTES + 4 + COOKIE_BYTES + SERVER_KEY_BYTES;
/** A JOIN's fields; zero padding follows, up to JOIN_SIZE_MIN. */
export const JOIN_FIELDS_BYTES = PREFIX_BYTES + NONCE_BYTES + 4 + COOKIE_BYTES + SHARE_BYTES;
/** What an ACCEPT seals: the reset token and the signature. */
export const ACCEPT_SECRET_BYTES = RESET_TOKEN_BYTES + SIGNATURE_BYTES;
/** An ACCEPT's clear part, the associated data of its seal. */
export const ACCEPT_CLEAR_BYTES = PREFIX_BYTES + NONCE_BYTES + SESSION_ID_BYTES + SHARE_BYTES;
export const ACCEPT_BYTES = ACCEPT_CLEAR_BYTES + ACCEPT_SECRET_BYTES + TAG_BYTES;
export const REFUSE_BYTES = PREFIX_BYTES + NONCE_BYTES + 1;
export const RESET_BYTES = PREFIX_BYTES + SESSION_ID_BYTES + RESET_TOKEN_BYTES;
/** A WAIT: the nonce, the reason and a u32 retry-after in milliseconds. */
export const WAIT_BYTES = PREFIX_BYTES + NONCE_BYTES + 1 + 4;

const SESSION_ID_PATTERN = /^[0-9a-f]{16}$/;

/** Whether `text` is a session id in its engine form: 16 lowercase hex digits. */
export function isSessionId(text: string): boolean {
  return SESSION_ID_PATTERN.test(text);
}

/**
 * The engine form of the 8 session id bytes on the wire.
 *
 * @example sessionIdFromBytes(Uint8Array.of(0, 1, 2, 3, 0xaa, 0xbb, 0xcc, 0xff)) === '00010203aabbccff'
 */
export function sessionIdFromBytes(bytes: Uint8Array): SessionId {
  if (bytes.length !== SESSION_ID_BYTES) {
    assert.fail(`a session id has ${SESSION_ID_BYTES} bytes, not ${bytes.length}`);
  }
  let hex = '';
  for (const byte of bytes) {
    hex += HEX_OF_BYTE[byte];
  }
  return hex;
}

/** Two lowercase hex digits for each byte value: every session packet's id is written with them. */
const HEX_OF_BYTE: readonly string[] = Array.from({ length: 256 }, (_, byte) =>
  byte.toString(16).padStart(2, '0'),
);

/**
 * The 8 wire bytes of a session id.
 *
 * @example sessionIdToBytes('00010203aabbccff') deep-equals Uint8Array.of(0, 1, 2, 3, 0xaa, 0xbb, 0xcc, 0xff)
 */
export function sessionIdToBytes(sessionId: SessionId): Uint8Array {
  if (!isSessionId(sessionId)) {
    assert.fail(`session id "${sessionId}" is not 16 lowercase hex digits`);
  }
  const bytes = new Uint8Array(SESSION_ID_BYTES);
  for (let index = 0; index < SESSION_ID_BYTES; index += 1) {
    bytes[index] = Number.parseInt(sessionId.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}
