import { defineProperty } from './harness.ts';

defineProperty(
  'properties/quit.test.ts',
  'after QUIT every remaining member gets one left(quit) notice, the quitter gets nothing more, and the name is free again',
  ['quit'],
  ['quit-during-handshake', 'shutdown-with-members', 'address-reused', 'window-full', 'datagram-30s-late'],
);
