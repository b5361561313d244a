import fc from 'fast-check';
import { TEXT_BYTES_MAX } from '../../../engine/index.ts';

/**
 * What simulated users type. Most runs say short everyday lines; runs of the `texts` shape reach the
 * corners: texts at the encoding's boundaries (the varint length sizes, the largest that fits, one
 * byte less and one more), leading and trailing spaces, every kind of character the API accepts (and
 * some it refuses), in real scripts and as random code points. Texts need not be unique: the checker
 * follows each author's texts in order, byte for byte.
 */

const encoder = new TextEncoder();

function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** Short everyday lines: the texts of most runs. */
export const EVERYDAY_TEXTS = [
  'halo 👋',
  'apa kabar?',
  'baik, terima kasih',
  'ok',
  'siap!',
  'sampai nanti',
] as const;

/** Real text in several scripts: joiners, combining marks, right-to-left, characters of 1 to 4 bytes. */
export const SCRIPT_SAMPLES = [
  'Selamat pagi, apa kabar? 👋🏽',
  'नमस्ते दुनिया, क्‍ष', // Devanagari with a ZWJ: characters from U+0800 up, 3 bytes each
  'สวัสดีครับ', // Thai
  'می‌خواهم بروم', // Persian with a ZWNJ
  'שלום עולם', // Hebrew
  '你好，世界', // CJK
  '👨‍👩‍👧‍👦 🏳️‍🌈 👩🏽‍💻', // ZWJ sequences
  'Tiếng Việt'.normalize('NFD'), // stacked combining marks
  'ümlaut, ß, ñ, ø', // 2-byte Latin
  'go 🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}!', // a subdivision flag (tags)
] as const;

/**
 * Byte lengths where encodings change: a varint length takes 1 byte up to 63 and 2 from 64; 255 and
 * 256 are where a one-byte mask would cut; 999, 1000 and 1001 are the limit and either side of it.
 */
export const TEXT_BYTE_BOUNDARIES = [1, 63, 64, 255, 256, 999, TEXT_BYTES_MAX, TEXT_BYTES_MAX + 1] as const;

/**
 * A text of exactly `byteCount` bytes of UTF-8 that starts with `sample` (cut to fit) and is padded
 * with copies of `unit`, then ASCII letters for the last bytes: so every boundary is reached with
 * characters of every width.
 */
export function textOfBytes(byteCount: number, sample: string, unit: string): string {
  let text = '';
  for (const character of sample) {
    if (byteLength(text + character) > byteCount) {
      break;
    }
    text += character;
  }
  while (byteLength(text + unit) <= byteCount) {
    text += unit;
  }
  while (byteLength(text) < byteCount) {
    text += 'x';
  }
  return text;
}

const exactLengthTextArb = fc
  .record({
    byteCount: fc.constantFrom(...TEXT_BYTE_BOUNDARIES),
    sample: fc.constantFrom(...SCRIPT_SAMPLES),
    unit: fc.constantFrom('a', 'é', 'क', '😀', ' a'),
  })
  .map(({ byteCount, sample, unit }) => textOfBytes(byteCount, sample, unit));

const spacedTextArb = fc
  .record({
    before: fc.constantFrom('', ' ', '  ', '\t'),
    text: fc.constantFrom(...EVERYDAY_TEXTS, ...SCRIPT_SAMPLES),
    after: fc.constantFrom('', ' ', '   ', '\t'),
  })
  .map(({ before, text, after }) => `${before}${text}${after}`);

/** Texts the client refuses at once: empty, blank, one byte over the limit, a lone surrogate. */
const refusedTextArb = fc.constantFrom('', '   ', 'é'.repeat(501), 'ab\uD800cd');

/** The texts of most runs. */
export const everydayTextArb: fc.Arbitrary<string> = fc.constantFrom(...EVERYDAY_TEXTS);

/**
 * Every kind of text, for the runs that are about texts. Built on first use: fast-check's string of
 * any code point builds a table of every character, which costs a start-up that most uses of this
 * module (the command's help, a server) do not need.
 */
export function anyTextArb(): fc.Arbitrary<string> {
  anyText ??= fc.oneof(
    { weight: 2, arbitrary: everydayTextArb },
    { weight: 8, arbitrary: exactLengthTextArb },
    { weight: 2, arbitrary: spacedTextArb },
    { weight: 2, arbitrary: fc.constantFrom(...SCRIPT_SAMPLES) },
    // Random code points, lone surrogates and control characters included: the client takes what is
    // valid (controls are text; only the terminal hides them) and refuses the rest.
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
    { weight: 1, arbitrary: refusedTextArb },
  );
  return anyText;
}
let anyText: fc.Arbitrary<string> | undefined;
