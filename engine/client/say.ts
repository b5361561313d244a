import type { ClientConfig } from '../config.ts';
import { validateText } from '../names.ts';
import type { ClientErrorCode } from './client-events.ts';
import type { OwnLines } from './own-lines.ts';

/** Whether the client takes a text: the answer `say` returns, and what the machine emits when it refuses. */
export type SayResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: ClientErrorCode; readonly message: string };

/** Where the client is, for what it can do with a text. */
export type ClientPhase = 'handshaking' | 'joined' | 'leaving' | 'closed';

/** The part of the client's state a verdict reads. */
export interface SayState {
  readonly config: ClientConfig;
  readonly own: OwnLines;
}

const TAKEN: SayResult = Object.freeze({ ok: true });

/**
 * Whether the client, in this state, takes `text` to send: the one verdict the machine acts on and
 * the `say` function returns, so the two never disagree.
 */
export function sayVerdict(state: SayState, phase: ClientPhase, text: string): SayResult {
  if (phase === 'leaving' || phase === 'closed') {
    const message =
      phase === 'leaving'
        ? 'the client is leaving; the message was not sent'
        : 'the client has closed; the message was not sent';
    return { ok: false, code: 'not-open', message };
  }
  const validation = validateText(text);
  if (!validation.ok) {
    const code =
      text.trim().length === 0 ? 'text-empty' : text.isWellFormed() ? 'text-too-long' : 'text-malformed';
    return { ok: false, code, message: validation.message };
  }
  // Every text waits, in the send queue or for its confirmation, until the server confirms it; two
  // places in the queue are kept, for the CLAIM that goes before them in a rejoin and for the BYE, so
  // that QUIT always goes out.
  const queueCountMax = state.config.link.sendQueueCountMax - 2;
  const waiting = state.own.count;
  if (waiting >= queueCountMax) {
    return {
      ok: false,
      code: 'send-queue-full',
      message: `${queueCountMax} messages are waiting to be sent; wait for them`,
    };
  }
  return TAKEN;
}
