import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import {
  type Aead,
  type CryptoSuite,
  type KeyExchange,
  REAL_CRYPTO,
  type SignatureScheme,
} from '../../engine/index.ts';

/**
 * The cryptography of a simulated run. Packets are sealed for real (ChaCha20-Poly1305): the adversary
 * flips their bits, and the checker looks for texts in the datagrams. The two public-key operations of
 * a handshake, which cost milliseconds each (CPace and Ed25519, measured in `npm run bench -- --only
 * crypto`), are replaced by stand-ins of the same sizes that behave the same at the protocol's level:
 * both ends agree on a key exactly when they hold the same password, channel, session and shares, and
 * only the holder of a server's secret can sign for its key. They are not secure against anyone who
 * reads them (the stand-in exchange is open to a dictionary, the stand-in signature is checked through
 * a registry): the simulated adversary forges, replays and flips, it does not do cryptanalysis, and
 * the real primitives have their own tests with their specifications' vectors. Some property runs use
 * {@link REAL_CRYPTO} throughout.
 */

const utf8 = new TextEncoder();
const SHARE_LABEL = utf8.encode('gaschat sim share');
const ISK_LABEL = utf8.encode('gaschat sim isk');

function standInIsk(
  input: { readonly prs: Uint8Array; readonly ci: Uint8Array; readonly sid: Uint8Array },
  clientShare: Uint8Array,
  serverShare: Uint8Array,
): Uint8Array {
  // Every part but the last two has a length prefix: no two inputs hash alike.
  const lengthOf = (bytes: Uint8Array) => Uint8Array.of(bytes.length >>> 8, bytes.length & 0xff);
  return sha512(
    concatBytes(
      ISK_LABEL,
      lengthOf(input.prs),
      input.prs,
      lengthOf(input.ci),
      input.ci,
      lengthOf(input.sid),
      input.sid,
      clientShare,
      serverShare,
    ),
  );
}

const standInShare = (random: Uint8Array) => sha256(concatBytes(SHARE_LABEL, random));

/** A stand-in for CPace: shares are hashes of random bytes; the ISK hashes the password with both. */
export const standInKeyExchange: KeyExchange = {
  shareBytes: 32,
  randomByteCount: 32,
  initiate(input) {
    const share = standInShare(input.random);
    return {
      share,
      finish: (peerShare) => (peerShare.length === 32 ? standInIsk(input, share, peerShare) : undefined),
    };
  },
  respond(input) {
    if (input.peerShare.length !== 32) {
      return undefined;
    }
    const share = standInShare(input.random);
    return { share, isk: standInIsk(input, input.peerShare, share) };
  },
};

/** Public keys of the stand-in signature, and their secrets: verifying looks the secret up. */
const SIGNERS_COUNT_MAX = 1024;
const signers = new Map<string, Uint8Array>();

/** A stand-in for Ed25519: the public key is a hash of the secret, a signature an HMAC-SHA512 under it. */
export const standInSignature: SignatureScheme = {
  publicKey(secret) {
    const publicKey = sha256(concatBytes(utf8.encode('gaschat sim public key'), secret));
    const key = bytesToHex(publicKey);
    if (!signers.has(key)) {
      if (signers.size >= SIGNERS_COUNT_MAX) {
        // The oldest first: a run registers its servers' keys as it starts them.
        const oldest = signers.keys().next();
        if (oldest.done !== true) {
          signers.delete(oldest.value);
        }
      }
      signers.set(key, secret.slice());
    }
    return publicKey;
  },
  sign: (secret, message) => hmac(sha512, secret, message),
  verify(publicKey, message, signature) {
    const secret = signers.get(bytesToHex(publicKey));
    if (secret === undefined || signature.length !== 64) {
      return false;
    }
    return sameBytes(hmac(sha512, secret, message), signature);
  },
};

/**
 * What every packet sealed in a run said, by its tag: the simulator's trace and diagrams label sealed
 * packets with their frames, as an observer with every key would. Grows with the run (a few dozen
 * bytes a packet) and goes with it.
 */
export class SealedBook {
  readonly #entries = new Map<
    string,
    { readonly aad: Uint8Array; readonly sealed: Uint8Array; readonly plaintext: Uint8Array }
  >();

  record(aad: Uint8Array, sealed: Uint8Array, plaintext: Uint8Array): void {
    this.#entries.set(tagKey(sealed), {
      aad: aad.slice(),
      sealed: sealed.slice(),
      plaintext: plaintext.slice(),
    });
  }

  /**
   * The plaintext of a sealed part (its frames), if this run sealed exactly these bytes under exactly
   * this header: a copy with any bit changed (which would not open) is not recognised.
   */
  plaintextOf(aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
    const entry = this.#entries.get(tagKey(sealed));
    return entry !== undefined && sameBytes(entry.aad, aad) && sameBytes(entry.sealed, sealed)
      ? entry.plaintext
      : undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function tagKey(sealed: Uint8Array): string {
  return bytesToHex(sealed.subarray(Math.max(0, sealed.length - 16)));
}

/** An AEAD that notes in `book` what it sealed. */
function recordingAead(aead: Aead, book: SealedBook): Aead {
  return {
    seal(key, nonce, aad, plaintext) {
      const sealed = aead.seal(key, nonce, aad, plaintext);
      book.record(aad, sealed, plaintext);
      return sealed;
    },
    open: (key, nonce, aad, sealed) => aead.open(key, nonce, aad, sealed),
  };
}

/** A run's cryptography: stand-ins for the public-key steps, or the real ones (`real`). */
export function simCrypto(book: SealedBook, real = false): CryptoSuite {
  const base = real
    ? REAL_CRYPTO
    : { ...REAL_CRYPTO, keyExchange: standInKeyExchange, signature: standInSignature };
  return { ...base, aead: recordingAead(base.aead, book) };
}
