import { INVARIANTS } from '../adapters/sim/check.ts';
import { defineProperty } from './harness.ts';

defineProperty(
  'properties/all-guarantees.test.ts',
  'every guarantee holds together in one run (the deep run: GASCHAT_RUNS=10000 npm run sim)',
  [...INVARIANTS],
);
