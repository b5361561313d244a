import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { COMBINING_MARK_RUN_MAX, sanitizeForTerminal } from './terminal-text.ts';

const FFFD = '\uFFFD';

test('control characters and escape sequences become U+FFFD: C0 (ESC included), DEL and C1; tab stays', (t) => {
  t.is(sanitizeForTerminal('a\u001b[2Jb\u0007c'), `a${FFFD}[2Jb${FFFD}c`);
  t.is(sanitizeForTerminal('x\u009b31my\u007fz'), `x${FFFD}31my${FFFD}z`);
  t.is(sanitizeForTerminal('line\nbreak\rreturn'), `line${FFFD}break${FFFD}return`);
  t.is(sanitizeForTerminal('tab\there'), 'tab\there');
});

test('the Trojan Source characters and the line and paragraph separators become U+FFFD', (t) => {
  for (const code of [
    0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029,
  ]) {
    t.is(sanitizeForTerminal(`a${String.fromCodePoint(code)}b`), `a${FFFD}b`, code.toString(16));
  }
});

test('joiners, non-joiners and bidi marks are real text: emoji sequences, Persian, Indic and Arabic pass unchanged', (t) => {
  for (const text of [
    '👨‍👩‍👧‍👦', // family: ZWJ between the people
    '👩🏽‍💻', // profession with skin tone
    '🏳️‍🌈', // rainbow flag
    'می‌خواهم', // Persian with ZWNJ
    'क्‍ष', // Devanagari with ZWJ
    'שלום\u200fabc', // RLM
    '\u061cسلام', // ALM
    'Halo 👋🏽, apa kabar?',
  ]) {
    t.is(sanitizeForTerminal(text), text, JSON.stringify(text));
  }
});

test('invisible format characters other than the joiners and bidi marks become U+FFFD', (t) => {
  for (const code of [0x200b, 0xfeff, 0x2060, 0x2061, 0x00ad, 0x180e, 0x206a, 0xfff9, 0x0600]) {
    t.is(sanitizeForTerminal(`a${String.fromCodePoint(code)}b`), `a${FFFD}b`, code.toString(16));
  }
});

test('tags cannot hide text behind any base: only a subdivision flag keeps them', (t) => {
  const tags = (text: string) =>
    [...text].map((character) => String.fromCodePoint(0xe0000 + (character.codePointAt(0) ?? 0))).join('');
  const cancel = '\u{E007F}';
  for (const base of ['ok1', 'ok#', 'ok*', 'ok😀', 'ok🏴']) {
    t.is(sanitizeForTerminal(`${base}${tags('secret text')}${cancel}`), `${base}${FFFD}`, base);
  }
  // Uppercase tag letters are not a region code.
  t.is(sanitizeForTerminal(`🏴${tags('GBENG')}${cancel}`), `🏴${FFFD}`);
});

test('an emoji tag sequence (a subdivision flag) passes; tag characters anywhere else become one U+FFFD', (t) => {
  const england = '🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}';
  t.is(sanitizeForTerminal(`go ${england}!`), `go ${england}!`);
  // A hidden text ("hidden") in tags after an innocent word.
  const hidden = [...'hidden']
    .map((character) => String.fromCodePoint(0xe0000 + (character.codePointAt(0) ?? 0)))
    .join('');
  t.is(sanitizeForTerminal(`ok${hidden}`), `ok${FFFD}`);
  // Tags without their cancel tag are not a sequence.
  t.is(sanitizeForTerminal('🏴\u{E0067}\u{E0062}'), `🏴${FFFD}`);
});

test('Hangul fillers, which render as blank space, become U+FFFD', (t) => {
  t.is(sanitizeForTerminal('a\u3164b\uffa0c\u115fd\u1160e'), `a${FFFD}b${FFFD}c${FFFD}d${FFFD}e`);
  t.is(sanitizeForTerminal('안녕하세요'), '안녕하세요');
});

test(`a base character keeps ${COMBINING_MARK_RUN_MAX} combining marks; more become one U+FFFD`, (t) => {
  const marks = (count: number) => '\u0301'.repeat(count);
  t.is(sanitizeForTerminal(`e${marks(COMBINING_MARK_RUN_MAX)}x`), `e${marks(COMBINING_MARK_RUN_MAX)}x`);
  t.is(sanitizeForTerminal(`e${marks(40)}x`), `e${marks(COMBINING_MARK_RUN_MAX)}${FFFD}x`);
  t.is(sanitizeForTerminal('Tiếng Việt'.normalize('NFD')), 'Tiếng Việt'.normalize('NFD'));
  // Joiners between the marks do not start a new cell: they stack on the same character.
  const stacked = `e${`${marks(5)}\u200c`.repeat(10)}x`;
  const shown = sanitizeForTerminal(stacked);
  t.is((shown.match(/\p{M}/gu) ?? []).length, COMBINING_MARK_RUN_MAX);
  t.true(shown.includes(FFFD));
});

/** What the sanitiser promises never to let through. */
const FORBIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u115f\u1160\u200b\u2028\u2029\u202a-\u202e\u2060-\u206f\u3164\ufeff\uffa0]/u;

testProp(
  'whatever the text, the result holds none of the forbidden characters, is unchanged by a second pass, and keeps text without any',
  [fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })],
  (t, graphemes, binary) => {
    for (const text of [graphemes, binary, `${graphemes}${binary}`]) {
      const shown = sanitizeForTerminal(text);
      t.false(FORBIDDEN.test(shown), JSON.stringify(shown));
      t.is(sanitizeForTerminal(shown), shown);
      // Anything of the tag block (U+E0000 to U+E007F, assigned or not), and more than five marks on a
      // cell, are left out of this check: the tests above hold them.
      if (
        !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0\u{E0000}-\u{E007F}]/u.test(
          text.replace(/[\t\u200c-\u200f\u061c]/g, ''),
        ) &&
        !/\p{M}{6}/u.test(text)
      ) {
        t.is(shown, text);
      }
      // Nothing that can hide text survives outside a flag.
      t.false(
        /[\u{E0000}-\u{E007F}]/u.test(
          shown.replace(/🏴[\u{E0030}-\u{E0039}\u{E0061}-\u{E007A}]+\u{E007F}/gu, ''),
        ),
      );
    }
  },
);
