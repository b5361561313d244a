import type { Readable } from 'node:stream';
import { TEXT_BYTES_MAX } from '../engine/index.ts';

/** One line of standard input, numbered from 1: its text, or why it cannot be one. */
export type InputLine =
  | { readonly lineNumber: number; readonly kind: 'text'; readonly text: string }
  /** The bytes are not valid UTF-8: nothing is guessed or replaced. */
  | { readonly lineNumber: number; readonly kind: 'bad-utf8'; readonly byteCount: number }
  /** Longer than any message can be: only its length was kept. */
  | { readonly lineNumber: number; readonly kind: 'too-long'; readonly byteCount: number };

/**
 * Bytes of a line kept at most. A message is at most TEXT_BYTES_MAX bytes, so a longer line is refused
 * whatever it holds: it is counted, not stored, and a line without an end cannot exhaust memory.
 */
export const LINE_BYTES_KEPT_MAX = TEXT_BYTES_MAX + 1;

const LF = 0x0a;
const CR = 0x0d;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Collects the bytes of one line, keeping at most {@link LINE_BYTES_KEPT_MAX} of them. */
class LineBuffer {
  readonly #kept = new Uint8Array(LINE_BYTES_KEPT_MAX);
  #byteCount = 0;
  /** The line's last byte, kept or not: whether it is a CR decides the length of a CRLF line. */
  #lastByte: number | undefined;

  get byteCount(): number {
    return this.#byteCount;
  }

  append(chunk: Uint8Array, start: number, end: number): void {
    if (end <= start) {
      return;
    }
    const keptCount = Math.min(this.#byteCount, LINE_BYTES_KEPT_MAX);
    const keptEnd = Math.min(end, start + LINE_BYTES_KEPT_MAX - keptCount);
    this.#kept.set(chunk.subarray(start, keptEnd), keptCount);
    this.#byteCount += end - start;
    this.#lastByte = chunk[end - 1];
  }

  /** The line so far as an input line, and empties the buffer. A CR before the LF is dropped (CRLF). */
  take(lineNumber: number, endedByLf: boolean): InputLine {
    const crlf = endedByLf && this.#lastByte === CR;
    const byteCount = this.#byteCount - (crlf ? 1 : 0);
    this.#byteCount = 0;
    this.#lastByte = undefined;
    if (byteCount > TEXT_BYTES_MAX) {
      return { lineNumber, kind: 'too-long', byteCount };
    }
    try {
      return { lineNumber, kind: 'text', text: utf8.decode(this.#kept.subarray(0, byteCount)) };
    } catch {
      return { lineNumber, kind: 'bad-utf8', byteCount };
    }
  }
}

/**
 * The lines of a byte stream, in order, for the JSON client. A line ends at LF; a CR right before
 * the LF belongs to the line ending (CRLF), and a CR anywhere else is text. The last line needs no
 * LF. Text is decoded as strict UTF-8: a line that is not valid UTF-8 comes out as `bad-utf8`, never
 * with U+FFFD in it. Reading waits while the consumer does, so the stream's back-pressure holds.
 */
export async function* readInputLines(input: Readable): AsyncGenerator<InputLine> {
  const buffer = new LineBuffer();
  let lineNumber = 0;
  for await (const raw of input) {
    const chunk: Uint8Array = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : (raw as Uint8Array);
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(LF, start);
      if (end < 0) {
        buffer.append(chunk, start, chunk.length);
        break;
      }
      buffer.append(chunk, start, end);
      lineNumber += 1;
      yield buffer.take(lineNumber, true);
      start = end + 1;
    }
  }
  if (buffer.byteCount > 0) {
    lineNumber += 1;
    yield buffer.take(lineNumber, false);
  }
}
