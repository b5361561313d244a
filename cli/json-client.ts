import type { Readable } from 'node:stream';
import { type ClientEvent, say, TEXT_BYTES_MAX } from '../engine/index.ts';
import { BoundedWriter, type LineSink, PENDING_BYTES_MAX_DEFAULT } from './bounded-output.ts';
import { clientEventJson, outputDroppedJson } from './client-json.ts';
import { type Connection, exitCodeFor } from './connection.ts';
import { type InputLine, readInputLines } from './input-lines.ts';
import { jsonLine } from './json-line.ts';

/** What the JSON client keeps of its output at most for a reader that stops reading: 1 MiB. */
export const JSON_OUTPUT_PENDING_BYTES_MAX = PENDING_BYTES_MAX_DEFAULT;

/**
 * Where every line of the JSON client goes: a reader that stops reading (a stalled pipe) costs lines,
 * in order, never memory, and an `output.dropped` line says how many once the output drains. Input is
 * paced by the server's confirmations, not by the reader, so without a bound a script that stopped
 * reading would grow the client without limit. The caller `finish`es it before exit, so the count
 * goes out even if the output never drained.
 */
export function jsonOutput(
  sink: LineSink,
  pendingBytesMax: number = JSON_OUTPUT_PENDING_BYTES_MAX,
): BoundedWriter {
  return new BoundedWriter(sink, (count) => jsonLine(outputDroppedJson(count)), pendingBytesMax);
}

/** Messages sent but not yet confirmed, at most: input waits beyond this, so no line is ever dropped. */
export const JSON_IN_FLIGHT_MAX = 32;

/**
 * Counts the client's own messages between sending and confirmation, and wakes whoever waits for
 * room or for everything to be confirmed; a closed client, or a leave, wakes everyone.
 */
class InFlight {
  count = 0;
  closed = false;
  #waiters: (() => void)[] = [];
  #stop: (() => void) | undefined;
  /** Settles once the client has closed or the user asked to leave: reading input stops then. */
  readonly stopped = new Promise<'stopped'>((resolve) => {
    this.#stop = () => resolve('stopped');
  });

  observe(event: ClientEvent): void {
    if (event.type === 'message' && event.self) {
      this.count = Math.max(0, this.count - 1);
    } else if (event.type === 'closed') {
      this.closed = true;
      this.#stop?.();
    } else {
      return;
    }
    this.#wake();
  }

  stop(): void {
    this.#stop?.();
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) {
      wake();
    }
  }

  async until(ready: () => boolean): Promise<void> {
    while (!ready() && !this.closed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

/**
 * Lines whose output waits behind an unconfirmed one, at most: reading input waits beyond this, so
 * refused lines (which take no place in the send window) cannot pile up without bound.
 */
export const LINE_ORDER_PENDING_MAX = 4 * JSON_IN_FLIGHT_MAX;

interface PendingLine {
  readonly lineNumber: number;
  json: Record<string, unknown> | undefined;
}

/**
 * Keeps what is printed about input lines in the order of the lines: a line's confirmation (its
 * message coming back) or its error is printed only once every earlier line has had its own, so a
 * script can read the output against its input line by line. Sending is not held back: only output
 * about a later line waits, and the server confirms a client's messages in the order they were sent.
 */
class LineOrder {
  readonly #out: (line: string) => void;
  /** Lines in input order, from the oldest with nothing printed yet: what to print, once known. */
  readonly #pending: PendingLine[] = [];
  /** The lines sent and not yet confirmed, oldest first: a subset of `#pending`, in its order. */
  readonly #unconfirmed: PendingLine[] = [];
  #waiters: (() => void)[] = [];

  constructor(out: (line: string) => void) {
    this.#out = out;
  }

  /** Waits until fewer than {@link LINE_ORDER_PENDING_MAX} lines wait for their output (or `stop` settles). */
  async room(stop: Promise<unknown>): Promise<void> {
    while (this.#pending.length >= LINE_ORDER_PENDING_MAX) {
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), stop]);
      if (await isSettled(stop)) {
        return;
      }
    }
  }

  /** A line goes to the client: its confirmation, or its refusal at once, comes later. */
  expect(lineNumber: number): void {
    const entry = { lineNumber, json: undefined };
    this.#pending.push(entry);
    this.#unconfirmed.push(entry);
  }

  /**
   * What to print for a line (an error): the line just expected (the client refused it at once), or
   * a new one (refused before the client saw it). Printed at once if no earlier line is waiting.
   */
  settle(lineNumber: number, json: Record<string, unknown>): void {
    const last = this.#unconfirmed.at(-1);
    if (last?.lineNumber === lineNumber) {
      this.#unconfirmed.pop();
      last.json = json;
    } else {
      this.#pending.push({ lineNumber, json });
    }
    this.#flush();
  }

  /** The confirmation of the oldest message still waiting for one. */
  confirm(json: Record<string, unknown>): void {
    const entry = this.#unconfirmed.shift();
    if (entry === undefined) {
      this.#out(jsonLine(json));
      return;
    }
    entry.json = { ...json, line: entry.lineNumber };
    this.#flush();
  }

  /** The input line numbers of the messages sent and not yet confirmed, oldest first. */
  unconfirmedLines(): number[] {
    return this.#unconfirmed.map((entry) => entry.lineNumber);
  }

  /** The client closed: every line still unconfirmed is reported as not delivered, in order. */
  abandon(): void {
    for (const entry of this.#unconfirmed.splice(0)) {
      entry.json = {
        type: 'error',
        code: 'not-delivered',
        line: entry.lineNumber,
        message: `line ${entry.lineNumber} was not confirmed by the server before the client closed`,
      };
    }
    this.#flush();
  }

  #flush(): void {
    while (this.#pending[0]?.json !== undefined) {
      const entry = this.#pending.shift();
      if (entry?.json !== undefined) {
        this.#out(jsonLine(entry.json));
      }
    }
    for (const wake of this.#waiters.splice(0)) {
      wake();
    }
  }
}

/** Whether a promise has settled, without waiting for it. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([promise, Promise.resolve(marker)])) !== marker;
}

/** What a line of input asks: to leave, or to send it. Commands are compared without surrounding spaces. */
export function isLeaveCommand(line: string): boolean {
  const command = line.trim();
  return command === 'QUIT' || command === '/quit';
}

/** The error for an input line that cannot be a message at all, before the client sees it. */
function unusableLineJson(line: Exclude<InputLine, { kind: 'text' }>): Record<string, unknown> {
  if (line.kind === 'bad-utf8') {
    return {
      type: 'error',
      code: 'bad-utf8',
      line: line.lineNumber,
      message: `line ${line.lineNumber} (${line.byteCount} bytes) is not valid UTF-8; it was not sent`,
    };
  }
  return {
    type: 'error',
    code: 'text-too-long',
    line: line.lineNumber,
    message: `the message is ${line.byteCount} bytes of UTF-8; the limit is ${TEXT_BYTES_MAX}: shorten it or split it`,
  };
}

/**
 * The scriptable client: each input line is a message; `QUIT`, `/quit` or the end of input leaves
 * once every message sent so far is confirmed. Prints one JSON object per line; an error about an
 * input line, and the confirmation of a message, carry its 1-based `line`. `onLeaveRequest` receives
 * the function a signal handler calls to leave at once (after what was already sent). Returns the
 * exit code.
 */
export async function runJsonClient(
  connection: Connection,
  credentials: { readonly name: string; readonly password: string },
  input: Readable,
  out: (line: string) => void,
  onLeaveRequest: (leave: () => void) => void = () => undefined,
): Promise<number> {
  const inFlight = new InFlight();
  let closing: Extract<ClientEvent, { type: 'closed' }> | undefined;
  const byLine = new LineOrder(out);
  /** The input line being handed to the client right now: a refusal of it is emitted meanwhile. */
  let sayingLine: number | undefined;
  const { actor, outcome } = connection.login(credentials.name, credentials.password, (event) => {
    const json = clientEventJson(event);
    if (event.type === 'error' && sayingLine !== undefined) {
      byLine.settle(sayingLine, { ...json, line: sayingLine });
    } else if (event.type === 'message' && event.self) {
      byLine.confirm(json);
    } else if (event.type === 'reconnecting' || event.type === 'rejoined') {
      // Which input lines wait for the new session, and which it resent: the oldest unconfirmed ones
      // (lines typed while reconnecting follow them, and are sent, not resent).
      const count = event.type === 'reconnecting' ? event.unconfirmed : event.resent;
      out(jsonLine({ ...json, lines: byLine.unconfirmedLines().slice(0, count) }));
    } else {
      if (event.type === 'closed') {
        byLine.abandon();
        closing = event;
      }
      out(jsonLine(json));
    }
    inFlight.observe(event);
  });
  let leaving = false;
  onLeaveRequest(() => {
    leaving = true;
    inFlight.stop();
    actor.send({ type: 'chat.quit' });
  });
  const settled = await outcome;
  if (settled.kind !== 'welcome') {
    await inFlight.until(() => false);
    // A refusal is exit 3; a close says how (a QUIT asked for during the handshake is a clean 0).
    return settled.kind === 'closed' ? exitCodeFor(settled.event.reason) : 3;
  }
  const lines = readInputLines(input)[Symbol.asyncIterator]();
  while (closing === undefined && !leaving) {
    // Reading stops when the client closes or a signal asks to leave, even if the input stays open.
    const next = await Promise.race([lines.next(), inFlight.stopped]);
    if (next === 'stopped' || next.done === true || inFlight.closed || leaving) {
      break;
    }
    const line = next.value;
    await byLine.room(inFlight.stopped);
    if (inFlight.closed || leaving) {
      break;
    }
    if (line.kind !== 'text') {
      byLine.settle(line.lineNumber, unusableLineJson(line));
      continue;
    }
    if (isLeaveCommand(line.text)) {
      break;
    }
    await inFlight.until(() => inFlight.count < JSON_IN_FLIGHT_MAX);
    if (inFlight.closed || leaving) {
      break;
    }
    byLine.expect(line.lineNumber);
    sayingLine = line.lineNumber;
    const taken = say(actor, line.text).ok;
    sayingLine = undefined;
    if (taken) {
      inFlight.count += 1;
    }
  }
  if (!leaving) {
    await inFlight.until(() => inFlight.count === 0);
    if (!inFlight.closed) {
      actor.send({ type: 'chat.quit' });
    }
  }
  await inFlight.until(() => false);
  return closing === undefined ? 1 : exitCodeFor(closing.reason);
}
