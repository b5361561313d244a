import assert from 'node:assert/strict';

/**
 * A network partition over node names, active from `startMs` (included) to `endMs` (excluded):
 * - `symmetric` blocks every datagram between groupA and groupB, both ways;
 * - `one-way` blocks datagrams from groupA to groupB only;
 * - `isolate` cuts groupA's nodes off from every node outside groupA, both ways (groupB is ignored).
 *
 * @example
 * ```ts
 * const serverCut: Partition = { startMs: 1000, endMs: 4000, kind: 'isolate', groupA: ['server'], groupB: [] };
 * ```
 */
export interface Partition {
  readonly startMs: number;
  readonly endMs: number;
  readonly kind: 'symmetric' | 'one-way' | 'isolate';
  readonly groupA: readonly string[];
  readonly groupB: readonly string[];
}

interface CompiledPartition {
  readonly startMs: number;
  readonly endMs: number;
  readonly kind: Partition['kind'];
  readonly groupA: ReadonlySet<string>;
  readonly groupB: ReadonlySet<string>;
}

function blocksPair(partition: CompiledPartition, from: string, to: string): boolean {
  const fromInA = partition.groupA.has(from);
  const toInA = partition.groupA.has(to);
  switch (partition.kind) {
    case 'symmetric':
      return (fromInA && partition.groupB.has(to)) || (toInA && partition.groupB.has(from));
    case 'one-way':
      return fromInA && partition.groupB.has(to);
    case 'isolate':
      return fromInA !== toInA;
  }
}

/**
 * The partitions of a run with their groups as sets, so that the per-datagram check allocates
 * nothing and costs a few set lookups per partition.
 */
export class PartitionSchedule {
  readonly #partitions: readonly CompiledPartition[];

  constructor(partitions: readonly Partition[]) {
    this.#partitions = partitions.map((partition) => {
      assert.ok(
        partition.startMs <= partition.endMs,
        `a partition must not end (${partition.endMs}) before it starts (${partition.startMs})`,
      );
      return {
        startMs: partition.startMs,
        endMs: partition.endMs,
        kind: partition.kind,
        groupA: new Set(partition.groupA),
        groupB: new Set(partition.groupB),
      };
    });
  }

  /** Whether some partition active at `nowMs` blocks datagrams from node `from` to node `to`. */
  blocks(from: string, to: string, nowMs: number): boolean {
    for (const partition of this.#partitions) {
      if (nowMs >= partition.startMs && nowMs < partition.endMs && blocksPair(partition, from, to)) {
        return true;
      }
    }
    return false;
  }
}
