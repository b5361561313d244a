import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AEAD_TAG_BYTES, type Aead, checkKeyAndNonce } from '../../engine/secure/aead.ts';

/**
 * ChaCha20-Poly1305 from node:crypto (OpenSSL), for a Node server that seals many packets: the same
 * AEAD as the engine's `nobleChaCha20Poly1305`, byte for byte, in native code. Pass it to
 * `PacketSealer` and `PacketOpener`; the engine itself stays free of node: imports.
 *
 * Results are plain Uint8Arrays over fresh memory, not Buffers from Node's shared pool, so that a
 * sealed packet the caller keeps does not pin a pool slab nor compare unequal to the noble one's.
 */
export const nodeChaCha20Poly1305: Aead = {
  seal(key, nonce, aad, plaintext) {
    checkKeyAndNonce(key, nonce);
    const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    const sealed = new Uint8Array(plaintext.length + AEAD_TAG_BYTES);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    sealed.set(head, 0);
    sealed.set(tail, head.length);
    sealed.set(cipher.getAuthTag(), plaintext.length);
    return sealed;
  },
  open(key, nonce, aad, sealed) {
    checkKeyAndNonce(key, nonce);
    if (sealed.length < AEAD_TAG_BYTES) {
      return undefined;
    }
    const ciphertextLength = sealed.length - AEAD_TAG_BYTES;
    const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
    decipher.setAuthTag(sealed.subarray(ciphertextLength));
    decipher.setAAD(aad, { plaintextLength: ciphertextLength });
    const plaintext = new Uint8Array(ciphertextLength);
    const head = decipher.update(sealed.subarray(0, ciphertextLength));
    try {
      // OpenSSL checks the tag here, and throws when it does not match.
      const tail = decipher.final();
      plaintext.set(head, 0);
      plaintext.set(tail, head.length);
    } catch {
      return undefined;
    }
    return plaintext;
  },
};
