import { hkdfSync } from 'node:crypto';
import test from 'ava';
import { AEAD_IV_BYTES, AEAD_KEY_BYTES, deriveSessionKeys, ISK_BYTES, type SessionKeys } from './keys.ts';

const ISK = Uint8Array.from({ length: ISK_BYTES }, (_, index) => index);
const CONTEXT = Uint8Array.from([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function allFour(keys: SessionKeys): string[] {
  return [
    keys.clientToServer.key,
    keys.clientToServer.iv,
    keys.serverToClient.key,
    keys.serverToClient.iv,
  ].map(hex);
}

/** The schedule as written in PROTOCOL.md, through OpenSSL's HKDF rather than noble's: an independent answer. */
function nodeHkdf(label: string, context: Uint8Array, length: number): string {
  const info = Buffer.concat([Buffer.from(label, 'ascii'), context]);
  return hex(
    new Uint8Array(hkdfSync('sha512', ISK, Buffer.from('gaschat v2 session', 'ascii'), info, length)),
  );
}

test('the keys are those of HKDF-SHA512 with the documented salt and label || context infos', (t) => {
  t.deepEqual(allFour(deriveSessionKeys(ISK, CONTEXT)), [
    nodeHkdf('c2s key', CONTEXT, 32),
    nodeHkdf('c2s iv', CONTEXT, 12),
    nodeHkdf('s2c key', CONTEXT, 32),
    nodeHkdf('s2c iv', CONTEXT, 12),
  ]);
});

test('a fixed vector: ISK 00..3f, context 0123456789abcdef', (t) => {
  // Computed once with node:crypto's hkdfSync (above), pinned so that a change to the schedule shows here.
  t.deepEqual(allFour(deriveSessionKeys(ISK, CONTEXT)), [
    '4dbfa8c74ab47488e1f40551241bc3c9f2a239d39e44b3d6f51bb437dfe81c57',
    '2388cd9d7156e0f46eef3e33',
    'd29220792a9ef2f7b358163a60bcfdd9f65db8d5fd61fff3e7d5113a79b794db',
    'f7dea389d8b24461317d03cc',
  ]);
});

test('keys and IVs have the AEAD lengths, also with an empty context', (t) => {
  for (const context of [CONTEXT, new Uint8Array(0)]) {
    const keys = deriveSessionKeys(ISK, context);
    for (const direction of [keys.clientToServer, keys.serverToClient]) {
      t.is(direction.key.length, AEAD_KEY_BYTES);
      t.is(direction.iv.length, AEAD_IV_BYTES);
    }
  }
});

test('the derivation is deterministic', (t) => {
  t.deepEqual(
    allFour(deriveSessionKeys(ISK, CONTEXT)),
    allFour(deriveSessionKeys(ISK.slice(), CONTEXT.slice())),
  );
});

test('the two directions have different keys and IVs', (t) => {
  const keys = deriveSessionKeys(ISK, CONTEXT);
  t.notDeepEqual(keys.clientToServer.key, keys.serverToClient.key);
  t.notDeepEqual(keys.clientToServer.iv, keys.serverToClient.iv);
});

test('another context, even one byte longer or different, gives other keys', (t) => {
  const base = allFour(deriveSessionKeys(ISK, CONTEXT));
  const longer = allFour(deriveSessionKeys(ISK, Uint8Array.of(...CONTEXT, 0)));
  const changed = allFour(deriveSessionKeys(ISK, Uint8Array.of(...CONTEXT.subarray(1), 0xee)));
  for (let index = 0; index < base.length; index += 1) {
    t.not(base[index], longer[index]);
    t.not(base[index], changed[index]);
  }
});

test('another ISK gives other keys', (t) => {
  const otherIsk = ISK.slice();
  otherIsk[63] = (otherIsk[63] ?? 0) ^ 1;
  const base = allFour(deriveSessionKeys(ISK, CONTEXT));
  const other = allFour(deriveSessionKeys(otherIsk, CONTEXT));
  for (let index = 0; index < base.length; index += 1) {
    t.not(base[index], other[index]);
  }
});

test('an ISK of the wrong length is refused', (t) => {
  t.throws(() => deriveSessionKeys(new Uint8Array(32), CONTEXT), { message: /ISK is 32 bytes/ });
  t.throws(() => deriveSessionKeys(new Uint8Array(65), CONTEXT), { message: /ISK is 65 bytes/ });
});
