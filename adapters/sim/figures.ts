import type { LinkStats } from '../../engine/index.ts';
import type { RunRecord } from './run.ts';

/** Every link of a run, server sessions and clients alike. */
export function allLinkStats(run: RunRecord): LinkStats[] {
  return [
    ...run.sessionStats,
    ...run.clients.flatMap((client) => (client.linkStats ? [client.linkStats] : [])),
  ];
}

/** What actually went wrong in a run, by kind: what a property claims to survive must show up here. */
export interface FaultFigures {
  drops: number;
  duplicates: number;
  reorders: number;
  retransmissions: number;
  partitions: number;
  crashes: number;
  timeouts: number;
}

export function faultFiguresOf(run: RunRecord): FaultFigures {
  const network = run.network;
  return {
    drops: network.dropped.loss,
    duplicates: network.duplicated,
    reorders: network.reordered,
    retransmissions: allLinkStats(run).reduce((sum, stats) => sum + stats.framesRetransmitted, 0),
    partitions: network.dropped.partition,
    crashes: run.clients.filter((client) => client.crashedAtMs !== undefined).length,
    timeouts: run.server.filter(({ event }) => event.type === 'member.left' && event.reason === 'timeout')
      .length,
  };
}
