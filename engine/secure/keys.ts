import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';

/**
 * The key schedule of protocol v2: from the PAKE's shared secret (the ISK) to one AEAD key and one
 * IV per direction, with HKDF-SHA512 (RFC 5869).
 *
 * ```text
 * PRK            = HKDF-Extract(salt = "gaschat v2 session", IKM = ISK)
 * c2s key (32 B) = HKDF-Expand(PRK, info = "c2s key" || context, 32)
 * c2s iv  (12 B) = HKDF-Expand(PRK, info = "c2s iv"  || context, 12)
 * s2c key (32 B) = HKDF-Expand(PRK, info = "s2c key" || context, 32)
 * s2c iv  (12 B) = HKDF-Expand(PRK, info = "s2c iv"  || context, 12)
 * ```
 *
 * Every string is ASCII, without a terminator or length prefix; `||` is concatenation. No label is a
 * prefix of another (they differ within their first five bytes), so an `info` names exactly one
 * (label, context) pair and no choice of context makes two outputs equal. One key per direction keeps
 * a packet reflected back at its sender from verifying, and lets both ends count packet numbers from 0
 * without ever using a nonce twice under one key.
 */

/** Bytes of the PAKE output this schedule takes (CPace over SHA-512 gives a 64-byte ISK). */
export const ISK_BYTES = 64;
/** ChaCha20-Poly1305's key (RFC 8439 §2.8). */
export const AEAD_KEY_BYTES = 32;
/** ChaCha20-Poly1305's nonce, which the per-packet nonce is derived from (RFC 8439 §2.8). */
export const AEAD_IV_BYTES = 12;

/** The HKDF-Extract salt: binds every key to this protocol and version. */
export const SESSION_SALT = 'gaschat v2 session';
/** The HKDF-Expand labels, each followed by the context in `info`. */
export const KEY_LABELS = {
  clientToServerKey: 'c2s key',
  clientToServerIv: 'c2s iv',
  serverToClientKey: 's2c key',
  serverToClientIv: 's2c iv',
} as const;

/** What one direction needs to seal (sender) or open (receiver) its packets. */
export interface DirectionKeys {
  /** The AEAD key, {@link AEAD_KEY_BYTES} bytes. */
  readonly key: Uint8Array;
  /** XORed with the packet number to make each packet's nonce, {@link AEAD_IV_BYTES} bytes. */
  readonly iv: Uint8Array;
}

/** The keys of one session: the client seals with `clientToServer`, the server with `serverToClient`. */
export interface SessionKeys {
  readonly clientToServer: DirectionKeys;
  readonly serverToClient: DirectionKeys;
}

const ascii = new TextEncoder();

/** `label || context`, the HKDF-Expand info. */
function info(label: string, context: Uint8Array): Uint8Array {
  const labelBytes = ascii.encode(label);
  const bytes = new Uint8Array(labelBytes.length + context.length);
  bytes.set(labelBytes, 0);
  bytes.set(context, labelBytes.length);
  return bytes;
}

/**
 * Derives the session's keys from the PAKE output `isk` and a `context` that both ends hold (the
 * handshake's transcript or session id), so that one ISK used in two contexts gives unrelated keys.
 * Deterministic: both ends derive the same keys from the same inputs.
 *
 * @throws Error if `isk` is not {@link ISK_BYTES} bytes: a shorter secret is a broken handshake.
 * @example
 * const keys = deriveSessionKeys(isk, sessionIdBytes);
 * const sealer = new PacketSealer(keys.clientToServer); // on the client
 */
export function deriveSessionKeys(isk: Uint8Array, context: Uint8Array): SessionKeys {
  if (isk.length !== ISK_BYTES) {
    throw new Error(`the ISK is ${isk.length} bytes, not ${ISK_BYTES}`);
  }
  const prk = extract(sha512, isk, ascii.encode(SESSION_SALT));
  const derive = (label: string, length: number): Uint8Array =>
    expand(sha512, prk, info(label, context), length);
  return {
    clientToServer: {
      key: derive(KEY_LABELS.clientToServerKey, AEAD_KEY_BYTES),
      iv: derive(KEY_LABELS.clientToServerIv, AEAD_IV_BYTES),
    },
    serverToClient: {
      key: derive(KEY_LABELS.serverToClientKey, AEAD_KEY_BYTES),
      iv: derive(KEY_LABELS.serverToClientIv, AEAD_IV_BYTES),
    },
  };
}
