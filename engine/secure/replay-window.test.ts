import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { REPLAY_WINDOW_BITS_DEFAULT, REPLAY_WINDOW_BITS_MIN, ReplayWindow } from './replay-window.ts';

/** Checks and accepts as a receiver does (the AEAD assumed to verify); whether it was accepted. */
function receive(window: ReplayWindow, packetNumber: number): boolean {
  if (!window.wouldAccept(packetNumber)) {
    return false;
  }
  window.accept(packetNumber);
  return true;
}

test('the default window is 2048 packets, and none smaller than 1024 or not a multiple of 32 is allowed', (t) => {
  t.is(new ReplayWindow().sizeBits, REPLAY_WINDOW_BITS_DEFAULT);
  t.is(REPLAY_WINDOW_BITS_DEFAULT, 2048);
  t.is(REPLAY_WINDOW_BITS_MIN, 1024);
  t.is(new ReplayWindow(1024).sizeBits, 1024);
  for (const sizeBits of [0, 992, 1025, 1040, 2048.5, Number.NaN]) {
    t.throws(() => new ReplayWindow(sizeBits), { message: /replay window/ }, `${sizeBits}`);
  }
});

test('the first packet is accepted whatever its number, and sets the highest', (t) => {
  for (const first of [0, 1, 31, 32, 5000, 2 ** 32 - 1]) {
    const window = new ReplayWindow();
    t.is(window.highest, undefined);
    t.true(receive(window, first));
    t.is(window.highest, first);
  }
});

test('a duplicate is refused, and so is accepting it', (t) => {
  const window = new ReplayWindow();
  t.true(receive(window, 7));
  t.false(window.wouldAccept(7));
  t.throws(() => window.accept(7), { message: /replay or too old/ });
  t.true(receive(window, 3));
  t.false(receive(window, 3));
});

test('wouldAccept changes nothing: a packet that fails the AEAD leaves the window as it was', (t) => {
  const window = new ReplayWindow();
  window.accept(10);
  t.true(window.wouldAccept(100_000));
  t.is(window.highest, 10);
  t.true(window.wouldAccept(9));
  t.true(receive(window, 9));
});

test('packets in order are all accepted once', (t) => {
  const window = new ReplayWindow();
  for (let packetNumber = 0; packetNumber < 10_000; packetNumber += 1) {
    t.true(window.wouldAccept(packetNumber));
    window.accept(packetNumber);
    t.false(window.wouldAccept(packetNumber));
  }
  t.is(window.highest, 9999);
  // Every number still inside the window is remembered.
  for (let packetNumber = 9999 - 2047; packetNumber <= 9999; packetNumber += 1) {
    t.false(window.wouldAccept(packetNumber));
  }
});

test('out of order within the window is accepted, each number once', (t) => {
  const window = new ReplayWindow();
  t.true(receive(window, 2047));
  for (let packetNumber = 2046; packetNumber >= 0; packetNumber -= 2) {
    t.true(receive(window, packetNumber), `${packetNumber}`);
  }
  for (let packetNumber = 0; packetNumber <= 2047; packetNumber += 1) {
    t.is(
      window.wouldAccept(packetNumber),
      packetNumber % 2 === 1 && packetNumber !== 2047,
      `${packetNumber}`,
    );
  }
});

test('the window holds exactly sizeBits numbers: highest - size + 1 is in, highest - size is out', (t) => {
  for (const sizeBits of [1024, 2048]) {
    const window = new ReplayWindow(sizeBits);
    window.accept(10_000);
    t.true(window.wouldAccept(10_000 - sizeBits + 1));
    t.false(window.wouldAccept(10_000 - sizeBits), 'just outside, although never seen');
    t.false(window.wouldAccept(0));
    t.true(receive(window, 10_000 - sizeBits + 1));
    // One more forward and that number has fallen out, as have the numbers of its block.
    window.accept(10_001);
    t.false(window.wouldAccept(10_000 - sizeBits + 1));
    t.true(window.wouldAccept(10_000 - sizeBits + 2));
  }
});

test('a huge jump forgets the whole map', (t) => {
  const window = new ReplayWindow(1024);
  for (let packetNumber = 0; packetNumber < 1024; packetNumber += 1) {
    window.accept(packetNumber);
  }
  const far = 1023 + 1024 * 40 + 5;
  t.true(receive(window, far));
  for (let packetNumber = far - 1023; packetNumber < far; packetNumber += 1) {
    t.true(window.wouldAccept(packetNumber), `${packetNumber}`);
  }
  t.false(window.wouldAccept(1023));
});

test('a jump of one ring less a block keeps the numbers still inside: the redundant block', (t) => {
  // 1024 bits: a ring of 33 blocks. Block 33 (1056..1087) sits in slot 0; block 65 (2080..) in slot 32.
  const window = new ReplayWindow(1024);
  for (let packetNumber = 1056; packetNumber < 1088; packetNumber += 1) {
    window.accept(packetNumber);
  }
  window.accept(2080);
  t.false(window.wouldAccept(1056), 'too old now: 2080 - 1024');
  for (let packetNumber = 1057; packetNumber < 1088; packetNumber += 1) {
    t.false(window.wouldAccept(packetNumber), `${packetNumber} is still remembered`);
  }
  for (let packetNumber = 1088; packetNumber < 2080; packetNumber += 1) {
    t.true(window.wouldAccept(packetNumber), `${packetNumber} was never seen`);
  }
  // Block 66 reuses slot 0: block 33's bits go, and with them nothing inside the window.
  window.accept(2112);
  for (let packetNumber = 2112 - 1023; packetNumber < 2112; packetNumber += 1) {
    t.is(window.wouldAccept(packetNumber), packetNumber !== 2080, `${packetNumber}`);
  }
});

test('the block index wraps around the ring many times without losing or inventing a bit', (t) => {
  const window = new ReplayWindow(1024);
  // Accept every seventh number over many turns of the ring (33 blocks, 1056 numbers a turn): 7 does
  // not divide 1056, so a bit left over from an earlier turn would sit where this turn has a gap.
  for (let packetNumber = 0; packetNumber < 20_000; packetNumber += 7) {
    t.true(receive(window, packetNumber));
  }
  const highest = window.highest ?? 0;
  for (let packetNumber = highest - 1023; packetNumber <= highest; packetNumber += 1) {
    t.is(window.wouldAccept(packetNumber), packetNumber % 7 !== 0, `${packetNumber}`);
  }
});

test('bit 31 of a block works like any other', (t) => {
  const window = new ReplayWindow();
  t.true(receive(window, 31));
  t.true(receive(window, 63));
  t.false(window.wouldAccept(31));
  t.false(window.wouldAccept(63));
  t.true(window.wouldAccept(30));
  t.true(window.wouldAccept(62));
});

test('packet numbers that are not non-negative safe integers are refused', (t) => {
  const window = new ReplayWindow();
  for (const packetNumber of [-1, 0.5, Number.NaN, 2 ** 53]) {
    t.throws(() => window.wouldAccept(packetNumber), { message: /packet number/ });
  }
});

/** The window as its contract states it, without any bitmap. */
class ReferenceWindow {
  readonly #accepted = new Set<number>();
  #highest: number | undefined;

  constructor(readonly sizeBits: number) {}

  get highest(): number | undefined {
    return this.#highest;
  }

  receive(packetNumber: number): boolean {
    const fresh =
      !this.#accepted.has(packetNumber) &&
      (this.#highest === undefined || packetNumber > this.#highest - this.sizeBits);
    if (fresh) {
      this.#accepted.add(packetNumber);
      this.#highest = Math.max(this.#highest ?? packetNumber, packetNumber);
    }
    return fresh;
  }
}

const offsetArb = fc.integer({ min: -40, max: 40 });

/**
 * A few arriving packets, given relative to what came before so that a random sequence keeps hitting
 * the interesting places: a burst going forward, every number or every second or third (which fills
 * the bitmap densely but with gaps that later packets fall into, so that a bit left behind or wrongly
 * cleared shows), near the highest on both sides, around the window's far edge, a
 * repeat of a recent or of any earlier number, or a jump: of any size, or about the window's size
 * or whole turns of the ring (where one block too many or too few cleared shows).
 */
const stepArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('burst'),
      count: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 500, max: 1500 })),
      stride: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('near'), offset: offsetArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('edge'), offset: offsetArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('repeat-recent'), index: fc.nat({ max: 99 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('repeat-any'), index: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('jump'), offset: fc.integer({ min: 1, max: 1500 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('leap'),
      turns: fc.integer({ min: 0, max: 3 }),
      offset: offsetArb,
    }),
  },
);
type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

/** The packet numbers that `step` sends, given the model's state so far. */
function packetNumbersOf(step: Step, highest: number, seen: readonly number[], sizeBits: number): number[] {
  const at = (packetNumber: number): number[] => [Math.max(0, packetNumber)];
  const ringBits = sizeBits + 32;
  switch (step.kind) {
    case 'burst':
      return Array.from({ length: step.count }, (_, index) => highest + step.stride * (index + 1));
    case 'near':
      return at(highest + step.offset);
    case 'edge':
      return at(highest - sizeBits + step.offset);
    case 'repeat-recent':
      return at(seen[Math.max(0, seen.length - 1 - step.index)] ?? highest);
    case 'repeat-any':
      return at(seen[step.index % seen.length] ?? highest);
    case 'jump':
      return at(highest + step.offset);
    case 'leap':
      return at(highest + (step.turns === 0 ? sizeBits : step.turns * ringBits) + step.offset);
  }
}

testProp(
  'the window agrees exactly with the reference model over random sequences',
  [
    fc.constantFrom(1024, 1056, 2048),
    fc.nat({ max: 2 ** 32 }),
    fc.array(stepArb, { minLength: 1, maxLength: 300 }),
  ],
  (t, sizeBits, start, steps) => {
    const window = new ReplayWindow(sizeBits);
    const model = new ReferenceWindow(sizeBits);
    const seen: number[] = [];
    const verdicts: [number, boolean][] = [];
    const expected: [number, boolean][] = [];
    for (const step of steps) {
      const highest = model.highest;
      for (const packetNumber of highest === undefined
        ? [start]
        : packetNumbersOf(step, highest, seen, sizeBits)) {
        const accepted = window.wouldAccept(packetNumber);
        verdicts.push([packetNumber, accepted]);
        expected.push([packetNumber, model.receive(packetNumber)]);
        if (accepted) {
          window.accept(packetNumber);
        }
        seen.push(packetNumber);
      }
    }
    t.deepEqual(verdicts, expected);
    t.is(window.highest, model.highest);
  },
  { numRuns: 300 },
);
