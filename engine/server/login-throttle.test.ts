import test from 'ava';
import { SERVER_CONFIG_DEFAULT } from '../config.ts';
import { LoginThrottle, type ThrottleLimits } from './login-throttle.ts';

const LIMITS: ThrottleLimits = {
  ...SERVER_CONFIG_DEFAULT,
  keyExchangesPerSecond: 10,
  keyExchangeBurst: 20,
  unprovenPerHostBurst: 3,
  loginBackoffInitialMs: 1000,
  loginBackoffMaxMs: 8000,
  unprovenForgetMs: 60_000,
  throttledHostCountMax: 4,
};

test('a host gets a burst of unproven key exchanges, then a backoff that doubles up to its ceiling', (t) => {
  const throttle = new LoginThrottle(LIMITS, 0);
  let nowMs = 0;
  for (let i = 0; i < 2; i += 1) {
    t.true(throttle.admit('10.0.0.9', nowMs).ok, `exchange ${i + 1}`);
    throttle.charge('10.0.0.9', nowMs);
  }
  const waits: number[] = [];
  for (let i = 0; i < 6; i += 1) {
    t.true(throttle.admit('10.0.0.9', nowMs).ok);
    throttle.charge('10.0.0.9', nowMs);
    const verdict = throttle.admit('10.0.0.9', nowMs);
    t.false(verdict.ok);
    if (!verdict.ok) {
      t.is(verdict.reason, 'throttled');
      waits.push(verdict.retryAfterMs);
      nowMs += verdict.retryAfterMs;
    }
  }
  t.deepEqual(waits, [1000, 2000, 4000, 8000, 8000, 8000]);
  // Another host is not held up by this one.
  t.true(throttle.admit('10.0.0.10', nowMs).ok);
});

test('a proof takes one unproven exchange back: an honest host behind one address is never held up', (t) => {
  const throttle = new LoginThrottle(LIMITS, 0);
  for (let i = 0; i < 15; i += 1) {
    t.true(throttle.admit('10.0.0.9', i).ok, `login ${i + 1}`);
    throttle.charge('10.0.0.9', i);
    throttle.prove('10.0.0.9');
  }
  t.is(throttle.hostCount, 0);
});

test('a blocked host that proves the password is let through at once', (t) => {
  const throttle = new LoginThrottle(LIMITS, 0);
  for (let i = 0; i < 3; i += 1) {
    throttle.charge('10.0.0.9', 0);
  }
  t.false(throttle.admit('10.0.0.9', 0).ok);
  throttle.prove('10.0.0.9');
  t.true(throttle.admit('10.0.0.9', 0).ok);
});

test('a quiet host is forgotten after unprovenForgetMs: its backoff starts afresh', (t) => {
  const backoffAfterQuiet = (quietMs: number): boolean => {
    const throttle = new LoginThrottle(LIMITS, 0);
    for (let i = 0; i < 3; i += 1) {
      throttle.charge('10.0.0.9', 0);
    }
    throttle.charge('10.0.0.9', quietMs);
    return throttle.admit('10.0.0.9', quietMs).ok;
  };
  t.false(backoffAfterQuiet(59_999));
  t.true(backoffAfterQuiet(60_000));
});

test('under load, only hosts with nothing unproven get a key exchange; with no token, nobody', (t) => {
  const throttle = new LoginThrottle({ ...LIMITS, unprovenPerHostBurst: 100, throttledHostCountMax: 100 }, 0);
  // Half the burst spent by strangers, one exchange each from its own address.
  for (let i = 0; i < 10; i += 1) {
    throttle.charge(`10.0.1.${i}`, 0);
  }
  const stranger = throttle.admit('10.0.1.0', 0);
  t.deepEqual(stranger, { ok: false, reason: 'load', retryAfterMs: 100 });
  t.true(throttle.admit('10.0.2.1', 0).ok);
  for (let i = 0; i < 10; i += 1) {
    throttle.charge(`10.0.2.${i}`, 0);
  }
  t.deepEqual(throttle.admit('10.0.3.1', 0), { ok: false, reason: 'load', retryAfterMs: 100 });
  // The bucket refills at keyExchangesPerSecond.
  t.true(throttle.admit('10.0.3.1', 100).ok);
});

test('the hosts remembered are bounded by throttledHostCountMax, the oldest forgotten first', (t) => {
  const throttle = new LoginThrottle(LIMITS, 0);
  for (let i = 0; i < 3; i += 1) {
    throttle.charge('10.0.0.1', i);
  }
  t.false(throttle.admit('10.0.0.1', 3).ok);
  for (let i = 2; i <= 5; i += 1) {
    throttle.charge(`10.0.0.${i}`, 10 + i);
  }
  t.is(throttle.hostCount, 4);
  t.true(throttle.admit('10.0.0.1', 20).ok);
});
