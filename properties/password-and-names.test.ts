import { defineProperty } from './harness.ts';

defineProperty(
  'properties/password-and-names.test.ts',
  'a wrong password never joins, and a name is refused as taken exactly while its holder is in the room',
  ['password-and-names'],
  [
    'bad-password',
    'name-taken',
    'room-full',
    'cookie-expired',
    'address-reused',
    'two-clients-one-host',
    'joins-past-table',
  ],
);
