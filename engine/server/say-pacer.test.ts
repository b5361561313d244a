import test from 'ava';
import { SAYS_UNCONFIRMED_MAX, type SayFrame } from '../codec/frames.ts';
import { SayPacer } from './say-pacer.ts';

function say(line: number): SayFrame {
  return { type: 'say', msgSeq: line, line, text: `line ${line}` };
}

test('a burst goes at once; past it, texts wait in order and go at the rate, none lost', (t) => {
  const pacer = new SayPacer({ sayRatePerSecond: 4, sayBurst: 3 }, 0);
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map((line) => pacer.offer(say(line), 0)),
    ['relay', 'relay', 'relay', 'wait', 'wait', 'wait'],
  );
  t.is(pacer.waitingCount, 3);
  t.is(pacer.nextAtMs(), 250);
  t.deepEqual(pacer.due(249), []);
  t.deepEqual(
    pacer.due(250).map((frame) => frame.line),
    [4],
  );
  t.is(pacer.nextAtMs(), 500);
  // A text offered while others wait waits behind them, even with a token to spare.
  t.is(pacer.offer(say(7), 600), 'wait');
  t.deepEqual(
    pacer.due(750).map((frame) => frame.line),
    [5, 6],
  );
  t.deepEqual(
    pacer.due(1000).map((frame) => frame.line),
    [7],
  );
  t.is(pacer.nextAtMs(), undefined);
});

test('a member past the unconfirmed window is a flooder (overflow); what waits can all be taken at a QUIT', (t) => {
  const pacer = new SayPacer({ sayRatePerSecond: 1, sayBurst: 1 }, 0);
  t.is(pacer.offer(say(1), 0), 'relay');
  for (let line = 2; line <= SAYS_UNCONFIRMED_MAX + 1; line += 1) {
    t.is(pacer.offer(say(line), 0), 'wait');
  }
  t.is(pacer.offer(say(SAYS_UNCONFIRMED_MAX + 2), 0), 'overflow');
  const all = pacer.takeAll();
  t.is(all.length, SAYS_UNCONFIRMED_MAX);
  t.deepEqual(
    all.map((frame) => frame.line),
    Array.from({ length: SAYS_UNCONFIRMED_MAX }, (_, index) => index + 2),
  );
  t.is(pacer.waitingCount, 0);
});

test('the bucket refills to its burst and no further', (t) => {
  const pacer = new SayPacer({ sayRatePerSecond: 10, sayBurst: 2 }, 0);
  const verdicts = [1, 2, 3].map((line) => pacer.offer(say(line), 60_000));
  t.deepEqual(verdicts, ['relay', 'relay', 'wait']);
});

test("texts waiting further on (for the room's share) count toward the window: with them, one more is overflow", (t) => {
  const pacer = new SayPacer({ sayRatePerSecond: 1, sayBurst: 5 }, 0);
  t.is(pacer.offer(say(1), 0, SAYS_UNCONFIRMED_MAX - 1), 'relay');
  t.is(pacer.offer(say(2), 0, SAYS_UNCONFIRMED_MAX), 'overflow');
  t.is(pacer.waitingCount, 0);
});
