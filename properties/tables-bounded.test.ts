import { defineProperty } from './harness.ts';

defineProperty(
  'properties/tables-bounded.test.ts',
  'no table of any machine ever holds more than its named maximum, at any step',
  ['tables-bounded'],
  [
    'window-full',
    'ack-ranges-full',
    'reorder-buffer-used',
    'members-split',
    'long-session',
    'datagram-30s-late',
  ],
);
