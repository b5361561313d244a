import { ed25519 } from '@noble/curves/ed25519.js';
import { type Aead, nobleChaCha20Poly1305 } from './aead.ts';
import {
  CPACE_SCALAR_RANDOM_BYTES,
  cpaceGenerator,
  cpaceIskInitiatorResponder,
  cpaceRespond,
  cpaceScalar,
  cpaceSecret,
  cpaceShare,
} from './cpace.ts';

/**
 * The cryptography the machines use, as one object the environment may pass in (like the clock): the
 * engine calls only these, and every random byte they take comes from the environment's random source,
 * so a simulation replays. {@link REAL_CRYPTO} is the protocol's; an adapter may swap in a faster
 * implementation of the same primitive (node:crypto's ChaCha20-Poly1305), and the simulator swaps the
 * expensive public-key operations for stand-ins that behave the same at the protocol's level.
 */
export interface CryptoSuite {
  readonly keyExchange: KeyExchange;
  readonly aead: Aead;
  readonly signature: SignatureScheme;
}

/** What both ends of a key exchange hold before it: the password, the channel and the session. */
export interface KeyExchangeInput {
  /** The password-related string: the room password, UTF-8, NFC. */
  readonly prs: Uint8Array;
  /** The channel identifier: binds the exchange to this server's room. */
  readonly ci: Uint8Array;
  /** The session identifier: public, unique to this handshake. */
  readonly sid: Uint8Array;
  /** {@link KeyExchange.randomByteCount} fresh random bytes from the environment. */
  readonly random: Uint8Array;
}

/** A balanced password-authenticated key exchange of one message each way, the client speaking first. */
export interface KeyExchange {
  /** The size of each share on the wire. */
  readonly shareBytes: number;
  /** Random bytes each side needs. */
  readonly randomByteCount: number;
  /**
   * The client: its share, and `finish` for the server's (the 64-byte ISK, or undefined if refused).
   * `finish` may be called for several answers, so that a forged one does not use up the exchange; each
   * call is one online guess at the password for whoever sent that share, so the caller bounds them.
   */
  initiate(input: KeyExchangeInput): {
    readonly share: Uint8Array;
    finish(peerShare: Uint8Array): Uint8Array | undefined;
  };
  /** The server, given the client's share: its own share and the ISK, or undefined if refused. */
  respond(
    input: KeyExchangeInput & { readonly peerShare: Uint8Array },
  ): { readonly share: Uint8Array; readonly isk: Uint8Array } | undefined;
}

/** The server's identity: a signature scheme over 32-byte secret seeds. */
export interface SignatureScheme {
  publicKey(secret: Uint8Array): Uint8Array;
  sign(secret: Uint8Array, message: Uint8Array): Uint8Array;
  /** Never throws: a malformed key or signature does not verify. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

const NO_AD = new Uint8Array(0);

/** CPace (draft-irtf-cfrg-cpace, ristretto255 and SHA-512), initiator-responder, without associated data. */
export const cpaceKeyExchange: KeyExchange = {
  shareBytes: 32,
  randomByteCount: CPACE_SCALAR_RANDOM_BYTES,
  initiate(input) {
    const scalar = cpaceScalar(input.random);
    const share = cpaceShare(cpaceGenerator(input.prs, input.ci, input.sid), scalar);
    const sid = input.sid.slice();
    return {
      share,
      finish(peerShare) {
        const k = cpaceSecret(scalar, peerShare);
        return k === undefined
          ? undefined
          : cpaceIskInitiatorResponder(sid, k, share, NO_AD, peerShare, NO_AD);
      },
    };
  },
  respond(input) {
    return cpaceRespond({ ...input, ad: NO_AD, peerAd: NO_AD });
  },
};

/**
 * Ed25519 (RFC 8032) in its strict form: non-canonical encodings are refused (`zip215: false`), and so
 * are public keys of small order, for which a signature proves nothing.
 */
export const ed25519Signature: SignatureScheme = {
  publicKey: (secret) => ed25519.getPublicKey(secret),
  sign: (secret, message) => ed25519.sign(message, secret),
  verify(publicKey, message, signature) {
    try {
      if (ed25519.Point.fromBytes(publicKey).isSmallOrder()) {
        return false;
      }
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/** The protocol's cryptography, all from @noble. */
export const REAL_CRYPTO: CryptoSuite = {
  keyExchange: cpaceKeyExchange,
  aead: nobleChaCha20Poly1305,
  signature: ed25519Signature,
};
