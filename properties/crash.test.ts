import { defineProperty } from './harness.ts';

defineProperty(
  'properties/crash.test.ts',
  'a crashed client is announced as left(timeout) within the idle timeout',
  ['crash-timeout'],
);
