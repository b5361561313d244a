import assert from 'node:assert/strict';
import { type JsonValue, toJsonValue } from './json-value.ts';

/** Enough for a long simulated run; beyond it entries are counted, not stored, to bound memory. */
export const TRACE_ENTRY_COUNT_MAX_DEFAULT = 200_000;
/** Event text longer than this is cut in {@link Trace.formatted} (never in {@link Trace.toJsonLines}). */
const FORMATTED_EVENT_LENGTH_MAX = 240;
/** Column width of the "who" column in {@link Trace.formatted}. */
const FORMATTED_WHO_WIDTH = 20;

/** Why the simulated network lost a datagram. */
export type NetworkDropReason = 'loss' | 'partition' | 'crashed' | 'no-such-node';

/** What happened to a datagram, by node name (`to` is the address when no node has it). */
export interface DatagramTraceEntry {
  /** Virtual time in ms. */
  readonly t: number;
  readonly kind: 'send' | 'drop' | 'duplicate' | 'deliver';
  readonly from: string;
  readonly to: string;
  /** Length in bytes. */
  readonly size: number;
  /** FNV-1a 32-bit of the bytes, 8 hex digits: tells the datagrams apart in a log. */
  readonly hash: string;
  /** The network's number for the send (0, 1, 2, … in send order; an adversary's injections -1, -2, …): ties a send to its fate. */
  readonly send: number;
  /** Present on drops only. */
  readonly reason?: NetworkDropReason;
  /** What the datagram carries (`JOIN ana`, `ACK+MESSAGE #4`): on sends, when the network labels them. */
  readonly label?: string;
  /** Its packet type (`hello`, `session`, …): on labelled sends. */
  readonly packet?: string;
  /** The session id of a labelled session packet: which conversation it belongs to, as an address may change hands. */
  readonly session?: string | undefined;
  /** On labelled sends whose datagram carries only ACK and PING frames; absent otherwise. */
  readonly ackOrPingOnly?: true | undefined;
}

/** Something a node's user could see, as JSON (binary fields as hex). */
export interface EventTraceEntry {
  readonly t: number;
  readonly kind: 'event';
  readonly node: string;
  readonly event: JsonValue;
}

export type TraceEntry = DatagramTraceEntry | EventTraceEntry;

/**
 * An entry as a plain object with its JSON's keys: what to spread into another object (an entry may
 * work out some fields when they are read, which a spread would not copy).
 */
export function plainTraceEntry(entry: TraceEntry): TraceEntry {
  return 'toJSON' in entry && typeof entry.toJSON === 'function' ? (entry.toJSON() as TraceEntry) : entry;
}

export interface TraceOptions {
  /** How many entries to store; later ones are only counted. */
  readonly traceEntryCountMax?: number;
}

/**
 * The record of one simulated run: every datagram's fate and every user-visible event, in virtual
 * time. Two runs from the same inputs give byte-identical {@link toJsonLines} text, so comparing
 * traces is how determinism is tested, and {@link formatted} is what a failing property prints.
 *
 * @example
 * ```ts
 * const trace = new Trace();
 * trace.event(1250, 'ana', { type: 'welcome', members: ['ana'] });
 * console.log(trace.formatted()); // "     1.250s  ana  event {"type":"welcome","members":["ana"]}"
 * ```
 */
export class Trace {
  readonly traceEntryCountMax: number;
  readonly #entries: TraceEntry[] = [];
  #omittedCount = 0;

  constructor(options: TraceOptions = {}) {
    this.traceEntryCountMax = options.traceEntryCountMax ?? TRACE_ENTRY_COUNT_MAX_DEFAULT;
    assert.ok(Number.isSafeInteger(this.traceEntryCountMax) && this.traceEntryCountMax >= 0);
  }

  /** The stored entries, oldest first. */
  get entries(): readonly TraceEntry[] {
    return this.#entries;
  }

  /** How many entries arrived after the store was full. */
  get omittedCount(): number {
    return this.#omittedCount;
  }

  /** Every entry appended, stored or not. */
  get entryCount(): number {
    return this.#entries.length + this.#omittedCount;
  }

  /** Appends an entry; the network calls this for every datagram. */
  append(entry: TraceEntry): void {
    if (this.#entries.length < this.traceEntryCountMax) {
      this.#entries.push(entry);
    } else {
      this.#omittedCount += 1;
    }
  }

  /**
   * Records a user-visible event of `node`. The event is copied as JSON at once (Uint8Array fields
   * become hex), so later changes to the object cannot alter the trace.
   */
  event(t: number, node: string, event: object): void {
    if (this.#entries.length >= this.traceEntryCountMax) {
      this.#omittedCount += 1;
      return;
    }
    this.append({ t, kind: 'event', node, event: toJsonValue(event) });
  }

  /**
   * One JSON object per line, keys in a fixed order, ending with a newline; a last line
   * `{"kind":"truncated","omittedCount":N}` says when the store was full.
   */
  toJsonLines(): string {
    const lines = this.#entries.map((entry) => JSON.stringify(entry));
    if (this.#omittedCount > 0) {
      lines.push(JSON.stringify({ kind: 'truncated', omittedCount: this.#omittedCount }));
    }
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  /**
   * A readable log, one line per entry: `    12.345s  c0 -> server        send 84B #a1b2c3d4 JOIN ana`
   * (the label when the network gave the send one, repeated on the lines of that datagram's fate).
   * With `limit`, a longer trace shows its first and last `limit / 2` entries around a gap line.
   */
  formatted(limit?: number): string {
    const entries = this.#entries;
    const labels = labelsBySend(entries);
    const lines: string[] = [];
    // Loops, not push(...spread): a trace of a runaway run has more entries than a call has arguments.
    if (limit === undefined || entries.length <= limit) {
      for (const entry of entries) {
        lines.push(formatEntry(entry, labels));
      }
    } else {
      const headCount = Math.ceil(limit / 2);
      const tailCount = Math.floor(limit / 2);
      for (let index = 0; index < headCount; index += 1) {
        lines.push(formatEntry(entries[index] as TraceEntry, labels));
      }
      lines.push(`  … ${entries.length - headCount - tailCount} entries not shown …`);
      for (let index = entries.length - tailCount; index < entries.length; index += 1) {
        lines.push(formatEntry(entries[index] as TraceEntry, labels));
      }
    }
    if (this.#omittedCount > 0) {
      lines.push(
        `  … trace full at ${this.traceEntryCountMax} entries: ${this.#omittedCount} more not stored`,
      );
    }
    return lines.join('\n');
  }
}

/**
 * The label of each labelled send, by send number, so that the lines of a datagram's delivery, drop or
 * duplicate (which the network records without one) can say what it carried too.
 */
function labelsBySend(entries: readonly TraceEntry[]): ReadonlyMap<number, string> {
  const labels = new Map<number, string>();
  for (const entry of entries) {
    if (entry.kind === 'send' && entry.label !== undefined) {
      labels.set(entry.send, entry.label);
    }
  }
  return labels;
}

function formatTime(t: number): string {
  return `${(t / 1000).toFixed(3)}s`.padStart(10);
}

function formatEntry(entry: TraceEntry, labels: ReadonlyMap<number, string>): string {
  const time = formatTime(entry.t);
  if (entry.kind === 'event') {
    const text = JSON.stringify(entry.event);
    const shown =
      text.length > FORMATTED_EVENT_LENGTH_MAX ? `${text.slice(0, FORMATTED_EVENT_LENGTH_MAX)}…` : text;
    return `${time}  ${entry.node.padEnd(FORMATTED_WHO_WIDTH)}  event ${shown}`;
  }
  const what = entry.reason === undefined ? entry.kind : `${entry.kind}(${entry.reason})`;
  const route = `${entry.from} -> ${entry.to}`.padEnd(FORMATTED_WHO_WIDTH);
  const label = labels.get(entry.send);
  return `${time}  ${route}  ${what} ${entry.size}B #${entry.hash}${label === undefined ? '' : ` ${label}`}`;
}
