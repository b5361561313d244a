/**
 * Every control character (C0, DEL, C1), every format character (the bidirectional overrides,
 * embeddings, isolates and marks, the zero-width characters, tags, the BOM, the soft hyphen) and the
 * line and paragraph separators. JSON.stringify escapes only C0 controls; the rest it writes raw, and a
 * terminal or log viewer showing the JSON would obey them.
 */
const UNSAFE_IN_JSON = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

function unicodeEscape(character: string): string {
  // Characters above U+FFFF (the tag block) are written as their surrogate pair, as JSON requires.
  let escaped = '';
  for (let index = 0; index < character.length; index += 1) {
    escaped += `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`;
  }
  return escaped;
}

/**
 * One line of JSON for output meant for people and programs alike: the exact value (a parser reads
 * back every character), with every control, format and separator character written as a `\u` escape,
 * so that printing the line cannot move the cursor, recolour, reorder or break it. (Text that merely
 * looks blank, such as a Hangul filler, stays as it is: the exact text is what JSON is for.)
 *
 * @example jsonLine({ text: 'a\u202eb' }) === '{"text":"a\\u202eb"}'
 */
export function jsonLine(value: unknown): string {
  // Outside strings JSON.stringify writes only ASCII punctuation, digits and letters, so every match
  // lies inside a string, where an escape means the same character. A value JSON cannot hold
  // (undefined, a function) is written as null rather than as nothing.
  return (JSON.stringify(value) ?? 'null').replace(UNSAFE_IN_JSON, unicodeEscape);
}
