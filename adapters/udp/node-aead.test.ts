import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import {
  AEAD_TAG_BYTES,
  nobleChaCha20Poly1305,
  PacketOpener,
  PacketSealer,
  packetNonce,
} from '../../engine/secure/aead.ts';
import { nodeChaCha20Poly1305 } from './node-aead.ts';

const KEY = Uint8Array.from({ length: 32 }, (_, index) => 0x80 + index);
const NONCE = Uint8Array.from(Buffer.from('070000004041424344454647', 'hex'));
const AAD = Uint8Array.from(Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex'));

test('node:crypto seals the RFC 8439 §2.8.2 vector as noble does, into a plain Uint8Array', (t) => {
  const plaintext = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const sealed = nodeChaCha20Poly1305.seal(KEY, NONCE, AAD, plaintext);
  t.is(Object.getPrototypeOf(sealed), Uint8Array.prototype);
  t.is(Buffer.from(sealed.subarray(-AEAD_TAG_BYTES)).toString('hex'), '1ae10b594f09e26a7e902ecbd0600691');
  t.deepEqual(sealed, nobleChaCha20Poly1305.seal(KEY, NONCE, AAD, plaintext));
});

testProp(
  'what either seals, the other opens',
  [
    fc.uint8Array({ maxLength: 32 }),
    fc.uint8Array({ maxLength: 1300 }),
    fc.uint8Array({ minLength: 12, maxLength: 12 }),
  ],
  (t, aad, plaintext, nonce) => {
    const byNode = nodeChaCha20Poly1305.seal(KEY, nonce, aad, plaintext);
    const byNoble = nobleChaCha20Poly1305.seal(KEY, nonce, aad, plaintext);
    t.deepEqual(byNode, byNoble);
    t.deepEqual(nobleChaCha20Poly1305.open(KEY, nonce, aad, byNode), plaintext);
    t.deepEqual(nodeChaCha20Poly1305.open(KEY, nonce, aad, byNoble), plaintext);
  },
);

test('packets sealed with one implementation open with the other, both ways', (t) => {
  const keys = { key: KEY, iv: NONCE };
  const header = Uint8Array.from({ length: 16 }, (_, index) => index);
  const pairs = [
    [nobleChaCha20Poly1305, nodeChaCha20Poly1305],
    [nodeChaCha20Poly1305, nobleChaCha20Poly1305],
  ] as const;
  for (const [sealing, opening] of pairs) {
    const sealer = new PacketSealer(keys, sealing);
    const opener = new PacketOpener(keys, opening);
    for (const [packetNumber, length] of [
      [0, 0],
      [1, 64],
      [2, 1200],
    ] as const) {
      const plaintext = Uint8Array.from({ length }, (_, index) => index & 0xff);
      t.deepEqual(opener.open(header, packetNumber, sealer.seal(header, packetNumber, plaintext)), plaintext);
    }
    t.is(opener.failures, 0);
  }
});

test('a bad tag, a changed ciphertext or AAD, or a truncated packet gives undefined without throwing', (t) => {
  const plaintext = Uint8Array.from({ length: 100 }, (_, index) => index);
  const sealed = nodeChaCha20Poly1305.seal(KEY, NONCE, AAD, plaintext);
  const badTag = sealed.slice();
  badTag[badTag.length - 1] = (badTag[badTag.length - 1] ?? 0) ^ 0x01;
  const badCiphertext = sealed.slice();
  badCiphertext[0] = (badCiphertext[0] ?? 0) ^ 0x80;
  t.is(nodeChaCha20Poly1305.open(KEY, NONCE, AAD, badTag), undefined);
  t.is(nodeChaCha20Poly1305.open(KEY, NONCE, AAD, badCiphertext), undefined);
  t.is(nodeChaCha20Poly1305.open(KEY, NONCE, AAD.subarray(1), sealed), undefined);
  t.is(nodeChaCha20Poly1305.open(KEY, packetNonce(NONCE, 1), AAD, sealed), undefined);
  for (let length = 0; length < AEAD_TAG_BYTES; length += 1) {
    t.is(
      nodeChaCha20Poly1305.open(KEY, NONCE, AAD, sealed.subarray(0, length)),
      undefined,
      `${length} bytes`,
    );
  }
  t.deepEqual(nodeChaCha20Poly1305.open(KEY, NONCE, AAD, sealed), plaintext);
});

test('a PacketOpener over node:crypto counts what fails', (t) => {
  const keys = { key: KEY, iv: NONCE };
  const header = new Uint8Array(16);
  const sealed = new PacketSealer(keys, nodeChaCha20Poly1305).seal(header, 9, new Uint8Array(20));
  const opener = new PacketOpener(keys, nodeChaCha20Poly1305);
  t.is(opener.open(header, 8, sealed), undefined);
  t.is(opener.open(header, 9, sealed.subarray(0, 10)), undefined);
  t.is(opener.failures, 2);
});

test('keys and nonces of the wrong length are refused as noble refuses them', (t) => {
  t.throws(() => nodeChaCha20Poly1305.seal(new Uint8Array(16), NONCE, AAD, AAD), {
    message: /key must be 32 bytes/,
  });
  t.throws(() => nodeChaCha20Poly1305.open(KEY, new Uint8Array(8), AAD, new Uint8Array(32)), {
    message: /nonce must be 12 bytes/,
  });
});
