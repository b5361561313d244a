import { type ClientEvent, formatAddress, type ServerEvent } from '../../engine/index.ts';

/**
 * Names compared as the guarantee states them: ignoring case (names are ASCII). The checker folds
 * case itself rather than use the engine's function, so that a bug there cannot hide from it.
 */
export function sameNameKey(name: string): string {
  return name.toLowerCase();
}

import type { ClientRecord, RunRecord, Timed } from './run.ts';

/** A room event as the server sequenced it: the truth each client's transcript is held against. */
export type RoomRecord =
  | {
      readonly kind: 'joined';
      readonly roomSeq: number;
      readonly t: number;
      readonly name: string;
      readonly address: string;
    }
  | {
      readonly kind: 'message';
      readonly roomSeq: number;
      readonly t: number;
      readonly from: string;
      readonly text: string;
    }
  | {
      readonly kind: 'left';
      readonly roomSeq: number;
      readonly t: number;
      readonly name: string;
      readonly address: string;
      readonly reason: 'quit' | 'timeout';
    };

/** One membership of one client, from the server's log. */
export interface Membership {
  readonly joinedSeq: number;
  readonly joinedAtMs: number;
  /** The names in the room right after the join, in join order: what the welcome must show. */
  readonly membersAtJoin: readonly string[];
  readonly leftSeq: number | undefined;
  readonly leftAtMs: number | undefined;
  readonly leftReason: 'quit' | 'timeout' | undefined;
}

export interface Timeline {
  readonly events: readonly RoomRecord[];
  readonly bySeq: ReadonlyMap<number, RoomRecord>;
  /** Memberships by client address (one per client: a client joins at most once). */
  readonly memberships: ReadonlyMap<string, Membership>;
  /** Problems found while reading the server's log itself (sequence gaps, duplicate names). */
  readonly problems: readonly string[];
}

/** Reads the server's log into the room's single order of events and who was a member when. */
export function readTimeline(server: readonly Timed<ServerEvent>[]): Timeline {
  const events: RoomRecord[] = [];
  const problems: string[] = [];
  const memberships = new Map<string, Membership>();
  const members = new Map<string, { readonly name: string; readonly address: string }>();
  let lastSeq = 0;
  for (const { t, event } of server) {
    let record: RoomRecord | undefined;
    switch (event.type) {
      case 'member.joined': {
        record = { kind: 'joined', roomSeq: event.roomSeq, t, name: event.name, address: event.address };
        if (members.has(sameNameKey(event.name))) {
          problems.push(`${event.name} joined at #${event.roomSeq} while the name was held`);
        }
        members.set(sameNameKey(event.name), { name: event.name, address: event.address });
        memberships.set(event.address, {
          joinedSeq: event.roomSeq,
          joinedAtMs: t,
          membersAtJoin: [...members.values()].map((member) => member.name),
          leftSeq: undefined,
          leftAtMs: undefined,
          leftReason: undefined,
        });
        break;
      }
      case 'message.received':
        record = { kind: 'message', roomSeq: event.roomSeq, t, from: event.from, text: event.text };
        break;
      case 'member.left': {
        record = {
          kind: 'left',
          roomSeq: event.roomSeq,
          t,
          name: event.name,
          address: event.address,
          reason: event.reason,
        };
        members.delete(sameNameKey(event.name));
        const membership = memberships.get(event.address);
        if (membership !== undefined) {
          memberships.set(event.address, {
            ...membership,
            leftSeq: event.roomSeq,
            leftAtMs: t,
            leftReason: event.reason,
          });
        }
        break;
      }
      case 'join.refused':
        if (event.reason === 'name-taken' && !members.has(sameNameKey(event.name))) {
          problems.push(`${event.name} was refused as taken at ${t} ms while nobody held it`);
        }
        if (event.reason === 'bad-name') {
          problems.push(
            `${event.name} was refused as a bad name at ${t} ms, but every simulated name is valid`,
          );
        }
        break;
      default:
        break;
    }
    if (record !== undefined) {
      if (record.roomSeq !== lastSeq + 1) {
        problems.push(`room event #${record.roomSeq} follows #${lastSeq}`);
      }
      lastSeq = record.roomSeq;
      events.push(record);
    }
  }
  return { events, bySeq: new Map(events.map((event) => [event.roomSeq, event])), memberships, problems };
}

/** The room events a client saw, in the order it saw them (welcome excluded). */
export type SeenEvent = Extract<ClientEvent, { type: 'joined' | 'message' | 'left' }>;

export function seenEvents(client: ClientRecord): SeenEvent[] {
  const seen: SeenEvent[] = [];
  for (const { event } of client.events) {
    if (event.type === 'joined' || event.type === 'message' || event.type === 'left') {
      seen.push(event);
    }
  }
  return seen;
}

export function membershipOf(timeline: Timeline, client: ClientRecord): Membership | undefined {
  return timeline.memberships.get(formatAddress(client.address));
}

/**
 * Whether a client must have seen every event of its membership by the end of the run: it stayed to
 * the end, joined and connected, or it left by a QUIT the server confirmed (the goodbye comes after
 * everything sequenced before it).
 */
export function isComplete(client: ClientRecord, membership: Membership): boolean {
  const closed = client.events.find(({ event }) => event.type === 'closed')?.event;
  if (closed?.type === 'closed') {
    return closed.reason === 'quit' && membership.leftReason === 'quit';
  }
  return (
    client.crashedAtMs === undefined && membership.leftSeq === undefined && client.finalState === '"joined"'
  );
}

/** The room events a member should see: everything sequenced after its join and before its leave. */
export function expectedFor(timeline: Timeline, membership: Membership): RoomRecord[] {
  return timeline.events.filter(
    (event) =>
      event.roomSeq > membership.joinedSeq &&
      (membership.leftSeq === undefined || event.roomSeq < membership.leftSeq),
  );
}

export type { RunRecord };
