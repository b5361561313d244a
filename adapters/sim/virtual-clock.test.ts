import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { VirtualClock } from './virtual-clock.ts';

const STEP_COUNT_MAX = 100_000;

test('timers fire in (deadline, insertion) order', (t) => {
  const clock = new VirtualClock();
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b@20'), 20);
  clock.setTimeout(() => fired.push('a@10'), 10);
  clock.setTimeout(() => fired.push('c@20'), 20);
  clock.setTimeout(() => fired.push('d@0'), 0);
  clock.runUntil(100, STEP_COUNT_MAX);
  t.deepEqual(fired, ['d@0', 'a@10', 'b@20', 'c@20']);
});

test('now() equals the deadline of the timer that is firing', (t) => {
  const clock = new VirtualClock(1000);
  const seen: number[] = [];
  for (const delayMs of [30, 5, 17.5]) {
    clock.setTimeout(() => seen.push(clock.now()), delayMs);
  }
  clock.runUntil(2000, STEP_COUNT_MAX);
  t.deepEqual(seen, [1005, 1017.5, 1030]);
  t.is(clock.now(), 2000);
});

test('step fires exactly one timer and reports when none is pending', (t) => {
  const clock = new VirtualClock();
  let count = 0;
  clock.setTimeout(() => count++, 5);
  clock.setTimeout(() => count++, 5);
  t.true(clock.step());
  t.is(count, 1);
  t.is(clock.pendingCount, 1);
  t.true(clock.step());
  t.false(clock.step());
  t.is(count, 2);
});

test('a cleared timer never fires and no longer counts as pending', (t) => {
  const clock = new VirtualClock();
  let fired = false;
  const id = clock.setTimeout(() => {
    fired = true;
  }, 10);
  clock.setTimeout(() => {}, 20);
  clock.clearTimeout(id);
  t.is(clock.pendingCount, 1);
  t.is(clock.nextDeadline(), 20);
  clock.runUntil(100, STEP_COUNT_MAX);
  t.false(fired);
});

test('a 0 ms timer set while firing runs in the same runUntil, after the timers already due then', (t) => {
  const clock = new VirtualClock();
  const fired: string[] = [];
  clock.setTimeout(() => {
    fired.push('first');
    clock.setTimeout(() => fired.push(`nested@${clock.now()}`), 0);
  }, 10);
  clock.setTimeout(() => fired.push('second'), 10);
  const result = clock.runUntil(10, STEP_COUNT_MAX);
  t.deepEqual(fired, ['first', 'second', 'nested@10']);
  t.is(result.steps, 3);
});

test('negative and NaN delays count as 0 ms', (t) => {
  const clock = new VirtualClock(50);
  clock.setTimeout(() => {}, -5);
  t.is(clock.nextDeadline(), 50);
  clock.step();
  clock.setTimeout(() => {}, Number.NaN);
  t.is(clock.nextDeadline(), 50);
});

test('runUntil never moves time backwards', (t) => {
  const clock = new VirtualClock(500);
  clock.runUntil(100, STEP_COUNT_MAX);
  t.is(clock.now(), 500);
});

test('runUntil reports an exhausted step budget and leaves time at the last fired timer', (t) => {
  const clock = new VirtualClock();
  // A livelock: each firing re-arms itself one millisecond later.
  const rearm = (): void => {
    clock.setTimeout(rearm, 1);
  };
  clock.setTimeout(rearm, 1);
  const result = clock.runUntil(1000, 10);
  t.deepEqual(result, { steps: 10, budgetExhausted: true });
  t.is(clock.now(), 10);
});

test('a budget exactly large enough is not reported as exhausted', (t) => {
  const clock = new VirtualClock();
  clock.setTimeout(() => {}, 1);
  clock.setTimeout(() => {}, 2);
  t.deepEqual(clock.runUntil(5, 2), { steps: 2, budgetExhausted: false });
  t.is(clock.now(), 5);
});

test('thousands of cancelled timers are compacted away without changing what fires', (t) => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  for (let index = 0; index < 10_000; index += 1) {
    const id = clock.setTimeout(() => fired.push(index), 10_000 - index);
    if (index % 10 !== 0) {
      clock.clearTimeout(id);
    }
  }
  t.is(clock.pendingCount, 1000);
  clock.runUntil(20_000, STEP_COUNT_MAX);
  t.is(fired.length, 1000);
  t.deepEqual(fired.slice(0, 3), [9990, 9980, 9970]);
});

const scheduleArb = fc.array(
  fc.record({
    delayMs: fc.integer({ min: 0, max: 50 }),
    cancel: fc.boolean(),
    nestedDelayMs: fc.option(fc.nat(50)),
  }),
  { maxLength: 200 },
);

testProp(
  'for any schedule, firing order is the stable sort of the uncancelled timers by deadline',
  [scheduleArb],
  (t, schedule) => {
    const clock = new VirtualClock();
    const fired: { readonly index: number; readonly at: number }[] = [];
    const ids = schedule.map(({ delayMs }, index) =>
      clock.setTimeout(() => fired.push({ index, at: clock.now() }), delayMs),
    );
    schedule.forEach(({ cancel }, index) => {
      if (cancel) {
        clock.clearTimeout(ids[index]);
      }
    });
    clock.runUntil(1000, STEP_COUNT_MAX);
    const expected = schedule
      .map(({ delayMs, cancel }, index) => ({ index, at: delayMs, cancel }))
      .filter(({ cancel }) => !cancel)
      .sort((a, b) => a.at - b.at)
      .map(({ index, at }) => ({ index, at }));
    t.deepEqual(fired, expected);
  },
);

testProp(
  'for any schedule with timers set while firing, each timer fires at its deadline and never before an earlier one',
  [scheduleArb],
  (t, schedule) => {
    const clock = new VirtualClock();
    const fired: { readonly key: number; readonly deadline: number; readonly at: number }[] = [];
    let keyNext = 0;
    const arm = (delayMs: number, nestedDelayMs: number | null): void => {
      const key = keyNext++;
      const deadline = clock.now() + delayMs;
      clock.setTimeout(() => {
        fired.push({ key, deadline, at: clock.now() });
        if (nestedDelayMs !== null) {
          arm(nestedDelayMs, null);
        }
      }, delayMs);
    };
    for (const { delayMs, nestedDelayMs } of schedule) {
      arm(delayMs, nestedDelayMs);
    }
    clock.runUntil(1000, STEP_COUNT_MAX);
    t.is(fired.length, keyNext);
    for (const [position, entry] of fired.entries()) {
      t.is(entry.at, entry.deadline);
      const previous = fired[position - 1];
      if (previous !== undefined) {
        t.true(
          previous.deadline < entry.deadline ||
            (previous.deadline === entry.deadline && previous.key < entry.key),
        );
      }
    }
  },
);

test('work deferred to the end of a step runs after the timer, before any other, at the same time', (t) => {
  const clock = new VirtualClock();
  const log: string[] = [];
  clock.setTimeout(() => {
    clock.afterStep(() => {
      log.push(`deferred at ${clock.now()}`);
      clock.afterStep(() => log.push('deferred by deferred'));
    });
    log.push('timer a');
  }, 10);
  clock.setTimeout(() => log.push('timer b'), 10);
  const { steps } = clock.runUntil(20, 100);
  t.deepEqual(log, ['timer a', 'deferred at 10', 'deferred by deferred', 'timer b']);
  // Deferred work is part of its step, not a step of its own.
  t.is(steps, 2);
});

test('work deferred outside a step waits for the next run, as a 0 ms timer', (t) => {
  const clock = new VirtualClock(5);
  let ranAt: number | undefined;
  clock.afterStep(() => {
    ranAt = clock.now();
  });
  t.is(ranAt, undefined);
  clock.runUntil(5, 10);
  t.is(ranAt, 5);
});
