import { testProp } from '@fast-check/ava';
import test from 'ava';
import { type FaultDecision, NO_FAULT } from './network.ts';
import { addressOf, HOST, LATENCY_MS, STEP_COUNT_MAX, sendPlanArb, setup } from './network-fixture.ts';

testProp(
  'with an empty tape every datagram is delivered exactly once, latencyMs after it was sent',
  [sendPlanArb],
  (t, plan) => {
    const sim = setup();
    for (const { atMs, from, to, payload } of plan) {
      sim.sendAt(atMs, from, to, payload);
    }
    sim.run();
    const key = (d: { t: number; from: string; to: string; payload: number }) =>
      `${d.t} ${d.from} ${d.to} ${d.payload}`;
    const expected = plan.map((send) => key({ ...send, t: send.atMs + LATENCY_MS })).sort();
    t.deepEqual(sim.deliveries.map(key).sort(), expected);
    t.is(sim.network.stats.delivered, plan.length);
    t.is(sim.trace.entries.filter((entry) => entry.kind === 'deliver').length, plan.length);
  },
);

test('a drop decision loses its datagram, and the loss is counted and traced', (t) => {
  const sim = setup({ faultTape: [{ drop: true, duplicate: false, delayMs: 0 }] });
  sim.sendAt(0, 'a', 'b', 1);
  sim.sendAt(0, 'a', 'b', 2);
  sim.run();
  t.deepEqual(
    sim.deliveries.map((d) => d.payload),
    [2],
  );
  t.is(sim.network.stats.dropped.loss, 1);
  t.like(sim.trace.entries[1], { kind: 'drop', reason: 'loss', from: 'a', to: 'b', size: 1 });
});

test('decisions apply to sends in global send order, whichever node sends', (t) => {
  const sim = setup({ faultTape: [NO_FAULT, { drop: true, duplicate: false, delayMs: 0 }] });
  sim.sendAt(0, 'a', 'b', 1);
  sim.sendAt(1, 'c', 'b', 2);
  sim.sendAt(2, 'a', 'b', 3);
  sim.run();
  t.deepEqual(
    sim.deliveries.map((d) => d.payload),
    [1, 3],
  );
});

test('a delay decision adds its delay to the latency', (t) => {
  const sim = setup({ faultTape: [{ drop: false, duplicate: false, delayMs: 7 }] });
  sim.sendAt(0, 'a', 'b', 1);
  sim.run();
  t.deepEqual(
    sim.deliveries.map((d) => d.t),
    [LATENCY_MS + 7],
  );
});

test('a duplicate decision delivers a second copy delayMs + 1 ms after the first, counted and traced', (t) => {
  const sim = setup({ faultTape: [{ drop: false, duplicate: true, delayMs: 5 }] });
  sim.sendAt(0, 'a', 'b', 9);
  sim.run();
  t.deepEqual(
    sim.deliveries.map((d) => [d.t, d.payload]),
    [
      [LATENCY_MS + 5, 9],
      [LATENCY_MS + 5 + 5 + 1, 9],
    ],
  );
  t.is(sim.network.stats.duplicated, 1);
  t.is(sim.network.stats.reordered, 0);
  t.deepEqual(
    sim.trace.entries.map((entry) => entry.kind),
    ['send', 'duplicate', 'deliver', 'deliver'],
  );
});

test('a delay that inverts the order of two datagrams on one pair is counted as a reorder', (t) => {
  const sim = setup({ faultTape: [{ drop: false, duplicate: false, delayMs: 20 }] });
  sim.sendAt(0, 'a', 'b', 1);
  sim.sendAt(0, 'a', 'b', 2);
  sim.sendAt(0, 'c', 'b', 3);
  sim.run();
  t.deepEqual(
    sim.deliveries.map((d) => d.payload),
    [2, 3, 1],
  );
  t.is(sim.network.stats.reordered, 1);
});

test('datagrams to an address no node has are dropped as no-such-node', (t) => {
  const sim = setup();
  sim.ports.get('a')?.send(new Uint8Array([1]), { host: '192.0.2.1', port: 9 });
  sim.run();
  t.is(sim.network.stats.dropped.noSuchNode, 1);
  t.like(sim.trace.entries[1], { kind: 'drop', reason: 'no-such-node', to: '192.0.2.1:9' });
});

test('the network copies the bytes: a sender reusing its buffer does not change what arrives', (t) => {
  const sim = setup();
  const buffer = new Uint8Array([7]);
  sim.ports.get('a')?.send(buffer, addressOf('b'));
  buffer[0] = 8;
  sim.run();
  t.deepEqual(
    sim.deliveries.map((d) => d.payload),
    [7],
  );
});

test('after heal the tape and the partitions no longer apply', (t) => {
  const drop: FaultDecision = { drop: true, duplicate: false, delayMs: 0 };
  const sim = setup({
    faultTape: [drop, drop],
    partitions: [{ startMs: 0, endMs: 1000, kind: 'isolate', groupA: ['a'], groupB: [] }],
  });
  sim.network.heal();
  sim.sendAt(0, 'a', 'b', 1);
  sim.sendAt(0, 'c', 'b', 2);
  sim.run();
  t.is(sim.deliveries.length, 2);
});

test('an exception in a receiver propagates out of the clock', (t) => {
  const sim = setup({
    onReceive: () => {
      throw new Error('invariant broken');
    },
  });
  sim.sendAt(0, 'a', 'b', 1);
  t.throws(() => sim.run(), { message: 'invariant broken' });
});

test('environmentFor gives a port on the network, the virtual clock and its time', (t) => {
  const sim = setup();
  const env = sim.network.environmentFor('d', { host: HOST, port: 4 }, () => {}, {
    random: (n) => new Uint8Array(n),
  });
  sim.clock.runUntil(123, STEP_COUNT_MAX);
  t.is(env.now(), 123);
  t.is(env.clock, sim.clock);
  env.port.send(new Uint8Array([5]), addressOf('a'));
  sim.run();
  t.deepEqual(sim.deliveries, [{ t: 123 + LATENCY_MS, from: 'unknown:4', to: 'a', payload: 5 }]);
});
