import { defineProperty } from './harness.ts';

defineProperty(
  'properties/relay.test.ts',
  'every accepted message reaches every member of its time exactly once, and all transcripts agree on its order',
  ['relay'],
  [
    'text-1000-bytes',
    'text-999-bytes',
    'text-63-bytes',
    'text-64-bytes',
    'text-256-bytes',
    'text-spaces',
    'text-three-byte-chars',
    'text-refused',
    'window-full',
    'reorder-buffer-used',
    'ack-ranges-full',
    'datagram-30s-late',
    'typed-during-retry',
    'long-session',
    'quiet-room',
    'rejoined',
    'resent-repeat',
    'text-paced',
    'room-busy',
  ],
);
