import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { Deadlines } from './deadlines.ts';

type Operation =
  | { readonly kind: 'set'; readonly owner: number; readonly deadlineMs: number | undefined }
  | { readonly kind: 'takeDue'; readonly nowMs: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      owner: fc.integer({ min: 0, max: 15 }),
      deadlineMs: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('takeDue' as const), nowMs: fc.integer({ min: 0, max: 1000 }) }),
    weight: 1,
  },
);

testProp(
  'for any sequence of changes, the earliest deadline and the owners due are those of a plain map',
  [fc.array(operation, { minLength: 1, maxLength: 400 })],
  (t, operations) => {
    const deadlines = new Deadlines<number>();
    const model = new Map<number, number>();
    for (const op of operations) {
      if (op.kind === 'set') {
        deadlines.set(op.owner, op.deadlineMs);
        if (op.deadlineMs === undefined) {
          model.delete(op.owner);
        } else {
          model.set(op.owner, op.deadlineMs);
        }
      } else {
        const expected = [...model].filter(([, at]) => at <= op.nowMs).map(([owner]) => owner);
        for (const owner of expected) {
          model.delete(owner);
        }
        t.deepEqual(
          deadlines.takeDue(op.nowMs).sort((a, b) => a - b),
          expected.sort((a, b) => a - b),
        );
      }
      const earliest = model.size === 0 ? undefined : Math.min(...model.values());
      t.is(deadlines.earliest(), earliest);
      t.is(deadlines.size, model.size);
      t.true(
        deadlines.entryCount <= 2 * model.size + 65,
        `${deadlines.entryCount} entries for ${model.size}`,
      );
    }
  },
);

test('an owner whose deadline moves on with every datagram keeps the heap small', (t) => {
  const deadlines = new Deadlines<string>();
  deadlines.set('idle', 50_000);
  for (let ms = 0; ms < 100_000; ms += 1) {
    deadlines.set('busy', ms + 30_000);
  }
  t.is(deadlines.earliest(), 50_000);
  t.true(deadlines.entryCount <= 2 * 2 + 65);
  t.deepEqual(deadlines.takeDue(50_000), ['idle']);
  t.is(deadlines.earliest(), 99_999 + 30_000);
});
