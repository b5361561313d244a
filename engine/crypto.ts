import { equalBytes } from '@noble/ciphers/utils.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import { COOKIE_BYTES, ORIGIN_BYTES, type Origin } from './codec/frames.ts';

/**
 * Deterministic cryptography only: every random byte the engine uses comes from the environment's
 * random source, so that a simulation replays exactly. Everything here is a pure function, on @noble's
 * primitives (the engine imports nothing from Node).
 */

const utf8 = new TextEncoder();

/** HMAC-SHA256 over a label and parts, each part length-prefixed so that no two inputs collide. */
export function mac(
  key: Uint8Array,
  label: string,
  parts: readonly (Uint8Array | string | number)[],
): Uint8Array {
  const chunks: Uint8Array[] = [utf8.encode(label)];
  for (const part of parts) {
    const bytes =
      typeof part === 'number'
        ? Uint8Array.of(part >>> 24, (part >>> 16) & 0xff, (part >>> 8) & 0xff, part & 0xff)
        : typeof part === 'string'
          ? utf8.encode(part)
          : part;
    chunks.push(Uint8Array.of((bytes.length >>> 8) & 0xff, bytes.length & 0xff), bytes);
  }
  return hmac(sha256, key, concatBytes(...chunks));
}

/** The stateless cookie: the server can check it later without having stored anything. */
export function makeCookie(
  secret: Uint8Array,
  address: string,
  clientNonce: Uint8Array,
  timeSlot: number,
): Uint8Array {
  return mac(secret, 'gaschat v2 cookie', [address, clientNonce, timeSlot]).subarray(0, COOKIE_BYTES);
}

/**
 * A client's public origin: the first 8 bytes of SHA-256 over a label and its origin secret. The secret
 * travels only in the CLAIM, sealed to the server; members see the origin in MESSAGEs, and cannot
 * make a CLAIM of it (a rejoin of someone else's) without the secret.
 */
export function originOf(originSecret: Uint8Array): Origin {
  return bytesToHex(
    sha256(concatBytes(utf8.encode('gaschat v2 origin'), originSecret)).subarray(0, ORIGIN_BYTES),
  );
}

/** Compares two MACs in time that does not depend on where they differ (@noble's `equalBytes`). */
export function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return equalBytes(a, b);
}

/** Lowercase hex of some bytes: session ids and nonces as map keys and in logs. */
export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}
