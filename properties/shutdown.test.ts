import { defineProperty } from './harness.ts';

defineProperty(
  'properties/shutdown.test.ts',
  'a stopped server tells every member, sequences nothing more, and stops within its shutdown timeout',
  ['shutdown'],
  ['shutdown-with-members', 'shutdown-unconfirmed', 'said-while-stopping'],
);
