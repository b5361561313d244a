import type { ClientEvent, ServerEvent, SessionId } from '../../engine/index.ts';
import type { ClientRecord, RunRecord, Timed } from './run.ts';

/**
 * Names compared as the guarantee states them: ignoring case (names are ASCII). The checker folds
 * case itself rather than use the engine's function, so that a bug there cannot hide from it.
 */
export function sameNameKey(name: string): string {
  return name.toLowerCase();
}

/** A room event as the server sequenced it: the truth each client's transcript is held against. */
export type RoomRecord =
  | {
      readonly kind: 'joined';
      readonly roomSeq: number;
      readonly t: number;
      readonly name: string;
      readonly sessionId: SessionId;
    }
  | {
      readonly kind: 'message';
      readonly roomSeq: number;
      readonly t: number;
      readonly from: string;
      readonly text: string;
      readonly sessionId: SessionId;
    }
  | {
      readonly kind: 'left';
      readonly roomSeq: number;
      readonly t: number;
      readonly name: string;
      readonly sessionId: SessionId;
      readonly reason: 'quit' | 'timeout';
    };

/** One membership (one session the server admitted), from the server's log. */
export interface Membership {
  readonly sessionId: SessionId;
  /** The client nonce of the handshake that opened it. */
  readonly handshake: string;
  readonly name: string;
  readonly address: string;
  readonly joinedSeq: number;
  readonly joinedAtMs: number;
  /** The names in the room right after the join, in join order: what the welcome must show. */
  readonly membersAtJoin: readonly string[];
  readonly leftSeq: number | undefined;
  readonly leftAtMs: number | undefined;
  readonly leftReason: 'quit' | 'timeout' | undefined;
  /** For a timeout, what the server's link saw (`idle-timeout`, `retransmit-limit`, …). */
  readonly leftCause: string | undefined;
}

export interface Timeline {
  readonly events: readonly RoomRecord[];
  readonly bySeq: ReadonlyMap<number, RoomRecord>;
  /** Memberships by session id: a client holds at most one, a name may pass between several. */
  readonly memberships: ReadonlyMap<SessionId, Membership>;
  /** Texts the server sequenced, by the session of their author, in room order. */
  readonly textsBySession: ReadonlyMap<SessionId, readonly string[]>;
  /** Problems found while reading the server's log itself (sequence gaps, duplicate names). */
  readonly problems: readonly string[];
}

/** Reads the server's log into the room's single order of events and who was a member when. */
export function readTimeline(server: readonly Timed<ServerEvent>[]): Timeline {
  const events: RoomRecord[] = [];
  const problems: string[] = [];
  const memberships = new Map<SessionId, Membership>();
  const textsBySession = new Map<SessionId, string[]>();
  const members = new Map<string, { readonly name: string; readonly sessionId: SessionId }>();
  let lastSeq = 0;
  for (const { t, event } of server) {
    let record: RoomRecord | undefined;
    switch (event.type) {
      case 'member.joined': {
        record = { kind: 'joined', roomSeq: event.roomSeq, t, name: event.name, sessionId: event.sessionId };
        if (members.has(sameNameKey(event.name))) {
          problems.push(`${event.name} joined at #${event.roomSeq} while the name was held`);
        }
        if (memberships.has(event.sessionId)) {
          problems.push(`session ${event.sessionId} was admitted twice (again at #${event.roomSeq})`);
        }
        members.set(sameNameKey(event.name), { name: event.name, sessionId: event.sessionId });
        memberships.set(event.sessionId, {
          sessionId: event.sessionId,
          handshake: event.handshake,
          name: event.name,
          address: event.address,
          joinedSeq: event.roomSeq,
          joinedAtMs: t,
          membersAtJoin: [...members.values()].map((member) => member.name),
          leftSeq: undefined,
          leftAtMs: undefined,
          leftReason: undefined,
          leftCause: undefined,
        });
        break;
      }
      case 'message.received': {
        record = {
          kind: 'message',
          roomSeq: event.roomSeq,
          t,
          from: event.from,
          text: event.text,
          sessionId: event.sessionId,
        };
        const texts = textsBySession.get(event.sessionId) ?? [];
        texts.push(event.text);
        textsBySession.set(event.sessionId, texts);
        break;
      }
      case 'member.left': {
        record = {
          kind: 'left',
          roomSeq: event.roomSeq,
          t,
          name: event.name,
          sessionId: event.sessionId,
          reason: event.reason,
        };
        members.delete(sameNameKey(event.name));
        const membership = memberships.get(event.sessionId);
        if (membership !== undefined) {
          memberships.set(event.sessionId, {
            ...membership,
            leftSeq: event.roomSeq,
            leftAtMs: t,
            leftReason: event.reason,
            leftCause: event.cause,
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
  return {
    events,
    bySeq: new Map(events.map((event) => [event.roomSeq, event])),
    memberships,
    textsBySession,
    problems,
  };
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

/** The membership of a client: the session the server accepted it into, if it got that far. */
export function membershipOf(timeline: Timeline, client: ClientRecord): Membership | undefined {
  return client.sessionId === undefined ? undefined : timeline.memberships.get(client.sessionId);
}

/** The texts the server sequenced from a client's session, in room order. */
export function sequencedTexts(timeline: Timeline, client: ClientRecord): readonly string[] {
  return client.sessionId === undefined ? [] : (timeline.textsBySession.get(client.sessionId) ?? []);
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
