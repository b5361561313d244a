import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { AckRanges } from './ack-ranges.ts';

test('adding in order keeps one range', (t) => {
  const ranges = new AckRanges(16);
  for (let packetNumber = 0; packetNumber < 5; packetNumber += 1) {
    ranges.add(packetNumber);
  }
  t.deepEqual(ranges.ranges, [{ smallest: 0, largest: 4 }]);
});

test('a gap splits ranges and filling it joins them', (t) => {
  const ranges = new AckRanges(16);
  for (const packetNumber of [0, 1, 3, 4]) {
    ranges.add(packetNumber);
  }
  t.deepEqual(ranges.ranges, [
    { smallest: 3, largest: 4 },
    { smallest: 0, largest: 1 },
  ]);
  t.true(ranges.add(2));
  t.deepEqual(ranges.ranges, [{ smallest: 0, largest: 4 }]);
});

test('adding a number twice reports the duplicate', (t) => {
  const ranges = new AckRanges(16);
  t.true(ranges.add(7));
  t.false(ranges.add(7));
});

testProp(
  'the ranges hold exactly the numbers added, sorted from the largest down, disjoint and not adjacent',
  [fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 120 })],
  (t, numbers) => {
    const ranges = new AckRanges(1000);
    for (const packetNumber of numbers) {
      ranges.add(packetNumber);
    }
    const covered = ranges.ranges.flatMap((range) =>
      Array.from({ length: range.largest - range.smallest + 1 }, (_, offset) => range.smallest + offset),
    );
    t.deepEqual(
      covered.sort((a, b) => a - b),
      [...new Set(numbers)].sort((a, b) => a - b),
    );
    for (let index = 1; index < ranges.ranges.length; index += 1) {
      const above = ranges.ranges[index - 1];
      const below = ranges.ranges[index];
      t.true(above !== undefined && below !== undefined && below.largest + 1 < above.smallest);
    }
  },
);

test('past the bound the oldest range is forgotten', (t) => {
  const ranges = new AckRanges(2);
  for (const packetNumber of [0, 2, 4]) {
    ranges.add(packetNumber);
  }
  t.deepEqual(ranges.ranges, [
    { smallest: 4, largest: 4 },
    { smallest: 2, largest: 2 },
  ]);
});

test('past its range limit the oldest range is forgotten, and every number up to it counts as seen', (t) => {
  const ranges = new AckRanges(2);
  for (const packetNumber of [0, 2, 4]) {
    t.true(ranges.add(packetNumber));
  }
  t.deepEqual(ranges.ranges, [
    { smallest: 4, largest: 4 },
    { smallest: 2, largest: 2 },
  ]);
  t.false(ranges.add(0), 'a forgotten number is still seen');
  t.true(ranges.has(0));
  // A number above the forgotten range that was never seen is still news.
  t.true(ranges.add(1));
});
