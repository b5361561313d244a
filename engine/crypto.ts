import { createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { COOKIE_BYTES, PROOF_BYTES } from './codec/frames.ts';

/**
 * Deterministic cryptography only: every random byte the engine uses comes from the environment's
 * random source, so that a simulation replays exactly. Everything here is a pure function.
 */

/** The salt that binds derived keys to this protocol, so a key is useless to any other program. */
const ROOM_KEY_SALT = 'gaschat/v1/room-key';
/** PBKDF2-SHA256 rounds for the room key: slows an offline guess at a captured handshake. */
export const ROOM_KEY_ITERATIONS_DEFAULT = 100_000;
const ROOM_KEY_CACHE_COUNT_MAX = 16;
const roomKeyCache = new Map<string, Uint8Array>();

/**
 * Derives the room key from the room password. Both ends derive it once; the password itself never
 * crosses the wire. Memoised (a bounded cache) because a simulation starts thousands of clients.
 */
export function deriveRoomKey(
  password: string,
  iterations: number = ROOM_KEY_ITERATIONS_DEFAULT,
): Uint8Array {
  const cacheKey = `${iterations}:${password}`;
  const cached = roomKeyCache.get(cacheKey);
  if (cached !== undefined) {
    return cached;
  }
  const key = new Uint8Array(pbkdf2Sync(password.normalize('NFC'), ROOM_KEY_SALT, iterations, 32, 'sha256'));
  if (roomKeyCache.size >= ROOM_KEY_CACHE_COUNT_MAX) {
    const oldest = roomKeyCache.keys().next();
    if (oldest.done !== true) {
      roomKeyCache.delete(oldest.value);
    }
  }
  roomKeyCache.set(cacheKey, key);
  return key;
}

function hmac(
  key: Uint8Array,
  label: string,
  parts: readonly (Uint8Array | string | number)[],
  size: number,
): Uint8Array {
  const mac = createHmac('sha256', key);
  mac.update(label);
  for (const part of parts) {
    if (typeof part === 'number') {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, part >>> 0);
      mac.update(bytes);
    } else if (typeof part === 'string') {
      // A length prefix keeps ("ab", "c") and ("a", "bc") apart.
      mac.update(String(part.length));
      mac.update(':');
      mac.update(part);
    } else {
      mac.update(part);
    }
  }
  return new Uint8Array(mac.digest().subarray(0, size));
}

/** The stateless cookie: the server can check it later without having stored anything. */
export function makeCookie(
  secret: Uint8Array,
  address: string,
  clientNonce: Uint8Array,
  timeSlot: number,
): Uint8Array {
  return hmac(secret, 'cookie', [address, clientNonce, timeSlot], COOKIE_BYTES);
}

/** The client's answer to the challenge: proves it knows the room key, bound to both nonces and the name. */
export function makeJoinProof(
  roomKey: Uint8Array,
  clientNonce: Uint8Array,
  cookie: Uint8Array,
  name: string,
): Uint8Array {
  return hmac(roomKey, 'join', [clientNonce, cookie, name], PROOF_BYTES);
}

/** The server's answer: proves to the client that this server knows the room key as well. */
export function makeAcceptProof(
  roomKey: Uint8Array,
  clientNonce: Uint8Array,
  cookie: Uint8Array,
  sessionId: string,
): Uint8Array {
  return hmac(roomKey, 'accept', [clientNonce, cookie, sessionId], PROOF_BYTES);
}

/** Compares two MACs in constant time. */
export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Lowercase hex of some bytes: session ids and nonces as map keys and in logs. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
