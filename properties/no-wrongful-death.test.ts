import { defineProperty } from './harness.ts';

defineProperty(
  'properties/no-wrongful-death.test.ts',
  'nobody alive and reachable is removed: no member is announced as left, and no client closed, once its path has healed, and no link dies while its peer is heard',
  ['no-wrongful-death'],
  [
    'quiet-room',
    'long-session',
    'loss-bursts',
    'death-retransmit-limit',
    'death-idle-timeout',
    'cookie-expired',
  ],
);
