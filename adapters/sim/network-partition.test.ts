import test from 'ava';
import type { Partition } from './network.ts';
import { LATENCY_MS, type Name, setup } from './network-fixture.ts';

/** Sends a->b, b->a, a->c, c->a, b->c and c->b at `atMs`; returns which arrived as "from>to" pairs. */
function probeAt(partition: Partition, atMs: number): string[] {
  const sim = setup({ partitions: [partition] });
  const pairs: [Name, Name][] = [
    ['a', 'b'],
    ['b', 'a'],
    ['a', 'c'],
    ['c', 'a'],
    ['b', 'c'],
    ['c', 'b'],
  ];
  for (const [from, to] of pairs) {
    sim.sendAt(atMs, from, to, 0);
  }
  sim.run();
  return sim.deliveries.map((d) => `${d.from}>${d.to}`).sort();
}

const ALL_PAIRS = ['a>b', 'a>c', 'b>a', 'b>c', 'c>a', 'c>b'];

test('a symmetric partition blocks both directions between its groups only while active', (t) => {
  const partition: Partition = { startMs: 100, endMs: 200, kind: 'symmetric', groupA: ['a'], groupB: ['b'] };
  t.deepEqual(probeAt(partition, 50), ALL_PAIRS);
  t.deepEqual(probeAt(partition, 150), ['a>c', 'b>c', 'c>a', 'c>b']);
  t.deepEqual(probeAt(partition, 200), ALL_PAIRS);
});

test('a one-way partition blocks groupA to groupB only', (t) => {
  const partition: Partition = {
    startMs: 100,
    endMs: 200,
    kind: 'one-way',
    groupA: ['a'],
    groupB: ['b', 'c'],
  };
  t.deepEqual(probeAt(partition, 150), ['b>a', 'b>c', 'c>a', 'c>b']);
  t.deepEqual(probeAt(partition, 200), ALL_PAIRS);
});

test('an isolating partition cuts groupA off from everyone else both ways, but not from itself', (t) => {
  const partition: Partition = {
    startMs: 100,
    endMs: 200,
    kind: 'isolate',
    groupA: ['a', 'b'],
    groupB: ['c'],
  };
  t.deepEqual(probeAt(partition, 150), ['a>b', 'b>a']);
  t.deepEqual(probeAt(partition, 200), ALL_PAIRS);
});

test('a datagram in flight when a partition starts is dropped at delivery', (t) => {
  const sim = setup({
    partitions: [{ startMs: 100, endMs: 200, kind: 'symmetric', groupA: ['a'], groupB: ['b'] }],
  });
  sim.sendAt(95, 'a', 'b', 1);
  sim.run();
  t.deepEqual(sim.deliveries, []);
  t.is(sim.network.stats.dropped.partition, 1);
  t.like(sim.trace.entries[1], { t: 95 + LATENCY_MS, kind: 'drop', reason: 'partition' });
});

test('a crashed node is silent both ways, and datagrams in flight to it are lost', (t) => {
  const sim = setup();
  sim.sendAt(45, 'b', 'a', 1);
  sim.sendAt(45, 'a', 'b', 2);
  sim.clock.setTimeout(() => sim.network.crash('b'), 50);
  sim.sendAt(60, 'b', 'a', 3);
  sim.sendAt(60, 'a', 'b', 4);
  sim.run();
  // Datagram 1 left b before the crash: it was already on the wire.
  t.deepEqual(
    sim.deliveries.map((d) => d.payload),
    [1],
  );
  t.true(sim.network.isCrashed('b'));
  t.false(sim.network.isCrashed('a'));
  t.is(sim.network.stats.dropped.crashed, 3);
});
