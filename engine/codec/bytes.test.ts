import test from 'ava';
import { ByteReader, ByteWriter } from './bytes.ts';

test('varints decode as in the RFC 9000 examples, in any form, and above 2^53 - 1 are refused', (t) => {
  const read = (...bytes: number[]): [number, string | undefined] => {
    const reader = new ByteReader(Uint8Array.from(bytes));
    return [reader.varint(), reader.error?.kind];
  };
  t.deepEqual(read(0x25), [37, undefined]);
  t.deepEqual(read(0x40, 0x25), [37, undefined]);
  t.deepEqual(read(0x7b, 0xbd), [15_293, undefined]);
  t.deepEqual(read(0x9d, 0x7f, 0x3e, 0x7d), [494_878_333, undefined]);
  t.deepEqual(read(0xc0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), [Number.MAX_SAFE_INTEGER, undefined]);
  t.deepEqual(read(0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c), [0, 'bad-varint']);
  t.deepEqual(read(0x7b), [0, 'too-short']);
});

test('varints are written in their shortest form', (t) => {
  const cases = [
    [63, '3f'],
    [64, '4040'],
    [16_383, '7fff'],
    [16_384, '80004000'],
    [2 ** 30 - 1, 'bfffffff'],
    [2 ** 30, 'c000000040000000'],
    [Number.MAX_SAFE_INTEGER, 'c01fffffffffffff'],
  ] as const;
  for (const [value, hex] of cases) {
    const writer = new ByteWriter(hex.length / 2);
    writer.varint(value);
    t.is(Buffer.from(writer.bytes).toString('hex'), hex);
  }
});
