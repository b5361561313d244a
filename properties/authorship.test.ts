import { defineProperty } from './harness.ts';

defineProperty(
  'properties/authorship.test.ts',
  'nobody ever sees a message from anyone but its author',
  ['authorship'],
  [
    'text-1000-bytes',
    'text-spaces',
    'text-three-byte-chars',
    'two-clients-one-host',
    'address-reused',
    'datagram-30s-late',
  ],
);
