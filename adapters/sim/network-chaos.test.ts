import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import { faultTapeArb, partitionArb } from './arbitraries/faults.ts';
import { NAMES, sendPlanArb, setup } from './network-fixture.ts';

const NODE_NAMES: readonly string[] = NAMES;
const HOP_COUNT_MAX = 6;
type ChaosInputs = typeof chaosArb extends fc.Arbitrary<infer T> ? T : never;
const chaosArb = fc.record({
  plan: sendPlanArb,
  faultTape: faultTapeArb({ lossWeight: 4, duplicateWeight: 3, delayWeight: 4, decisionCountMax: 400 }),
  partitions: fc.array(partitionArb(NODE_NAMES, 600), { maxLength: 2 }),
});

/** A workload where every delivery may cause more sends: each datagram is bounced on until its hops run out. */
function runChaos({ plan, faultTape, partitions }: ChaosInputs) {
  const sim = setup({
    faultTape,
    partitions,
    onReceive: (to, datagram, from) => {
      const hops = datagram[0] ?? 0;
      if (hops > 0) {
        sim.ports.get(to)?.send(new Uint8Array([hops - 1, datagram.length]), from);
      }
    },
  });
  for (const { atMs, from, to, payload } of plan) {
    sim.sendAt(atMs, from, to, payload % HOP_COUNT_MAX);
  }
  sim.run();
  return sim;
}

testProp('two runs with the same inputs produce byte-identical traces', [chaosArb], (t, inputs) => {
  const first = runChaos(inputs);
  const second = runChaos(inputs);
  t.is(first.trace.toJsonLines(), second.trace.toJsonLines());
  t.deepEqual(first.network.stats, second.network.stats);
});

testProp(
  'every sent or duplicated datagram is delivered or dropped exactly once',
  [chaosArb],
  (t, inputs) => {
    const { network } = runChaos(inputs);
    const { sent, duplicated, delivered, dropped, inFlight } = network.stats;
    const droppedCount = dropped.loss + dropped.partition + dropped.crashed + dropped.noSuchNode;
    t.is(inFlight, 0);
    t.is(sent + duplicated, delivered + droppedCount);
  },
);

test('the chaos workload exercises every kind of fault, so the properties above are not vacuous', (t) => {
  const totals = { loss: 0, partition: 0, duplicated: 0, reordered: 0, delivered: 0 };
  for (const inputs of fc.sample(chaosArb, { seed: 42, numRuns: 100 })) {
    const stats = runChaos(inputs).network.stats;
    totals.loss += stats.dropped.loss;
    totals.partition += stats.dropped.partition;
    totals.duplicated += stats.duplicated;
    totals.reordered += stats.reordered;
    totals.delivered += stats.delivered;
  }
  t.log(totals);
  for (const [kind, count] of Object.entries(totals)) {
    t.true(count > 0, `no ${kind} in 100 chaos runs`);
  }
});
