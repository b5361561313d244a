import type { Environment, PeerAddress } from '../port.ts';
import type { Link } from './link.ts';

/** The one timer event a machine that owns a link schedules for it. */
export const LINK_TICK = 'link.tick';
export interface LinkTickEvent {
  readonly type: typeof LINK_TICK;
}

/** What a machine action can do with its timers: xstate's `enqueue.cancel` and delayed `enqueue.raise`. */
export interface TimerScheduler {
  cancel(id: string): void;
  raiseTick(delayMs: number): void;
}

/** The part of xstate's `enqueue` (in `enqueueActions`) that the link timer needs. */
export interface TickEnqueue {
  cancel(id: string): void;
  raise(event: LinkTickEvent, options: { readonly id: string; readonly delay: number }): void;
}

/** The scheduler an `enqueueActions` action hands the driver: one `link.tick`, by id. */
export function linkTimers(enqueue: TickEnqueue): TimerScheduler {
  return {
    cancel: (id) => enqueue.cancel(id),
    raiseTick: (delayMs) => enqueue.raise({ type: LINK_TICK }, { id: LINK_TICK, delay: delayMs }),
  };
}

/**
 * Drives a sans-I/O link from inside a machine: sends what the link wants sent and keeps exactly one
 * `link.tick` timer armed for the link's next deadline. The timer is re-armed only when the deadline
 * moves earlier; a tick that comes early (the idle deadline moved on) finds nothing due and re-arms,
 * so a busy link costs no timer churn per datagram.
 */
export class LinkDriver {
  readonly link: Link;
  readonly peer: PeerAddress;
  readonly #env: Environment;
  #armedAtMs: number | undefined;

  constructor(link: Link, peer: PeerAddress, env: Environment) {
    this.link = link;
    this.peer = peer;
    this.#env = env;
  }

  /** The environment's clock reading, for the link's calls that take the time. */
  now(): number {
    return this.#env.now();
  }

  /** Arms the tick for the link's next deadline if it is earlier than the one armed. */
  arm(timers: TimerScheduler): void {
    const nowMs = this.#env.now();
    const deadlineMs = this.link.nextDeadlineMs(nowMs);
    if (deadlineMs === undefined) {
      this.disarm(timers);
      return;
    }
    if (this.#armedAtMs !== undefined && this.#armedAtMs <= deadlineMs) {
      return;
    }
    // Cancelling a timer that already fired is harmless; two armed ticks never are.
    timers.cancel(LINK_TICK);
    this.#armedAtMs = deadlineMs;
    // Whole milliseconds, rounded up: a tick never fires before the deadline it was armed for.
    timers.raiseTick(Math.max(0, Math.ceil(deadlineMs - nowMs)));
  }

  disarm(timers: TimerScheduler): void {
    if (this.#armedAtMs !== undefined) {
      timers.cancel(LINK_TICK);
      this.#armedAtMs = undefined;
    }
  }

  /**
   * Handles a fired tick and arms the next one; returns false, arming nothing, when the tick found the
   * link dead. One action per tick, where a transient state would cost two transitions more.
   */
  tickAndRearm(timers: TimerScheduler): boolean {
    this.tick();
    if (this.link.dead !== undefined) {
      return false;
    }
    this.arm(timers);
    return true;
  }

  /** Handles a fired tick: runs the link's timers and sends what is due. */
  tick(): void {
    this.#armedAtMs = undefined;
    const nowMs = this.#env.now();
    this.link.handleTimeout(nowMs);
    this.flush();
  }

  /** Sends every datagram the link has ready now. */
  flush(): void {
    for (const datagram of this.link.poll(this.#env.now())) {
      this.#env.port.send(datagram, this.peer);
    }
  }
}
