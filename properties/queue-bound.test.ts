import { defineProperty } from './harness.ts';

defineProperty('properties/queue-bound.test.ts', 'no queue, buffer or table ever exceeds its maximum', [
  'queue-bound',
]);
