import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { createRandom, type Random } from './random.ts';

const DRAW_COUNT = 64;

function draws(random: Random, count = DRAW_COUNT): number[] {
  return Array.from({ length: count }, () => random.nextUint32());
}

const seedArb = fc.integer({ min: 0, max: 0xffff_ffff });

testProp('the same seed gives the same stream', [seedArb], (t, seed) => {
  t.deepEqual(draws(createRandom(seed)), draws(createRandom(seed)));
});

test('the stream of a fixed seed never changes (a replay on another machine sees the same bytes)', (t) => {
  // Pinned values: a change here silently breaks every recorded seed.
  t.deepEqual(draws(createRandom(1), 4), [1828152527, 3394835397, 2967886022, 2251045104]);
  t.is(Buffer.from(createRandom(42).bytes(8)).toString('hex'), '875a533df0eafe95');
});

testProp('different seeds give different streams', [seedArb, seedArb], (t, a, b) => {
  fc.pre(a !== b);
  t.notDeepEqual(draws(createRandom(a), 4), draws(createRandom(b), 4));
});

testProp('forking does not advance the parent', [seedArb, fc.string()], (t, seed, label) => {
  const forked = createRandom(seed);
  forked.fork(label).nextUint32();
  t.deepEqual(draws(forked), draws(createRandom(seed)));
});

testProp(
  'a fork depends only on the parent seed and its label, not on when it is made',
  [seedArb, fc.string(), fc.nat(100)],
  (t, seed, label, drawnBefore) => {
    const early = createRandom(seed).fork(label);
    const parent = createRandom(seed);
    draws(parent, drawnBefore);
    t.deepEqual(draws(parent.fork(label)), draws(early));
  },
);

testProp(
  'forks with different labels give different streams',
  [seedArb, fc.string(), fc.string()],
  (t, seed, a, b) => {
    fc.pre(a !== b);
    const parent = createRandom(seed);
    t.notDeepEqual(draws(parent.fork(a), 4), draws(parent.fork(b), 4));
  },
);

testProp('a fork does not replay its parent', [seedArb, fc.string()], (t, seed, label) => {
  const parent = createRandom(seed);
  t.notDeepEqual(draws(parent.fork(label), 4), draws(parent, 4));
});

testProp(
  'integer(min, max) stays within [min, max]',
  [seedArb, fc.integer({ min: -1e6, max: 1e6 }), fc.nat(0xffff_ffff)],
  (t, seed, min, span) => {
    const random = createRandom(seed);
    for (let index = 0; index < DRAW_COUNT; index += 1) {
      const value = random.integer(min, min + span);
      t.true(Number.isInteger(value) && value >= min && value <= min + span);
    }
  },
);

test('integer covers every value of a small range', (t) => {
  const random = createRandom(7);
  const seen = new Set(Array.from({ length: 600 }, () => random.integer(1, 6)));
  t.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6]);
});

test('nextFloat stays in [0, 1) and averages about one half', (t) => {
  const random = createRandom(3);
  const values = Array.from({ length: 10_000 }, () => random.nextFloat());
  t.true(values.every((value) => value >= 0 && value < 1));
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  t.true(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
});

testProp(
  'bytes(n) returns n bytes, and a request is a prefix of a longer one',
  [seedArb, fc.nat(40)],
  (t, seed, n) => {
    const bytes = createRandom(seed).bytes(n);
    t.is(bytes.length, n);
    t.deepEqual(
      bytes,
      createRandom(seed)
        .bytes(n + 4)
        .subarray(0, n),
    );
  },
);

test('a bad range or count is refused loudly', (t) => {
  const random = createRandom(0);
  t.throws(() => random.integer(2, 1));
  t.throws(() => random.integer(0, 2 ** 33));
  t.throws(() => random.bytes(-1));
  t.throws(() => createRandom(0.5));
});
