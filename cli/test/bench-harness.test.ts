import test from 'ava';
import { processFigures, wrongPasswordRate } from '../bench/abuse-bench.ts';
import { LossyProxy } from '../bench/lossy-proxy.ts';
import { BENCH_PASSWORD, benchGaschat, benchRaw, percentile } from '../bench/relay-bench.ts';
import { startServerThread } from '../bench/server-thread.ts';

// The benchmark's own machinery, checked for what it counts (never for how fast): a benchmark that
// miscounted deliveries or losses would print confident nonsense.

test('through a proxy losing 30 % each way, every message reaches every member exactly once; the raw relay loses some', async (t) => {
  const faults = { lossPercent: 30, duplicatePercent: 5, reorderPercent: 10, reorderDelayMsMax: 10 };
  for (const kind of ['gaschat', 'raw'] as const) {
    const server = await startServerThread({ kind, password: BENCH_PASSWORD });
    const proxy = await LossyProxy.start({ host: '127.0.0.1', port: server.port }, faults, 7);
    try {
      const result =
        kind === 'gaschat' ? await benchGaschat(proxy.port, 3, 30) : await benchRaw(proxy.port, 3, 30);
      t.true(
        proxy.stats.dropped > 0 && proxy.stats.duplicated > 0 && proxy.stats.delayed > 0,
        JSON.stringify(proxy.stats),
      );
      if (kind === 'gaschat') {
        t.true(result.completed);
        t.is(result.deliveries, 3 * 2 * 30);
        t.is(result.lost, 0);
        t.is(result.duplicated, 0);
      } else {
        t.true(result.lost > 0, 'a relay without retransmission loses messages at 30 % loss');
      }
    } finally {
      proxy.close();
      await server.stop();
    }
  }
});

test('on loopback the raw relay and gaschat deliver the whole load, and latencies are measured per delivery', async (t) => {
  for (const kind of ['gaschat', 'raw'] as const) {
    const server = await startServerThread({ kind, password: BENCH_PASSWORD });
    try {
      const result =
        kind === 'gaschat' ? await benchGaschat(server.port, 3, 40) : await benchRaw(server.port, 3, 40);
      t.is(result.deliveries, 3 * 2 * 40, kind);
      t.is(result.latenciesMs.length, result.deliveries, kind);
      t.true(percentile(result.latenciesMs, 0.5) <= percentile(result.latenciesMs, 0.99));
    } finally {
      await server.stop();
    }
  }
});

test('the abuse figures measure what they say: /proc figures of a process, and wrong-password handshakes the server answers with ACCEPTs, then WAITs', async (t) => {
  const own = processFigures(process.pid);
  t.true(own.rssBytes > 10 * 2 ** 20, `${own.rssBytes} bytes resident`);
  t.true(own.cpuMs > 0);
  // Answers are waited for as long as a loaded machine may need: the figure, not a deadline, is tested.
  // Enough attempts for the server's burst of five to be spent, however slowly a loaded machine goes.
  const rate = await wrongPasswordRate(1, 1500, undefined, 60_000, 'one', 8);
  t.true(rate.attemptsPerS > 0);
  // Each ACCEPT is a key exchange the server ran for someone without the password: what the figure counts.
  t.true(rate.acceptsPerS > 0, JSON.stringify(rate));
  t.true(rate.acceptsPerS <= rate.attemptsPerS);
  // Past its burst the one address is throttled: the rest of its JOINs get a WAIT, not a key exchange.
  t.true(rate.waitsPerS > 0, JSON.stringify(rate));
});
