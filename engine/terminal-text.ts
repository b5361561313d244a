/**
 * Combining marks one character cell may carry on a terminal. Real text needs few (Vietnamese two,
 * pointed Hebrew and Indic clusters three or four, an emoji's variation selector one); "Zalgo" text
 * stacks dozens, which spill over the lines above and below. Marks past this many become one U+FFFD.
 */
export const COMBINING_MARK_RUN_MAX = 5;

/** The replacement a reader sees where something was taken out. */
const REPLACEMENT = '\uFFFD';
const TAB = 0x09;
/** WAVING BLACK FLAG, the base of the subdivision flags (England, Scotland, Wales). */
const BLACK_FLAG = 0x1f3f4;
const CANCEL_TAG = 0xe007f;
/** A subdivision flag spells a region code in tag letters and digits, at most this many. */
const FLAG_TAG_COUNT_MAX = 7;

/**
 * Format characters real text needs, which reorder nothing beyond themselves: the joiners (family,
 * profession and flag emoji, Persian, Indic scripts) and the bidi marks (LRM, RLM, ALM) of
 * right-to-left writing. Every other format character is taken out: the bidi embeddings, overrides
 * and isolates ("Trojan Source"), the zero-width space and word joiner, the BOM, the soft hyphen,
 * the invisible operators, interlinear annotations, and tags outside a flag.
 */
const FORMAT_KEPT = new Set([0x200c, 0x200d, 0x200e, 0x200f, 0x061c]);

/** Hangul fillers: letters that render as blank space, to make one text look like another. */
const FILLERS = new Set([0x115f, 0x1160, 0x3164, 0xffa0]);

const CONTROL_OR_SEPARATOR = /[\p{Cc}\p{Zl}\p{Zp}]/u;
const FORMAT = /\p{Cf}/u;
const MARK = /\p{M}/u;

function isTag(codePoint: number): boolean {
  return codePoint >= 0xe0000 && codePoint <= 0xe007f;
}

/** A tag spelling a lowercase letter or a digit, as subdivision flags use. */
function isFlagTag(codePoint: number): boolean {
  return (codePoint >= 0xe0061 && codePoint <= 0xe007a) || (codePoint >= 0xe0030 && codePoint <= 0xe0039);
}

/**
 * The length, in code points, of a subdivision flag starting at `start` (🏴, its region code in tag
 * letters and digits, CANCEL TAG), or 0 when none starts there.
 */
function flagLengthAt(codePoints: readonly number[], start: number): number {
  if (codePoints[start] !== BLACK_FLAG) {
    return 0;
  }
  let index = start + 1;
  while (
    index < codePoints.length &&
    isFlagTag(codePoints[index] ?? 0) &&
    index - start <= FLAG_TAG_COUNT_MAX
  ) {
    index += 1;
  }
  const tagCount = index - start - 1;
  return tagCount >= 2 && codePoints[index] === CANCEL_TAG ? tagCount + 2 : 0;
}

function isNeverShown(codePoint: number, character: string): boolean {
  if (codePoint === TAB) {
    return false;
  }
  if (FILLERS.has(codePoint) || CONTROL_OR_SEPARATOR.test(character)) {
    return true;
  }
  return FORMAT.test(character) && !FORMAT_KEPT.has(codePoint);
}

/**
 * Makes network text safe to print on a terminal: it can neither act on the terminal nor make the
 * line read differently from what it holds. Each of these becomes U+FFFD, so the reader sees that
 * something was there:
 * - control characters but tab (C0 with ESC, so no escape sequence gets through; DEL; C1, where
 *   U+009B is a one-character CSI) and the line and paragraph separators;
 * - format characters but the joiners and bidi marks real text needs (see FORMAT_KEPT): the
 *   embeddings, overrides and isolates, zero-width and invisible characters, the BOM;
 * - tag characters, except in a subdivision flag (🏴 + region code + CANCEL TAG), a run of them once;
 * - Hangul fillers;
 * - combining marks past {@link COMBINING_MARK_RUN_MAX} on one character cell (a joiner or bidi mark
 *   between marks does not start a new cell), the excess once.
 * Real text, emoji sequences with their joiners included, passes unchanged. For terminal display
 * only: JSON output carries the exact text.
 *
 * @example sanitizeForTerminal('\u001b[2Jhi') === '\uFFFD[2Jhi'
 * @example sanitizeForTerminal('👨‍👩‍👧') === '👨‍👩‍👧'
 */
export function sanitizeForTerminal(text: string): string {
  // The common case, plain printable ASCII, is returned as it is.
  if (/^[\x20-\x7e]*$/.test(text)) {
    return text;
  }
  const characters = Array.from(text);
  const codePoints = characters.map((character) => character.codePointAt(0) ?? 0);
  let shown = '';
  let marksOnCell = 0;
  for (let index = 0; index < characters.length; index += 1) {
    const character = characters[index] ?? '';
    const codePoint = codePoints[index] ?? 0;
    const flagLength = flagLengthAt(codePoints, index);
    if (flagLength > 0) {
      shown += characters.slice(index, index + flagLength).join('');
      index += flagLength - 1;
      marksOnCell = 0;
    } else if (isTag(codePoint)) {
      if (!isTag(codePoints[index - 1] ?? 0)) {
        shown += REPLACEMENT;
        marksOnCell = 0;
      }
    } else if (MARK.test(character)) {
      marksOnCell += 1;
      if (marksOnCell <= COMBINING_MARK_RUN_MAX) {
        shown += character;
      } else if (marksOnCell === COMBINING_MARK_RUN_MAX + 1) {
        shown += REPLACEMENT;
      }
    } else if (isNeverShown(codePoint, character)) {
      // The replacement is a character cell of its own: marks after it land on it.
      shown += REPLACEMENT;
      marksOnCell = 0;
    } else {
      // A joiner or a bidi mark (the only format characters kept) is not a cell: marks on either
      // side of it stack on the same character.
      shown += character;
      if (!FORMAT.test(character)) {
        marksOnCell = 0;
      }
    }
  }
  return shown;
}
