import type { ClientEvent, ServerEvent, SessionId } from '../../engine/index.ts';
import type { ClientRecord, RunRecord, ServerCrash, Timed } from './run.ts';

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
      /** Which of the server's processes sequenced it (0, then 1 after a restart): each has its own order. */
      readonly life: number;
      readonly roomSeq: number;
      readonly t: number;
      readonly name: string;
      readonly sessionId: SessionId;
    }
  | {
      readonly kind: 'message';
      readonly life: number;
      readonly roomSeq: number;
      readonly t: number;
      readonly from: string;
      readonly text: string;
      readonly sessionId: SessionId;
      /** The author's origin and number for the text: the same for a text resent after a rejoin. */
      readonly origin: string;
      readonly line: number;
    }
  | {
      readonly kind: 'left';
      readonly life: number;
      readonly roomSeq: number;
      readonly t: number;
      readonly name: string;
      readonly sessionId: SessionId;
      readonly reason: 'quit' | 'timeout';
    };

/** One membership (one session the server admitted), from the server's log. */
export interface Membership {
  readonly sessionId: SessionId;
  /** The server process that admitted it. */
  readonly life: number;
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
  /** When the server's process was killed with it still a member: it never left, it was lost. */
  readonly lostAtMs: number | undefined;
}

export interface Timeline {
  readonly events: readonly RoomRecord[];
  /** The events of each server process by roomSeq: `bySeq[life].get(roomSeq)`. */
  readonly bySeq: readonly ReadonlyMap<number, RoomRecord>[];
  /**
   * Memberships by session id: a client holds one at a time (one after another when it rejoins), a
   * name may pass between several.
   */
  readonly memberships: ReadonlyMap<SessionId, Membership>;
  /** Messages the server sequenced, by the session of their author, in room order. */
  readonly textsBySession: ReadonlyMap<SessionId, readonly Extract<RoomRecord, { kind: 'message' }>[]>;
  /** Problems found while reading the server's log itself (sequence gaps, duplicate names). */
  readonly problems: readonly string[];
}

/**
 * Reads the server's log into the room's order of events and who was a member when: one order for each
 * process of the server (a killed server's room is gone; the restarted one starts its own from #1).
 */
export function readTimeline(
  server: readonly Timed<ServerEvent>[],
  crashes: readonly ServerCrash[] = [],
): Timeline {
  const events: RoomRecord[] = [];
  const problems: string[] = [];
  const memberships = new Map<SessionId, Membership>();
  const textsBySession = new Map<SessionId, Extract<RoomRecord, { kind: 'message' }>[]>();
  const members = new Map<string, { readonly name: string; readonly sessionId: SessionId }>();
  let lastSeq = 0;
  let life = 0;
  // The process died: its members are lost with it, and the next one starts afresh.
  const endLife = () => {
    const lostAtMs = crashes[life]?.atMs;
    for (const { sessionId } of members.values()) {
      const membership = memberships.get(sessionId);
      if (membership !== undefined) {
        memberships.set(sessionId, { ...membership, lostAtMs });
      }
    }
    members.clear();
    lastSeq = 0;
    life += 1;
  };
  for (const [index, { t, event }] of server.entries()) {
    while ((crashes[life]?.logIndex ?? Number.POSITIVE_INFINITY) <= index) {
      endLife();
    }
    let record: RoomRecord | undefined;
    switch (event.type) {
      case 'member.joined': {
        record = {
          kind: 'joined',
          life,
          roomSeq: event.roomSeq,
          t,
          name: event.name,
          sessionId: event.sessionId,
        };
        if (members.has(sameNameKey(event.name))) {
          problems.push(`${event.name} joined at #${event.roomSeq} while the name was held`);
        }
        if (memberships.has(event.sessionId)) {
          problems.push(`session ${event.sessionId} was admitted twice (again at #${event.roomSeq})`);
        }
        members.set(sameNameKey(event.name), { name: event.name, sessionId: event.sessionId });
        memberships.set(event.sessionId, {
          sessionId: event.sessionId,
          life,
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
          lostAtMs: undefined,
        });
        break;
      }
      case 'message.received': {
        const message = {
          kind: 'message',
          life,
          roomSeq: event.roomSeq,
          t,
          from: event.from,
          text: event.text,
          sessionId: event.sessionId,
          origin: event.origin,
          line: event.line,
        } as const;
        record = message;
        const texts = textsBySession.get(event.sessionId) ?? [];
        texts.push(message);
        textsBySession.set(event.sessionId, texts);
        break;
      }
      case 'member.left': {
        record = {
          kind: 'left',
          life,
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
  while (crashes[life] !== undefined) {
    endLife();
  }
  const bySeq = Array.from({ length: life + 1 }, (_, of) => {
    const lifeEvents = events.filter((event) => event.life === of);
    return new Map(lifeEvents.map((event) => [event.roomSeq, event]));
  });
  return {
    events,
    bySeq,
    memberships,
    textsBySession,
    problems,
  };
}

/** The room events a client saw, in the order it saw them (welcome excluded). */
export type SeenEvent = Extract<ClientEvent, { type: 'joined' | 'message' | 'left' }>;

/** The welcome of a membership: the first one, or the one after a rejoin. */
export type WelcomeEvent = Extract<ClientEvent, { type: 'welcome' | 'rejoined' }>;

export function isWelcome(event: ClientEvent): event is WelcomeEvent {
  return event.type === 'welcome' || event.type === 'rejoined';
}

/**
 * A client's events cut at each welcome: what it saw in each of its memberships, with the membership
 * (the client's session the server admitted at the welcome's roomSeq). What it saw before any welcome
 * is a segment without one.
 */
export interface Segment {
  readonly welcome: WelcomeEvent | undefined;
  readonly membership: Membership | undefined;
  readonly seen: SeenEvent[];
}

export function segmentsOf(timeline: Timeline, client: ClientRecord): Segment[] {
  const segments: Segment[] = [{ welcome: undefined, membership: undefined, seen: [] }];
  for (const [index, { event }] of client.events.entries()) {
    if (isWelcome(event)) {
      // The session it came in: a welcome that never arrived leaves its membership without a segment.
      const sessionId = client.eventSessions[index];
      const membership = sessionId === undefined ? undefined : timeline.memberships.get(sessionId);
      segments.push({ welcome: event, membership, seen: [] });
    } else if (event.type === 'joined' || event.type === 'message' || event.type === 'left') {
      segments.at(-1)?.seen.push(event);
    }
  }
  return segments;
}

/**
 * Whether a client was in the room when it closed: welcomed (or welcomed back) and not reconnecting
 * since. A QUIT while reconnecting, like one before the first welcome, leaves before joining.
 */
export function memberAtClose(client: ClientRecord): boolean {
  const last = client.events.findLast(({ event }) => isWelcome(event) || event.type === 'reconnecting');
  return last !== undefined && isWelcome(last.event);
}

/** The memberships of a client: of the sessions the server accepted it into, those it admitted, in order. */
export function membershipsOf(timeline: Timeline, client: ClientRecord): Membership[] {
  return client.sessionIds.flatMap((sessionId) => {
    const membership = timeline.memberships.get(sessionId);
    return membership === undefined ? [] : [membership];
  });
}

/** The membership a client ended the run in (its last), if it got that far. */
export function membershipOf(timeline: Timeline, client: ClientRecord): Membership | undefined {
  return membershipsOf(timeline, client).at(-1);
}

/** The client of every session any client was accepted into. */
export function clientsBySession(run: RunRecord): Map<SessionId, ClientRecord> {
  const bySession = new Map<SessionId, ClientRecord>();
  for (const client of run.clients) {
    for (const sessionId of client.sessionIds) {
      bySession.set(sessionId, client);
    }
  }
  return bySession;
}

/**
 * The texts the server sequenced from a client's sessions, in room order, each once: a text resent
 * after a rejoin (its origin and line again) that the old server had sequenced counts once.
 */
export function sequencedTexts(timeline: Timeline, client: ClientRecord): readonly string[] {
  const lines = new Set<string>();
  const texts: string[] = [];
  for (const sessionId of client.sessionIds) {
    for (const message of timeline.textsBySession.get(sessionId) ?? []) {
      const key = `${message.origin}/${message.line}`;
      if (!lines.has(key)) {
        lines.add(key);
        texts.push(message.text);
      }
    }
  }
  return texts;
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
    client.crashedAtMs === undefined &&
    membership.leftSeq === undefined &&
    membership.lostAtMs === undefined &&
    client.finalState === '"joined"'
  );
}

/** The room events a member should see: everything sequenced after its join and before its leave. */
export function expectedFor(timeline: Timeline, membership: Membership): RoomRecord[] {
  return timeline.events.filter(
    (event) =>
      event.life === membership.life &&
      event.roomSeq > membership.joinedSeq &&
      (membership.leftSeq === undefined || event.roomSeq < membership.leftSeq),
  );
}

export type { RunRecord };
