import { defineProperty } from './harness.ts';

defineProperty(
  'properties/relay.test.ts',
  'every accepted message reaches every member of its time exactly once, and all transcripts agree on its order',
  ['relay'],
);
