import type { ClientConfig } from '../config.ts';
import { validateText } from '../names.ts';
import type { ClientErrorCode } from './client-events.ts';
import type { ClientSession } from './session.ts';

/** Whether the client takes a text: the answer `say` returns, and what the machine emits when it refuses. */
export type SayResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: ClientErrorCode; readonly message: string };

/** Where the client is, for what it can do with a text. */
export type ClientPhase = 'handshaking' | 'joined' | 'leaving' | 'closed';

/** The part of the client's state a verdict reads. */
export interface SayState {
  readonly config: ClientConfig;
  readonly pendingTexts: readonly string[];
  readonly session: ClientSession | undefined;
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
  // One place in the send queue is kept for the BYE, so that QUIT always goes out.
  const queueCountMax = state.config.link.sendQueueCountMax - 1;
  const waiting = state.session === undefined ? state.pendingTexts.length : state.session.link.sendQueueCount;
  if (waiting >= queueCountMax) {
    return {
      ok: false,
      code: 'send-queue-full',
      message: `${queueCountMax} messages are waiting to be sent; wait for them`,
    };
  }
  return TAKEN;
}
