/** The part of a writable stream a bounded writer needs (process.stdout, a pipe, a test's stand-in). */
export interface LineSink {
  write(chunk: string): boolean;
  /** Bytes written but not yet handed on: what a slow reader leaves waiting in this process. */
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
}

/** What a server waiting on a slow reader keeps of its log at most, by default: 1 MiB. */
export const PENDING_BYTES_MAX_DEFAULT = 1 << 20;

/**
 * Writes lines to a stream without ever holding more than `pendingBytesMax` of them in memory: a
 * reader that stops reading (a stalled pipe, a paused terminal) costs lines, counted, never memory.
 * Once the stream drains, the count is written in its place, so the log says what it lost.
 */
export class BoundedWriter {
  readonly #sink: LineSink;
  readonly #pendingBytesMax: number;
  readonly #notice: (dropped: number) => string;
  #dropped = 0;
  #droppedTotal = 0;
  #waiting = false;

  constructor(
    sink: LineSink,
    notice: (dropped: number) => string,
    pendingBytesMax: number = PENDING_BYTES_MAX_DEFAULT,
  ) {
    this.#sink = sink;
    this.#notice = notice;
    this.#pendingBytesMax = pendingBytesMax;
  }

  /** Lines dropped so far because the reader was too slow. */
  get dropped(): number {
    return this.#droppedTotal;
  }

  /** Writes one line (a newline is added), or counts it as dropped while too much is waiting. */
  line(text: string): void {
    if (this.#sink.writableLength >= this.#pendingBytesMax) {
      this.#dropped += 1;
      this.#droppedTotal += 1;
      this.#awaitDrain();
      return;
    }
    this.#flushNotice();
    this.#sink.write(`${text}\n`);
  }

  /**
   * Writes the count of lines dropped since the last notice now, drained or not: a writer about to
   * stop (an exiting client) would otherwise take it along unsaid. It goes after every line written,
   * one line past the bound, once; a later drain has nothing left to say.
   */
  finish(): void {
    this.#flushNotice();
  }

  #awaitDrain(): void {
    if (this.#waiting) {
      return;
    }
    this.#waiting = true;
    this.#sink.once('drain', () => {
      this.#waiting = false;
      this.#flushNotice();
    });
  }

  #flushNotice(): void {
    if (this.#dropped > 0) {
      const dropped = this.#dropped;
      this.#dropped = 0;
      this.#sink.write(`${this.#notice(dropped)}\n`);
    }
  }
}
