import type { PeerAddress } from '../../engine/port.ts';
import type { NetworkDropReason } from './trace.ts';

/** One attached node, as the network tracks it. */
export interface SimNode {
  readonly name: string;
  /** Attach order, a cheap map key. */
  readonly index: number;
  readonly address: PeerAddress;
  readonly receive: (datagram: Uint8Array, from: PeerAddress) => void;
  crashed: boolean;
  sentCount: number;
  receivedCount: number;
  /** By sender index: the highest send index delivered here from that sender (to count reorders). */
  readonly highestSendIndexFrom: Map<number, number>;
  /** The first datagrams it sent (at most {@link SENT_KEPT_MAX}), kept for scheduled replays. */
  readonly firstSent: { readonly bytes: Uint8Array; readonly to: PeerAddress; readonly sendIndex: number }[];
}

/** Datagrams kept per node for replays: a handshake and the first packets of a session. */
export const SENT_KEPT_MAX = 16;

/** The network's running counters. */
export interface NetworkCounters {
  sent: number;
  delivered: number;
  duplicated: number;
  lateCopies: number;
  replays: number;
  reordered: number;
  inFlight: number;
  readonly dropped: Record<NetworkDropReason, number>;
}

export function createNetworkCounters(): NetworkCounters {
  return {
    sent: 0,
    delivered: 0,
    duplicated: 0,
    lateCopies: 0,
    replays: 0,
    reordered: 0,
    inFlight: 0,
    dropped: { loss: 0, partition: 0, crashed: 0, 'no-such-node': 0 },
  };
}

export interface NodeStats {
  /** Datagrams the node sent, whatever became of them. */
  readonly sent: number;
  /** Datagrams delivered to the node, duplicates included. */
  readonly received: number;
}

/**
 * What the network did over a run. Every send and every duplicate ends in one delivery or one drop,
 * unless still in flight: `sent + duplicated = delivered + (sum of dropped) + inFlight`.
 */
export interface NetworkStats {
  /** Calls to a port's `send`. */
  readonly sent: number;
  /** Datagrams handed to a receiver, duplicates included. */
  readonly delivered: number;
  readonly dropped: {
    readonly loss: number;
    readonly partition: number;
    readonly crashed: number;
    readonly noSuchNode: number;
  };
  /** Extra copies the fault tape asked for, late copies included. */
  readonly duplicated: number;
  /** Of those, copies that arrive seconds or minutes after the datagram was sent. */
  readonly lateCopies: number;
  /** Of those, old datagrams sent again at a planned time (a replay). */
  readonly replays: number;
  /** Deliveries that arrived after a later-sent datagram on the same sender-to-receiver pair. */
  readonly reordered: number;
  /** Scheduled deliveries that have not happened yet. */
  readonly inFlight: number;
  /** By node name, in attach order. */
  readonly perNode: Readonly<Record<string, NodeStats>>;
}

export function snapshotStats(counters: NetworkCounters, nodes: Iterable<SimNode>): NetworkStats {
  const perNode: Record<string, NodeStats> = {};
  for (const node of nodes) {
    perNode[node.name] = { sent: node.sentCount, received: node.receivedCount };
  }
  const { dropped } = counters;
  return {
    sent: counters.sent,
    delivered: counters.delivered,
    dropped: {
      loss: dropped.loss,
      partition: dropped.partition,
      crashed: dropped.crashed,
      noSuchNode: dropped['no-such-node'],
    },
    duplicated: counters.duplicated,
    lateCopies: counters.lateCopies,
    replays: counters.replays,
    reordered: counters.reordered,
    inFlight: counters.inFlight,
    perNode,
  };
}
