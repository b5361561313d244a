import { defineProperty } from './harness.ts';

defineProperty('properties/authorship.test.ts', 'nobody ever sees a message from anyone but its author', [
  'authorship',
]);
