import { sanitizeForTerminal } from './terminal-text.ts';

/** The largest message text, in bytes of UTF-8. Longer text is refused, never truncated. */
export const TEXT_BYTES_MAX = 1000;
/** Names are 1 to 32 ASCII letters, digits, `_` or `-`. */
export const NAME_LENGTH_MAX = 32;

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * Whether `bytes`, read as one character each, are a name {@link validateName} accepts: the same rule
 * as its pattern, checked on the wire's bytes without building a string or running a pattern (every
 * MESSAGE frame carries a name). A test holds the two to the same answer for any bytes.
 */
export function isNameBytes(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length > NAME_LENGTH_MAX) {
    return false;
  }
  for (const byte of bytes) {
    const lower = byte | 0x20;
    if (
      !((lower >= 0x61 && lower <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f || byte === 0x2d)
    ) {
      return false;
    }
  }
  return true;
}

/** Why a name or a text was refused, in words a user can act on. */
export type Validation = { readonly ok: true } | { readonly ok: false; readonly message: string };

/**
 * Checks a user name: 1 to 32 ASCII letters, digits, `_` or `-`. ASCII only, so that two names that
 * look alike are alike, and case-insensitive uniqueness has one meaning everywhere.
 */
export function validateName(name: string): Validation {
  if (name.length === 0) {
    return { ok: false, message: 'the name is empty; choose 1 to 32 letters, digits, _ or -' };
  }
  if (name.length > NAME_LENGTH_MAX) {
    return {
      ok: false,
      message: `the name "${sanitizeForTerminal(name.slice(0, 40))}…" has ${name.length} characters; the limit is ${NAME_LENGTH_MAX}`,
    };
  }
  if (!NAME_PATTERN.test(name)) {
    return {
      ok: false,
      message: `the name "${sanitizeForTerminal(name)}" may only hold letters A-Z, digits, _ and -`,
    };
  }
  return { ok: true };
}

/** The form under which names are unique: `Ana` and `ana` are the same member. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

/** Bytes of UTF-8 that `text` takes on the wire. */
export function utf8ByteLength(text: string): number {
  // Counted, not encoded: this runs for every frame the link packs. A lone surrogate counts as the
  // three bytes of U+FFFD, as TextEncoder would write it.
  let byteCount = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) {
      byteCount += 1;
    } else if (code < 0x800) {
      byteCount += 2;
    } else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        byteCount += 4;
        index += 1;
      } else {
        byteCount += 3;
      }
    } else {
      byteCount += 3;
    }
  }
  return byteCount;
}

/** Checks a chat message before it is sent: not empty, at most 1000 bytes of UTF-8, never truncated. */
export function validateText(text: string): Validation {
  if (text.trim().length === 0) {
    return { ok: false, message: 'the message is empty (or only spaces); type some text' };
  }
  const byteCount = utf8ByteLength(text);
  if (byteCount > TEXT_BYTES_MAX) {
    return {
      ok: false,
      message: `the message is ${byteCount} bytes of UTF-8; the limit is ${TEXT_BYTES_MAX}: shorten it or split it`,
    };
  }
  if (!text.isWellFormed()) {
    return { ok: false, message: 'the message holds a lone surrogate, which UTF-8 cannot carry' };
  }
  return { ok: true };
}
