/**
 * What a terminal must never be sent from the network, each character replaced by U+FFFD so that the
 * reader sees that something was there:
 * - C0 controls but tab (ESC among them, so no escape sequence can move the cursor, clear the
 *   screen or recolour the output), DEL, and C1 controls (U+009B is a one-character CSI);
 * - the line and paragraph separators, which some terminals and viewers treat as line breaks;
 * - the bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
 *   PDI: the "Trojan Source" characters), which reorder what comes after them on the line;
 * - the Hangul fillers, which render as blank space and make one text look like another.
 * Zero-width joiners and non-joiners (U+200D, U+200C) and the bidi marks (LRM, RLM, ALM) are left
 * alone: family and flag emoji, Persian, Arabic and Indic text need them, and they reorder nothing.
 */
const NEVER_SHOWN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u1160\u115f\u2028\u2029\u202a-\u202e\u2066-\u2069\u3164\uffa0]/g;

/**
 * Tag characters (U+E0000 to U+E007F) are invisible, and can hide a whole text inside another. They
 * belong only in an emoji tag sequence (the flags of England, Scotland and Wales): an emoji, tag
 * characters, then CANCEL TAG. Those are kept whole; any other run of tags becomes one U+FFFD.
 */
const TAG_RUN = /(\p{Emoji}\uFE0F?[\u{E0020}-\u{E007E}]+\u{E007F})|[\u{E0000}-\u{E007F}]+/gu;

/**
 * Combining marks one base character may carry on a terminal. Real text needs few (Vietnamese two,
 * pointed Hebrew and Indic clusters three or four); "Zalgo" text stacks dozens, which spill over the
 * lines above and below. Marks past this many become one U+FFFD.
 */
export const COMBINING_MARK_RUN_MAX = 5;
const MARK_RUN = new RegExp(`(\\p{M}{${COMBINING_MARK_RUN_MAX}})\\p{M}+`, 'gu');

/**
 * Makes network text safe to print on a terminal: it can neither act on the terminal (control
 * characters, escape sequences) nor make the line read differently from what it holds (bidi
 * overrides, invisible tags, fillers, stacked marks). Real text, emoji sequences with joiners
 * included, passes unchanged. For terminal display only: JSON output carries the exact text.
 *
 * @example sanitizeForTerminal('\u001b[2Jhi') === '\uFFFD[2Jhi'
 * @example sanitizeForTerminal('👨‍👩‍👧') === '👨‍👩‍👧'
 */
export function sanitizeForTerminal(text: string): string {
  return text
    .replace(NEVER_SHOWN, '\uFFFD')
    .replace(TAG_RUN, (_run, sequence: string | undefined) => sequence ?? '\uFFFD')
    .replace(MARK_RUN, (_run, kept: string) => `${kept}\uFFFD`);
}
