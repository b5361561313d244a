/** One of the client's own texts, with its number. */
export interface OwnLine {
  readonly line: number;
  readonly text: string;
}

/**
 * The client's own texts: numbered from 1 as the client takes them, and held until the server confirms
 * them (its own message comes back), so that a rejoin after a server restart can resend those the old
 * server never confirmed, under the same numbers. Confirmations come in order. Mutable, owned by the
 * client actor; at most the send queue's worth (the client refuses texts beyond that). Of them, at most
 * SAYS_UNCONFIRMED_MAX are out on a session at once (the client machine's window); the rest wait here.
 */
export class OwnLines {
  #lines: OwnLine[] = [];
  /** Where the unconfirmed lines start in `#lines`: confirmed ones are dropped from the front lazily. */
  #head = 0;
  #nextLine = 1;
  #confirmedLine = 0;

  /** Texts taken and not confirmed yet. */
  get count(): number {
    return this.#lines.length - this.#head;
  }

  /** The highest line the server has confirmed (0 before any). */
  get confirmedLine(): number {
    return this.#confirmedLine;
  }

  /** Takes a text: its number. */
  add(text: string): OwnLine {
    const line = { line: this.#nextLine, text };
    this.#nextLine += 1;
    this.#lines.push(line);
    return line;
  }

  /** The server confirmed every line up to `line`. */
  confirm(line: number): void {
    if (line <= this.#confirmedLine) {
      return;
    }
    this.#confirmedLine = line;
    while (this.#head < this.#lines.length && (this.#lines[this.#head]?.line ?? 0) <= line) {
      this.#head += 1;
    }
    if (this.#head === this.#lines.length) {
      this.#lines = [];
      this.#head = 0;
    } else if (this.#head >= 64 && 2 * this.#head >= this.#lines.length) {
      this.#lines = this.#lines.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The number of the last text taken (0 before any). */
  get lastLine(): number {
    return this.#nextLine - 1;
  }

  /** The unconfirmed lines numbered above `after` and at most `upTo`, oldest first. */
  between(after: number, upTo: number): readonly OwnLine[] {
    const first = this.#lines[this.#head];
    if (first === undefined) {
      return [];
    }
    // Numbers are consecutive: a line's place follows from its number.
    const start = this.#head + Math.max(0, after + 1 - first.line);
    const end = this.#head + Math.max(0, upTo + 1 - first.line);
    return this.#lines.slice(start, end);
  }

  /** The lines not confirmed yet, oldest first. */
  unconfirmed(): readonly OwnLine[] {
    return this.#lines.slice(this.#head);
  }
}
