import test from 'ava';
import { RttEstimator } from './rtt.ts';

const config = { rtoInitialMs: 1000, rtoMinMs: 200, rtoMaxMs: 8000 };

test('the timeout starts at the initial value before any sample', (t) => {
  t.is(new RttEstimator(config).rtoMs, 1000);
});

test('the first sample sets SRTT to R and RTTVAR to R/2 (RFC 6298 2.2)', (t) => {
  const rtt = new RttEstimator(config);
  rtt.sample(100);
  t.is(rtt.smoothedMs, 100);
  // RTO = SRTT + 4 * RTTVAR = 100 + 4 * 50.
  t.is(rtt.rtoMs, 300);
});

test('later samples are smoothed with alpha 1/8 and beta 1/4 (RFC 6298 2.3)', (t) => {
  const rtt = new RttEstimator(config);
  rtt.sample(100);
  rtt.sample(200);
  // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5.
  t.is(rtt.smoothedMs, 112.5);
  t.is(rtt.rtoMs, 112.5 + 4 * 62.5);
});

test('the timeout never drops below the floor', (t) => {
  const rtt = new RttEstimator(config);
  rtt.sample(1);
  t.is(rtt.rtoMs, 200);
});

test('backing off doubles the timeout and stops at the ceiling', (t) => {
  const rtt = new RttEstimator(config);
  const seen: number[] = [];
  for (let index = 0; index < 5; index += 1) {
    rtt.backOff();
    seen.push(rtt.rtoMs);
  }
  t.deepEqual(seen, [2000, 4000, 8000, 8000, 8000]);
});
