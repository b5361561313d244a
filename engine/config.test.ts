import test from 'ava';
import {
  CLIENT_CONFIG_DEFAULT,
  type ClientConfig,
  resolveConfig,
  SERVER_CONFIG_DEFAULT,
  type ServerConfig,
} from './config.ts';

test('overrides replace defaults, the link config field by field', (t) => {
  const config = resolveConfig<ServerConfig>(SERVER_CONFIG_DEFAULT, {
    memberCountMax: 3,
    link: { idleTimeoutMs: 700 },
  });
  t.is(config.memberCountMax, 3);
  t.is(config.link.idleTimeoutMs, 700);
  t.is(config.link.keepaliveIntervalMs, SERVER_CONFIG_DEFAULT.link.keepaliveIntervalMs);
});

test('a limit that is not a whole number above 0 is refused, naming it and its value', (t) => {
  for (const value of [0, -1, 1.5, Number.NaN]) {
    const error = t.throws(() =>
      resolveConfig<ClientConfig>(CLIENT_CONFIG_DEFAULT, { link: { sendQueueCountMax: value } }),
    );
    t.regex(error?.message ?? '', new RegExp(`sendQueueCountMax is ${value}`));
  }
});

test('more ACK ranges than a frame can carry, or a minimum RTO above the maximum, is refused', (t) => {
  t.throws(() => resolveConfig<ClientConfig>(CLIENT_CONFIG_DEFAULT, { link: { ackRangeCountMax: 17 } }), {
    message: /ackRangeCountMax is 17/,
  });
  t.throws(
    () => resolveConfig<ClientConfig>(CLIENT_CONFIG_DEFAULT, { link: { rtoMinMs: 9000, rtoMaxMs: 8000 } }),
    {
      message: /rtoMinMs \(9000\) is above rtoMaxMs \(8000\)/,
    },
  );
});

test('a cookie that could outlive the first-contact timeout is refused, and the defaults keep it shorter', (t) => {
  const defaults = resolveConfig<ServerConfig>(SERVER_CONFIG_DEFAULT);
  t.true(defaults.firstContactTimeoutMs > 2 * defaults.cookieSlotMs);
  t.throws(() => resolveConfig<ServerConfig>(SERVER_CONFIG_DEFAULT, { cookieSlotMs: 7500 }), {
    message: /firstContactTimeoutMs \(15000\) must be above twice cookieSlotMs \(15000\)/,
  });
});
