import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { isNameBytes, utf8ByteLength, validateName, validateText } from './names.ts';

const encoder = new TextEncoder();

testProp(
  'the UTF-8 length is counted exactly as TextEncoder would write the text, lone surrogates included',
  [fc.string({ unit: 'binary', maxLength: 300 })],
  (t, text) => {
    t.is(utf8ByteLength(text), encoder.encode(text).length);
  },
);

test('texts: empty or blank refused, 1000 bytes taken, 1001 refused with the size and the limit', (t) => {
  t.false(validateText('').ok);
  t.false(validateText(' \t ').ok);
  t.true(validateText('é'.repeat(500)).ok);
  const long = validateText(`${'é'.repeat(500)}x`);
  t.false(long.ok);
  t.regex(long.ok ? '' : long.message, /1001 bytes of UTF-8; the limit is 1000/);
  t.false(validateText('\uD800').ok);
});

test('names: 1 to 32 ASCII letters, digits, _ or -', (t) => {
  t.true(validateName('ana_B-9').ok);
  t.true(validateName('a'.repeat(32)).ok);
  for (const bad of ['', 'a'.repeat(33), 'nama salah', 'ñame', 'a\u0000']) {
    t.false(validateName(bad).ok, JSON.stringify(bad));
  }
});

testProp(
  "isNameBytes gives validateName's answer for any bytes read as one character each",
  [
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc
        .array(fc.constantFrom(...'aZ09_-@[`{/: \u007f'.split('').map((c) => c.charCodeAt(0)), 0xc1, 0xe1), {
          maxLength: 40,
        })
        .map((codes) => Uint8Array.from(codes)),
    ),
  ],
  (t, bytes) => {
    t.is(isNameBytes(bytes), validateName(String.fromCharCode(...bytes)).ok);
  },
);
