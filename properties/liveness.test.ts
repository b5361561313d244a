import { defineProperty } from './harness.ts';

defineProperty(
  'properties/liveness.test.ts',
  'after the network heals nothing is stuck: every live client is closed or a member with all its messages sequenced',
  ['liveness'],
  [
    'quiet-room',
    'long-session',
    'loss-bursts',
    'shutdown-with-members',
    'cookie-expired',
    'death-never-heard-from',
    'text-paced',
    'room-busy',
  ],
);
