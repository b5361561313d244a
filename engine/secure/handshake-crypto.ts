import { hkdf } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { RESET_TOKEN_BYTES, SIGNATURE_BYTES } from '../codec/frames.ts';
import { mac } from '../crypto.ts';
import { type Aead, packetNonce } from './aead.ts';
import { deriveSessionKeys, type SessionKeys } from './keys.ts';

/**
 * The cryptographic steps of protocol v2's handshake, shared by the server and the client so that both
 * compute every input the same way. PROTOCOL.md gives each byte.
 */

const utf8 = new TextEncoder();
const CHANNEL_LABEL = utf8.encode('gaschat v2 room');
const ACCEPT_LABEL = utf8.encode('gaschat v2 accept');
const ACCEPT_CONTEXT = utf8.encode('accept');
const RESET_SALT = utf8.encode('gaschat v2 reset');

/** The password as the key exchange takes it: UTF-8 of its NFC form, so that both ends agree on é. */
export function passwordBytes(password: string): Uint8Array {
  return utf8.encode(password.normalize('NFC'));
}

/**
 * CPace's channel identifier: binds the exchange to this server (its identity key), so that an exchange
 * with one room's server is worth nothing against another's.
 */
export function channelId(serverKey: Uint8Array): Uint8Array {
  return concatBytes(CHANNEL_LABEL, serverKey);
}

/** CPace's session identifier: the client's nonce and the server's cookie, fresh for every handshake. */
export function handshakeSid(clientNonce: Uint8Array, cookie: Uint8Array): Uint8Array {
  return concatBytes(clientNonce, cookie);
}

/**
 * What the server signs in its ACCEPT: the whole exchange (the channel, the session, both shares) and
 * the session id it gives, so that the signature serves this handshake and no other.
 */
export function acceptSignedBytes(
  ci: Uint8Array,
  sid: Uint8Array,
  clientShare: Uint8Array,
  serverShare: Uint8Array,
  sessionIdBytes: Uint8Array,
): Uint8Array {
  return concatBytes(ACCEPT_LABEL, ci, sid, clientShare, serverShare, sessionIdBytes);
}

/** The keys of a session: from the exchange's ISK, bound to the session id (see keys.ts). */
export function sessionKeysOf(isk: Uint8Array, sessionIdBytes: Uint8Array): SessionKeys {
  return deriveSessionKeys(isk, sessionIdBytes);
}

/** What an ACCEPT seals: the reset token, then the signature. */
export interface AcceptSecret {
  readonly resetToken: Uint8Array;
  readonly signature: Uint8Array;
}

/** Seals an ACCEPT's secret part with its own key (not the session's), its clear part as associated data. */
export function sealAccept(aead: Aead, isk: Uint8Array, clear: Uint8Array, secret: AcceptSecret): Uint8Array {
  const keys = deriveSessionKeys(isk, ACCEPT_CONTEXT).serverToClient;
  return aead.seal(
    keys.key,
    packetNonce(keys.iv, 0),
    clear,
    concatBytes(secret.resetToken, secret.signature),
  );
}

/** Opens an ACCEPT's secret part: undefined unless it was sealed with this ISK (the right password). */
export function openAccept(
  aead: Aead,
  isk: Uint8Array,
  clear: Uint8Array,
  sealed: Uint8Array,
): AcceptSecret | undefined {
  const keys = deriveSessionKeys(isk, ACCEPT_CONTEXT).serverToClient;
  const plaintext = aead.open(keys.key, packetNonce(keys.iv, 0), clear, sealed);
  if (plaintext === undefined || plaintext.length !== RESET_TOKEN_BYTES + SIGNATURE_BYTES) {
    return undefined;
  }
  return {
    resetToken: plaintext.slice(0, RESET_TOKEN_BYTES),
    signature: plaintext.slice(RESET_TOKEN_BYTES),
  };
}

/** The server's key for reset tokens, derived from its identity secret: the same after a restart. */
export function resetKeyOf(identitySecret: Uint8Array): Uint8Array {
  return hkdf(sha512, identitySecret, RESET_SALT, new Uint8Array(0), 32);
}

/**
 * The reset token of a session (QUIC's stateless reset, RFC 9000 §10.3): only a server holding the
 * identity secret can compute it, so a RESET that carries it proves the session is gone.
 */
export function resetTokenOf(resetKey: Uint8Array, sessionIdBytes: Uint8Array): Uint8Array {
  return mac(resetKey, 'gaschat v2 reset token', [sessionIdBytes]).slice(0, RESET_TOKEN_BYTES);
}
