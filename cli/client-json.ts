import type { ClientEvent } from '../engine/index.ts';
import { countWords } from './server-log.ts';
import { fingerprint } from './state-dir.ts';

/**
 * A client event as the JSON mode's contract prints it: one object with a `type`. The fields named in
 * the README may not change; others may be added.
 */
export function clientEventJson(event: ClientEvent): Record<string, unknown> {
  switch (event.type) {
    case 'welcome':
    case 'rejoined':
      return {
        type: event.type,
        name: event.name,
        members: event.members,
        seq: event.roomSeq,
        serverKey:
          event.serverKey === ''
            ? undefined
            : fingerprint(Uint8Array.from(Buffer.from(event.serverKey, 'hex'))),
        ...(event.type === 'rejoined' ? { resent: event.resent } : {}),
      };
    case 'reconnecting':
      return { type: 'reconnecting', unconfirmed: event.unconfirmed, message: event.message };
    case 'joined':
      return { type: 'joined', name: event.name, seq: event.roomSeq };
    case 'message':
      return {
        type: 'message',
        from: event.from,
        text: event.text,
        seq: event.roomSeq,
        // A time no date can hold (a hostile server's) is given as the number it was.
        time: Number.isNaN(new Date(event.timeMs).getTime())
          ? event.timeMs
          : new Date(event.timeMs).toISOString(),
        self: event.self,
      };
    case 'left':
      return { type: 'left', name: event.name, reason: event.reason, seq: event.roomSeq };
    case 'rejected':
      return { type: 'rejected', reason: event.reason, message: event.message };
    case 'retrying':
      return {
        type: 'retrying',
        attempt: event.attempt,
        attemptCountMax: event.attemptCountMax,
        message: event.message,
      };
    case 'slowed':
      return {
        type: 'slowed',
        ratePerSecond: event.ratePerSecond,
        burst: event.burst,
        message: event.message,
      };
    case 'waiting':
      return {
        type: 'waiting',
        reason: event.reason,
        retryAfterMs: event.retryAfterMs,
        message: event.message,
      };
    case 'closed':
      return { type: 'closed', reason: event.reason, message: event.message };
    case 'error':
      return { type: 'error', message: event.message, code: event.code };
  }
}

/** An error the command itself reports in JSON mode (not one of the engine's events). */
export function errorJson(message: string): Record<string, unknown> {
  return { type: 'error', message };
}

/**
 * What the JSON client writes in place of the lines a reader too slow for its output cost it (its
 * output is bounded, bounded-output.ts): how many were dropped, once the output drains or before exit.
 */
export function outputDroppedJson(count: number): Record<string, unknown> {
  return {
    type: 'output.dropped',
    count,
    message: `${countWords(count)} output ${count === 1 ? 'line was' : 'lines were'} dropped: standard output was not read fast enough`,
  };
}
