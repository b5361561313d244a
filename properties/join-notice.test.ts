import { defineProperty } from './harness.ts';

defineProperty(
  'properties/join-notice.test.ts',
  'every member present when someone joins gets exactly one notice of it, before any message from the joiner',
  ['join-notice'],
  [
    'members-split',
    'cookie-expired',
    'address-reused',
    'two-clients-one-host',
    'room-full',
    'name-taken',
    'quit-during-handshake',
    'crash-during-handshake',
    'typed-during-retry',
  ],
);
