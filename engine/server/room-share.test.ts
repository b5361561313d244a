import test from 'ava';
import type { SayFrame } from '../codec/frames.ts';
import { RoomShare } from './room-share.ts';

function say(line: number): SayFrame {
  return { type: 'say', msgSeq: line, line, text: `line ${line}` };
}

/** Who said what, in the order the room let them go. */
function turns(share: RoomShare<string>, nowMs: number): string[] {
  return share.due(nowMs).map(([author, frame]) => `${author}${frame.line}`);
}

test("the room's burst goes at once; past it the authors take turns, one text each, each author's in order", (t) => {
  const share = new RoomShare<string>({ roomSayRatePerSecond: 10, roomSayBurst: 3 }, 0);
  for (const line of [1, 2, 3]) {
    t.true(share.offer('ana', say(line), 0));
  }
  // Ana's flood first, then one text each from Budi and Citra: they do not wait behind all of it.
  for (const line of [4, 5, 6, 7]) {
    t.false(share.offer('ana', say(line), 0));
  }
  t.false(share.offer('budi', say(1), 0));
  t.false(share.offer('citra', say(1), 0));
  t.is(share.waitingCount, 6);
  t.is(share.authorCount, 3);
  t.is(share.waitingOf('ana'), 4);
  t.is(share.nextAtMs(), 100);
  t.deepEqual(turns(share, 99), []);
  t.deepEqual(turns(share, 300), ['ana4', 'budi1', 'citra1']);
  t.deepEqual(turns(share, 500), ['ana5', 'ana6']);
  // A newcomer waits behind nobody's whole queue: one turn.
  t.false(share.offer('dewi', say(1), 500));
  t.deepEqual(turns(share, 700), ['ana7', 'dewi1']);
  t.is(share.nextAtMs(), undefined);
  t.is(share.waitingCount, 0);
  // Nobody waits and the bucket has refilled: the next text goes at once.
  t.true(share.offer('budi', say(2), 10_000));
});

test('a text offered while others wait waits, even with tokens to spare: no author jumps the turns', (t) => {
  const share = new RoomShare<string>({ roomSayRatePerSecond: 1, roomSayBurst: 1 }, 0);
  t.true(share.offer('ana', say(1), 0));
  t.false(share.offer('ana', say(2), 0));
  t.false(share.offer('budi', say(1), 5000));
  t.deepEqual(turns(share, 5000), ['ana2']);
  t.deepEqual(turns(share, 6000), ['budi1']);
});

test('a quitting author takes its waiting texts back in order; one that left is forgotten with them', (t) => {
  const share = new RoomShare<string>({ roomSayRatePerSecond: 1, roomSayBurst: 1 }, 0);
  share.offer('ana', say(1), 0);
  for (const line of [2, 3]) {
    share.offer('ana', say(line), 0);
  }
  share.offer('budi', say(1), 0);
  share.offer('citra', say(1), 0);
  t.deepEqual(
    share.takeAll('ana').map((frame) => frame.line),
    [2, 3],
  );
  t.deepEqual(share.takeAll('ana'), []);
  share.forget('budi');
  t.is(share.waitingCount, 1);
  t.is(share.waitingOf('budi'), 0);
  t.deepEqual(turns(share, 1000), ['citra1']);
});
