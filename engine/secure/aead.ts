import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { AEAD_IV_BYTES, AEAD_KEY_BYTES, type DirectionKeys } from './keys.ts';

/**
 * Packet protection of protocol v2: every packet after the handshake is sealed with
 * ChaCha20-Poly1305 (RFC 8439), its header as associated data, under a nonce made from the direction's
 * IV and the packet number as TLS 1.3 (RFC 8446 §5.3) and QUIC (RFC 9001 §5.3) make it.
 *
 * The primitive sits behind {@link Aead} so that the portable engine carries a pure-JavaScript one
 * (`@noble/ciphers`) while an adapter may pass a faster native one (node:crypto's).
 */

/** Bytes of the Poly1305 tag that ends every sealed packet. */
export const AEAD_TAG_BYTES = 16;
/** The largest packet number a nonce can carry here: packet numbers are 32-bit, 0 to 2^32 - 1. */
export const PACKET_NUMBER_MAX = 0xffff_ffff;
/**
 * RFC 9001 §6.6: an endpoint may see at most 2^36 forged ChaCha20-Poly1305 packets under one key
 * before an attacker's chance of a forgery grows past the bound QUIC accepts. {@link PacketOpener}
 * counts failures against it; a session closes at a far lower bound of its own configuration.
 */
export const CHACHA20_POLY1305_INTEGRITY_LIMIT = 2 ** 36;
/**
 * Packets one key may seal. RFC 9001 §6.6 sets no confidentiality limit for ChaCha20-Poly1305 (its
 * bound lies beyond 2^62 packets); what bounds a key here is the 32-bit packet number, as each nonce
 * may be used once: 2^32 packets, after which the session must end (or rekey).
 */
export const CONFIDENTIALITY_LIMIT = PACKET_NUMBER_MAX + 1;

/**
 * An AEAD with a 32-byte key, a 12-byte nonce and a 16-byte tag (ChaCha20-Poly1305). Both methods
 * throw only when the key or the nonce has the wrong length, which is this program's own mistake;
 * what arrives from the network (the associated data and the sealed bytes) never makes them throw.
 */
export interface Aead {
  /** Encrypts `plaintext` and authenticates it with `aad`: the ciphertext, then the 16-byte tag. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * The plaintext of `sealed` (ciphertext || tag), or undefined when it does not verify under `key`,
   * `nonce` and `aad`, including when it is shorter than a tag.
   */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
}

/**
 * Throws unless `key` and `nonce` have ChaCha20-Poly1305's lengths: an Aead's caller contract, shared
 * so that every implementation refuses the same inputs.
 */
export function checkKeyAndNonce(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_BYTES) {
    throw new Error(`an AEAD key must be ${AEAD_KEY_BYTES} bytes, not ${key.length}`);
  }
  if (nonce.length !== AEAD_IV_BYTES) {
    throw new Error(`an AEAD nonce must be ${AEAD_IV_BYTES} bytes, not ${nonce.length}`);
  }
}

/** ChaCha20-Poly1305 from `@noble/ciphers`: pure JavaScript, so the engine runs anywhere. */
export const nobleChaCha20Poly1305: Aead = {
  seal(key, nonce, aad, plaintext) {
    checkKeyAndNonce(key, nonce);
    return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
  },
  open(key, nonce, aad, sealed) {
    checkKeyAndNonce(key, nonce);
    if (sealed.length < AEAD_TAG_BYTES) {
      return undefined;
    }
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(sealed);
    } catch {
      // The key and nonce were checked above, so the one thing left to fail is the tag.
      return undefined;
    }
  },
};

/** Whether `packetNumber` is one a nonce can carry: an integer from 0 to {@link PACKET_NUMBER_MAX}. */
export function isPacketNumber(packetNumber: number): boolean {
  return Number.isInteger(packetNumber) && packetNumber >= 0 && packetNumber <= PACKET_NUMBER_MAX;
}

/**
 * The nonce of one packet: `iv` XOR the packet number as a 12-byte big-endian integer, left-padded
 * with zeros (RFC 9001 §5.3). Distinct packet numbers give distinct nonces, so a direction never uses
 * a nonce twice as long as it never reuses a packet number; the IV being secret keeps nonces from
 * being predictable across sessions.
 *
 * @throws Error if `iv` is not 12 bytes or `packetNumber` is not an integer in 0..2^32 - 1.
 * @example packetNonce(iv, 1) is iv with its last byte XOR 0x01
 */
export function packetNonce(iv: Uint8Array, packetNumber: number): Uint8Array {
  if (iv.length !== AEAD_IV_BYTES) {
    throw new Error(`an IV must be ${AEAD_IV_BYTES} bytes, not ${iv.length}`);
  }
  if (!isPacketNumber(packetNumber)) {
    throw new Error(`packet number ${packetNumber} is not an integer from 0 to ${PACKET_NUMBER_MAX}`);
  }
  const nonce = iv.slice();
  // The packet number fills the last four bytes; the eight above it are zero, so XOR leaves them.
  const last = AEAD_IV_BYTES - 1;
  for (let byte = 0; byte < 4; byte += 1) {
    nonce[last - byte] = (iv[last - byte] ?? 0) ^ ((packetNumber >>> (8 * byte)) & 0xff);
  }
  return nonce;
}

/** Throws unless `keys` has an AEAD key's and an IV's lengths: caught when a session starts, not at its first packet. */
function checkDirectionKeys(keys: DirectionKeys): void {
  if (keys.key.length !== AEAD_KEY_BYTES) {
    throw new Error(`a direction's key must be ${AEAD_KEY_BYTES} bytes, not ${keys.key.length}`);
  }
  if (keys.iv.length !== AEAD_IV_BYTES) {
    throw new Error(`a direction's IV must be ${AEAD_IV_BYTES} bytes, not ${keys.iv.length}`);
  }
}

/**
 * Seals the packets one end sends in one direction. Packet numbers must go up strictly: a number used
 * twice would reuse a nonce, which with ChaCha20-Poly1305 gives away the XOR of two plaintexts and
 * lets an attacker forge tags, so the sealer refuses it rather than trusting every caller.
 *
 * @example
 * const sealer = new PacketSealer(keys.clientToServer);
 * const datagram = concat(header, sealer.seal(header, packetNumber, frames));
 */
export class PacketSealer {
  /** Packets this key may seal in all ({@link CONFIDENTIALITY_LIMIT}): the packet number space. */
  readonly confidentialityLimit = CONFIDENTIALITY_LIMIT;
  readonly #keys: DirectionKeys;
  readonly #aead: Aead;
  #lastPacketNumber: number | undefined;
  #sealedCount = 0;

  constructor(keys: DirectionKeys, aead: Aead = nobleChaCha20Poly1305) {
    checkDirectionKeys(keys);
    this.#keys = keys;
    this.#aead = aead;
  }

  /** Packets sealed so far under this key. */
  get sealedCount(): number {
    return this.#sealedCount;
  }

  /**
   * The sealed bytes (ciphertext || tag) of a packet whose `header`, sent in the clear before them, is
   * authenticated as associated data. The caller sends `header || sealed`.
   *
   * @throws Error if `packetNumber` is out of range or not above the last one sealed.
   */
  seal(header: Uint8Array, packetNumber: number, plaintext: Uint8Array): Uint8Array {
    if (this.#lastPacketNumber !== undefined && !(packetNumber > this.#lastPacketNumber)) {
      throw new Error(
        `packet number ${packetNumber} is not above ${this.#lastPacketNumber}, the last one sealed: its nonce would repeat`,
      );
    }
    const nonce = packetNonce(this.#keys.iv, packetNumber);
    const sealed = this.#aead.seal(this.#keys.key, nonce, header, plaintext);
    this.#lastPacketNumber = packetNumber;
    this.#sealedCount += 1;
    return sealed;
  }
}

/**
 * Opens the packets one end receives in one direction, and counts those that fail to verify: RFC 9001
 * §6.6 bounds how many forgeries one key may face ({@link CHACHA20_POLY1305_INTEGRITY_LIMIT}), and the
 * owner closes the session once `failures` reaches its own, much lower, configured bound. Replays are
 * not its business: a replayed packet verifies, and the owner's replay window refuses it.
 *
 * @example
 * const opener = new PacketOpener(keys.clientToServer);
 * const frames = opener.open(header, packetNumber, datagram.subarray(header.length));
 * if (frames === undefined && opener.failures >= config.aeadFailuresMax) close();
 */
export class PacketOpener {
  /** The most forged packets RFC 9001 lets one ChaCha20-Poly1305 key face. */
  readonly integrityLimit = CHACHA20_POLY1305_INTEGRITY_LIMIT;
  readonly #keys: DirectionKeys;
  readonly #aead: Aead;
  #failures = 0;

  constructor(keys: DirectionKeys, aead: Aead = nobleChaCha20Poly1305) {
    checkDirectionKeys(keys);
    this.#keys = keys;
    this.#aead = aead;
  }

  /** Packets that failed to verify under this key so far. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * The plaintext of a packet, or undefined (and one more failure) when it does not verify. Never
   * throws: a packet number out of range came off the wire and cannot have been sealed by the peer,
   * so it counts as a forgery too.
   */
  open(header: Uint8Array, packetNumber: number, sealed: Uint8Array): Uint8Array | undefined {
    const opened = isPacketNumber(packetNumber)
      ? this.#aead.open(this.#keys.key, packetNonce(this.#keys.iv, packetNumber), header, sealed)
      : undefined;
    if (opened === undefined) {
      this.#failures += 1;
    }
    return opened;
  }
}
