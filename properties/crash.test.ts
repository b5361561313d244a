import { defineProperty } from './harness.ts';

defineProperty(
  'properties/crash.test.ts',
  'a crashed client is announced as left(timeout) within the idle timeout',
  ['crash-timeout'],
  [
    'crash-during-handshake',
    'death-retransmit-limit',
    'death-idle-timeout',
    'death-never-heard-from',
    'loss-bursts',
    'long-session',
  ],
);
