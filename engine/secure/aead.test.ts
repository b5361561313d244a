import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import {
  AEAD_TAG_BYTES,
  CHACHA20_POLY1305_INTEGRITY_LIMIT,
  CONFIDENTIALITY_LIMIT,
  nobleChaCha20Poly1305,
  PACKET_NUMBER_MAX,
  PacketOpener,
  PacketSealer,
  packetNonce,
} from './aead.ts';
import type { DirectionKeys } from './keys.ts';

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.replace(/[\s:]/g, ''), 'hex'));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

const KEYS: DirectionKeys = {
  key: Uint8Array.from({ length: 32 }, (_, index) => 0xa0 + index),
  iv: fromHex('000102030405060708090a0b'),
};
const HEADER = Uint8Array.from({ length: 16 }, (_, index) => 0x10 + index);

function bytes(length: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, index) => (index * 31 + seed) & 0xff);
}

/** A copy of `data` with bit `bit` (0 is the top bit of the first byte) flipped. */
function flipped(data: Uint8Array, bit: number): Uint8Array {
  const copy = data.slice();
  const byte = bit >> 3;
  copy[byte] = (copy[byte] ?? 0) ^ (0x80 >> (bit & 7));
  return copy;
}

// RFC 8439 §2.8.2, "Example and Test Vector for AEAD_CHACHA20_POLY1305": the data as printed there.
const RFC8439_KEY = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
const RFC8439_NONCE = fromHex('07000000 4041424344454647');
const RFC8439_AAD = fromHex('50515253c0c1c2c3c4c5c6c7');
const RFC8439_PLAINTEXT = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const RFC8439_CIPHERTEXT = fromHex(`
  d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2 a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
  3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b 1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
  92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58 fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
  3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b 61 16`);
const RFC8439_TAG = fromHex('1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91');

test('the RFC 8439 §2.8.2 AEAD test vector seals and opens', (t) => {
  const sealed = nobleChaCha20Poly1305.seal(RFC8439_KEY, RFC8439_NONCE, RFC8439_AAD, RFC8439_PLAINTEXT);
  t.is(hex(sealed), hex(RFC8439_CIPHERTEXT) + hex(RFC8439_TAG));
  const opened = nobleChaCha20Poly1305.open(RFC8439_KEY, RFC8439_NONCE, RFC8439_AAD, sealed);
  t.deepEqual(opened, RFC8439_PLAINTEXT);
});

test('the RFC 8439 vector with another AAD or nonce does not open', (t) => {
  const sealed = Uint8Array.of(...RFC8439_CIPHERTEXT, ...RFC8439_TAG);
  t.is(nobleChaCha20Poly1305.open(RFC8439_KEY, RFC8439_NONCE, RFC8439_AAD.subarray(1), sealed), undefined);
  t.is(nobleChaCha20Poly1305.open(RFC8439_KEY, flipped(RFC8439_NONCE, 95), RFC8439_AAD, sealed), undefined);
});

test('the nonce is the IV XOR the packet number, big-endian in the last four bytes', (t) => {
  // By hand: 08^de = d6, 09^ad = a4, 0a^be = b4, 0b^ef = e4; the first eight bytes XOR zero.
  t.is(hex(packetNonce(KEYS.iv, 0xdeadbeef)), '0001020304050607d6a4b4e4');
  t.is(hex(packetNonce(KEYS.iv, 0)), '000102030405060708090a0b');
  t.is(hex(packetNonce(KEYS.iv, 1)), '000102030405060708090a0a');
  t.is(hex(packetNonce(KEYS.iv, 0x0100)), '000102030405060708090b0b');
  t.is(hex(packetNonce(KEYS.iv, PACKET_NUMBER_MAX)), '0001020304050607f7f6f5f4');
  t.is(hex(packetNonce(new Uint8Array(12), 0x01020304)), '000000000000000001020304');
  t.is(hex(KEYS.iv), '000102030405060708090a0b', 'the IV itself is left alone');
});

test('packet numbers outside 0..2^32 - 1, and IVs not 12 bytes, are refused', (t) => {
  for (const packetNumber of [-1, PACKET_NUMBER_MAX + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    t.throws(() => packetNonce(KEYS.iv, packetNumber), { message: /packet number/ });
  }
  t.throws(() => packetNonce(new Uint8Array(8), 0), { message: /IV must be 12 bytes, not 8/ });
});

test('keys and nonces of the wrong length are refused, as the program’s own mistake', (t) => {
  t.throws(() => nobleChaCha20Poly1305.seal(new Uint8Array(16), new Uint8Array(12), HEADER, HEADER), {
    message: /key must be 32 bytes/,
  });
  t.throws(() => nobleChaCha20Poly1305.open(KEYS.key, new Uint8Array(24), HEADER, bytes(32)), {
    message: /nonce must be 12 bytes/,
  });
  t.throws(() => new PacketSealer({ key: KEYS.key, iv: new Uint8Array(11) }), {
    message: /IV must be 12 bytes/,
  });
  t.throws(() => new PacketOpener({ key: new Uint8Array(31), iv: KEYS.iv }), {
    message: /key must be 32 bytes/,
  });
});

test('the sealer seals under the packet nonce, with the header as associated data', (t) => {
  const sealer = new PacketSealer(KEYS);
  const plaintext = bytes(40);
  const sealed = sealer.seal(HEADER, 7, plaintext);
  t.is(sealed.length, plaintext.length + AEAD_TAG_BYTES);
  t.deepEqual(sealed, nobleChaCha20Poly1305.seal(KEYS.key, packetNonce(KEYS.iv, 7), HEADER, plaintext));
  t.is(sealer.sealedCount, 1);
  t.is(sealer.confidentialityLimit, CONFIDENTIALITY_LIMIT);
  t.is(CONFIDENTIALITY_LIMIT, 2 ** 32);
});

for (const length of [0, 1, 64, 1200]) {
  test(`a ${length}-byte payload survives the round trip`, (t) => {
    const sealer = new PacketSealer(KEYS);
    const opener = new PacketOpener(KEYS);
    const plaintext = bytes(length, length);
    const sealed = sealer.seal(HEADER, 3, plaintext);
    t.deepEqual(opener.open(HEADER, 3, sealed), plaintext);
    t.is(opener.failures, 0);
  });
}

testProp(
  'any header, packet number and payload survive the round trip, and the ciphertext hides the payload',
  [
    fc.uint8Array({ maxLength: 32 }),
    fc.integer({ min: 0, max: PACKET_NUMBER_MAX }),
    fc.uint8Array({ minLength: 16, maxLength: 1200 }),
  ],
  (t, header, packetNumber, plaintext) => {
    const sealed = new PacketSealer(KEYS).seal(header, packetNumber, plaintext);
    t.notDeepEqual(sealed.subarray(0, plaintext.length), plaintext);
    t.deepEqual(new PacketOpener(KEYS).open(header, packetNumber, sealed), plaintext);
  },
);

test('a flipped bit anywhere in the header, the ciphertext or the tag fails, and is counted', (t) => {
  const plaintext = bytes(32);
  const sealed = new PacketSealer(KEYS).seal(HEADER, 42, plaintext);
  const opener = new PacketOpener(KEYS);
  let expectedFailures = 0;
  for (let bit = 0; bit < HEADER.length * 8; bit += 1) {
    t.is(opener.open(flipped(HEADER, bit), 42, sealed), undefined, `header bit ${bit}`);
    expectedFailures += 1;
    t.is(opener.failures, expectedFailures);
  }
  for (let bit = 0; bit < sealed.length * 8; bit += 1) {
    const part = bit < plaintext.length * 8 ? 'ciphertext' : 'tag';
    t.is(opener.open(HEADER, 42, flipped(sealed, bit)), undefined, `${part} bit ${bit}`);
    expectedFailures += 1;
    t.is(opener.failures, expectedFailures);
  }
  t.deepEqual(opener.open(HEADER, 42, sealed), plaintext, 'the packet itself still opens');
  t.is(opener.failures, expectedFailures, 'and a success is no failure');
});

test('a packet opened under another packet number fails', (t) => {
  const sealed = new PacketSealer(KEYS).seal(HEADER, 1000, bytes(50));
  const opener = new PacketOpener(KEYS);
  for (const packetNumber of [0, 999, 1001, 1000 + 2 ** 16, PACKET_NUMBER_MAX]) {
    t.is(opener.open(HEADER, packetNumber, sealed), undefined, `packet number ${packetNumber}`);
  }
  t.is(opener.failures, 5);
});

test('a packet number off the wire that no nonce can carry fails without throwing', (t) => {
  const sealed = new PacketSealer(KEYS).seal(HEADER, 0, bytes(10));
  const opener = new PacketOpener(KEYS);
  t.is(opener.open(HEADER, PACKET_NUMBER_MAX + 1, sealed), undefined);
  t.is(opener.open(HEADER, -1, sealed), undefined);
  t.is(opener.failures, 2);
});

test('a packet sealed for the other direction fails', (t) => {
  const other: DirectionKeys = { key: bytes(32, 5), iv: KEYS.iv };
  const sealed = new PacketSealer(other).seal(HEADER, 0, bytes(10));
  t.is(new PacketOpener(KEYS).open(HEADER, 0, sealed), undefined);
});

test('input shorter than a tag fails without throwing', (t) => {
  const opener = new PacketOpener(KEYS);
  const sealed = new PacketSealer(KEYS).seal(HEADER, 0, new Uint8Array(0));
  t.is(sealed.length, AEAD_TAG_BYTES);
  for (let length = 0; length < AEAD_TAG_BYTES; length += 1) {
    t.is(opener.open(HEADER, 0, sealed.subarray(0, length)), undefined, `${length} bytes`);
    t.is(
      nobleChaCha20Poly1305.open(KEYS.key, packetNonce(KEYS.iv, 0), HEADER, sealed.subarray(0, length)),
      undefined,
    );
  }
  t.is(opener.failures, AEAD_TAG_BYTES);
  t.deepEqual(opener.open(HEADER, 0, sealed), new Uint8Array(0), 'an empty payload is just a tag');
});

testProp(
  'random bytes never open and never throw',
  [fc.uint8Array({ maxLength: 64 }), fc.nat({ max: PACKET_NUMBER_MAX }), fc.uint8Array({ maxLength: 100 })],
  (t, header, packetNumber, sealed) => {
    const opener = new PacketOpener(KEYS);
    t.is(opener.open(header, packetNumber, sealed), undefined);
    t.is(opener.failures, 1);
  },
);

test('the sealer refuses a packet number it has used, or one below the last', (t) => {
  const sealer = new PacketSealer(KEYS);
  sealer.seal(HEADER, 5, bytes(1));
  t.throws(() => sealer.seal(HEADER, 5, bytes(1)), { message: /nonce would repeat/ });
  t.throws(() => sealer.seal(HEADER, 4, bytes(1)), { message: /nonce would repeat/ });
  t.throws(() => sealer.seal(HEADER, PACKET_NUMBER_MAX + 1, bytes(1)), { message: /packet number/ });
  t.notThrows(() => sealer.seal(HEADER, PACKET_NUMBER_MAX, bytes(1)));
  t.is(sealer.sealedCount, 2);
});

test('the opener exposes RFC 9001’s integrity limit for ChaCha20-Poly1305', (t) => {
  t.is(new PacketOpener(KEYS).integrityLimit, 2 ** 36);
  t.is(CHACHA20_POLY1305_INTEGRITY_LIMIT, 2 ** 36);
});
