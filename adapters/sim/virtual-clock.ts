import assert from 'node:assert/strict';
import type { Clock } from '../../engine/port.ts';

/**
 * Cancelled timers stay in the heap until they reach its top (lazy cancellation). Once the heap is
 * this large and more than half of it is dead, it is rebuilt, so that a machine that re-arms one
 * timer on every packet cannot grow it without bound.
 */
const HEAP_COMPACT_SIZE_MIN = 1024;

/** What {@link VirtualClock.runUntil} did. */
export interface RunUntilResult {
  /** How many timers fired. */
  readonly steps: number;
  /** True when timers were still due at the end: the run stopped early, a sign of a livelock. */
  readonly budgetExhausted: boolean;
}

/**
 * A deterministic clock for xstate (`createActor(machine, { clock })`) and for the simulated network.
 * Time moves only when a timer fires: timers fire one at a time, in (deadline, insertion) order, with
 * `now()` already moved to the firing timer's deadline, so a timer set from inside a callback sees
 * the time it was set at. Unlike xstate's `SimulatedClock`, a 0 ms timer set while firing runs in the
 * same {@link runUntil}, after the timers already due at that time.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * clock.setTimeout(() => console.log('at', clock.now()), 250);
 * clock.runUntil(1000, 10_000); // prints "at 250"; now() is then 1000
 * ```
 */
export class VirtualClock implements Clock {
  #nowMs: number;
  #idNext = 1;
  /** Live timers by id; a cancelled timer is absent here but may linger in the heap. */
  readonly #callbacks = new Map<number, () => void>();
  // A binary min-heap of (deadline, id) pairs kept in two parallel arrays: one allocation per timer
  // (the map entry) instead of one object per timer. The id doubles as the insertion counter.
  readonly #deadlines: number[] = [];
  readonly #ids: number[] = [];
  /** Work to run when the timer firing now returns (see {@link afterStep}); undefined between steps. */
  #afterStepQueue: (() => void)[] | undefined;

  constructor(startMs = 0) {
    assert.ok(Number.isFinite(startMs), `the start time must be finite, got ${startMs}`);
    this.#nowMs = startMs;
  }

  /** The virtual time in ms. An arrow property, so it can be passed around unbound. */
  readonly now = (): number => this.#nowMs;

  /** How many timers are set and neither fired nor cleared. */
  get pendingCount(): number {
    return this.#callbacks.size;
  }

  /** Schedules `fn` at `now() + timeoutMs`; a negative or NaN delay counts as 0. Returns the timer id. */
  setTimeout(fn: () => void, timeoutMs: number): number {
    // Math.max would keep NaN, which would sort nowhere in the heap.
    const delayMs = Number.isNaN(timeoutMs) ? 0 : Math.max(timeoutMs, 0);
    const id = this.#idNext;
    this.#idNext += 1;
    this.#callbacks.set(id, fn);
    this.#push(this.#nowMs + delayMs, id);
    return id;
  }

  /** Cancels a timer; unknown or already fired ids are ignored, as with the real `clearTimeout`. */
  clearTimeout(id: unknown): void {
    if (typeof id === 'number' && this.#callbacks.delete(id)) {
      this.#compactIfSparse();
    }
  }

  /**
   * Runs `work` when the timer firing now has returned, before any other timer, at the same time: the
   * simulation's end of a turn (the engine's `Environment.afterTurn`). Work deferred by deferred work
   * runs in the same step, in order. Outside a step (a test driving machines by hand), `work` becomes
   * a 0 ms timer. An arrow property, so it can be passed around unbound.
   */
  readonly afterStep = (work: () => void): void => {
    if (this.#afterStepQueue === undefined) {
      this.setTimeout(work, 0);
    } else {
      this.#afterStepQueue.push(work);
    }
  };

  /** The deadline of the next timer to fire, or undefined when none is pending. */
  nextDeadline(): number | undefined {
    this.#discardCancelledTop();
    return this.#ids.length === 0 ? undefined : this.#deadlines[0];
  }

  /**
   * Fires exactly one timer, the pending one with the smallest (deadline, insertion) pair, after
   * moving `now()` to its deadline (never backwards). Returns false when no timer is pending.
   */
  step(): boolean {
    this.#discardCancelledTop();
    const deadlineMs = this.#deadlines[0];
    const id = this.#ids[0];
    if (deadlineMs === undefined || id === undefined) {
      return false;
    }
    this.#pop();
    const callback = this.#callbacks.get(id);
    assert.ok(callback !== undefined, `timer ${id} is at the top of the heap but not live`);
    this.#callbacks.delete(id);
    this.#nowMs = Math.max(this.#nowMs, deadlineMs);
    const queue: (() => void)[] = [];
    this.#afterStepQueue = queue;
    try {
      callback();
      // Each piece of deferred work may defer more; the queue grows as it is read.
      for (let index = 0; index < queue.length; index += 1) {
        queue[index]?.();
      }
    } finally {
      this.#afterStepQueue = undefined;
    }
    return true;
  }

  /**
   * Fires, one at a time, every timer whose deadline is at most `timeMs` (including timers set during
   * the run), then moves `now()` to `timeMs`. Stops after `stepCountMax` timers if more are still due;
   * `now()` then stays at the last fired deadline. `afterStep` runs after every timer (a simulation
   * checks its invariants there).
   */
  runUntil(timeMs: number, stepCountMax: number, afterStep?: () => void): RunUntilResult {
    let steps = 0;
    for (;;) {
      const deadlineMs = this.nextDeadline();
      if (deadlineMs === undefined || deadlineMs > timeMs) {
        break;
      }
      if (steps >= stepCountMax) {
        return { steps, budgetExhausted: true };
      }
      this.step();
      steps += 1;
      afterStep?.();
    }
    this.#nowMs = Math.max(this.#nowMs, timeMs);
    return { steps, budgetExhausted: false };
  }

  #discardCancelledTop(): void {
    for (;;) {
      const id = this.#ids[0];
      if (id === undefined || this.#callbacks.has(id)) {
        return;
      }
      this.#pop();
    }
  }

  #compactIfSparse(): void {
    const heapSize = this.#ids.length;
    if (heapSize < HEAP_COMPACT_SIZE_MIN || heapSize <= 2 * this.#callbacks.size) {
      return;
    }
    let kept = 0;
    for (let index = 0; index < heapSize; index += 1) {
      const id = this.#ids[index] ?? 0;
      if (this.#callbacks.has(id)) {
        this.#ids[kept] = id;
        this.#deadlines[kept] = this.#deadlines[index] ?? 0;
        kept += 1;
      }
    }
    this.#ids.length = kept;
    this.#deadlines.length = kept;
    for (let index = (kept >> 1) - 1; index >= 0; index -= 1) {
      this.#siftDown(index);
    }
  }

  /** Whether the entry at heap index `a` fires before the one at `b`. */
  #before(a: number, b: number): boolean {
    const deadlineA = this.#deadlines[a] ?? Number.POSITIVE_INFINITY;
    const deadlineB = this.#deadlines[b] ?? Number.POSITIVE_INFINITY;
    if (deadlineA !== deadlineB) {
      return deadlineA < deadlineB;
    }
    return (this.#ids[a] ?? 0) < (this.#ids[b] ?? 0);
  }

  #swap(a: number, b: number): void {
    const deadlineA = this.#deadlines[a] ?? 0;
    const idA = this.#ids[a] ?? 0;
    this.#deadlines[a] = this.#deadlines[b] ?? 0;
    this.#ids[a] = this.#ids[b] ?? 0;
    this.#deadlines[b] = deadlineA;
    this.#ids[b] = idA;
  }

  #push(deadlineMs: number, id: number): void {
    this.#deadlines.push(deadlineMs);
    this.#ids.push(id);
    let index = this.#ids.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#before(index, parent)) {
        return;
      }
      this.#swap(index, parent);
      index = parent;
    }
  }

  #pop(): void {
    const last = this.#ids.length - 1;
    this.#swap(0, last);
    this.#deadlines.pop();
    this.#ids.pop();
    this.#siftDown(0);
  }

  #siftDown(start: number): void {
    const size = this.#ids.length;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let first = index;
      if (left < size && this.#before(left, first)) {
        first = left;
      }
      if (right < size && this.#before(right, first)) {
        first = right;
      }
      if (first === index) {
        return;
      }
      this.#swap(index, first);
      index = first;
    }
  }
}
