import { formatAddress } from '../../engine/index.ts';
import { ADVERSARY_CHECKS, ADVERSARY_INVARIANTS } from './check-adversary.ts';
import {
  checkCrashTimeouts,
  checkLiveness,
  checkNoDeathWhileHeard,
  checkNoWrongfulDeath,
  checkShutdown,
  turnedAwayAddresses,
} from './check-lifecycle.ts';
import { checkTableBounds } from './check-tables.ts';
import type { RunRecord } from './run.ts';
import { SIM_SERVER_CONFIG } from './scenario.ts';
import {
  clientsBySession,
  expectedFor,
  isComplete,
  isWelcome,
  type Membership,
  memberAtClose,
  membershipOf,
  membershipsOf,
  type RoomRecord,
  readTimeline,
  type SeenEvent,
  sameNameKey,
  segmentsOf,
  sequencedTexts,
  type Timeline,
} from './timeline.ts';

/** The guarantees TESTING.md lists ("What the checker holds each run to"), one name each; the properties test them one per test. */
export const INVARIANTS = [
  'run-health',
  'join-notice',
  'relay',
  'quit',
  'password-and-names',
  'crash-timeout',
  'authorship',
  'tables-bounded',
  'liveness',
  'no-wrongful-death',
  'shutdown',
  // What an adversary must not break (check-adversary.ts): empty for a run without one.
  ...ADVERSARY_INVARIANTS,
] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Violation {
  readonly invariant: Invariant;
  readonly message: string;
}

export type Check = (run: RunRecord, timeline: Timeline) => string[];

/** Checks one run against every guarantee; an empty list means it kept them all. */
export function checkRun(run: RunRecord, only?: readonly Invariant[]): Violation[] {
  const timeline = readTimeline(run.server, run.serverCrashes);
  const violations: Violation[] = [];
  for (const invariant of only ?? INVARIANTS) {
    for (const message of CHECKS[invariant](run, timeline)) {
      violations.push({ invariant, message });
    }
  }
  return violations;
}

const CHECKS: Record<Invariant, Check> = {
  'run-health': checkRunHealth,
  'join-notice': checkJoinNotices,
  relay: checkRelay,
  quit: checkQuit,
  'password-and-names': checkPasswordAndNames,
  'crash-timeout': checkCrashTimeouts,
  authorship: checkAuthorship,
  'tables-bounded': checkTableBounds,
  liveness: checkLiveness,
  'no-wrongful-death': (run, timeline) => [
    ...checkNoWrongfulDeath(run, timeline),
    ...checkNoDeathWhileHeard(run, timeline),
  ],
  shutdown: checkShutdown,
  ...ADVERSARY_CHECKS,
};

/** No actor failed, the step budget held, the room's order has no gap, and no session is claimed twice. */
function checkRunHealth(run: RunRecord, timeline: Timeline): string[] {
  const problems = [
    ...run.errors.map((error) => `an actor failed: ${error}`),
    ...(run.budgetExhausted ? [`the step budget of ${run.scenario.stepCountMax} ran out: a livelock?`] : []),
    ...timeline.problems.filter(
      (problem) => problem.startsWith('room event') || problem.includes('admitted twice'),
    ),
  ];
  const owners = new Map<string, string>();
  for (const client of run.clients) {
    for (const sessionId of client.sessionIds) {
      const other = owners.get(sessionId);
      if (other !== undefined) {
        problems.push(`${other} and ${client.node} were both accepted into session ${sessionId}`);
      }
      owners.set(sessionId, client.node);
    }
  }
  return problems;
}

function sameEvent(seen: SeenEvent, truth: RoomRecord): boolean {
  switch (seen.type) {
    case 'joined':
      return truth.kind === 'joined' && truth.name === seen.name;
    case 'message':
      return truth.kind === 'message' && truth.from === seen.from && truth.text === seen.text;
    case 'left':
      return truth.kind === 'left' && truth.name === seen.name && truth.reason === seen.reason;
  }
}

/**
 * What a client has shown of each author, as the guarantee that each text is shown at most once
 * states it, written here from the rule rather than taken from the engine: a text is named by its
 * author's name, origin and line; an author's texts come in order, so one at or below the highest line
 * shown of that origin is a repeat (resent after a rejoin). The client's own texts are its
 * confirmations: each once.
 */
class ShownTexts {
  readonly #highest = new Map<string, { origin: string; line: number }>();
  #ownLine = 0;

  /** Whether the client shows `message`: it does not show a repeat. */
  wouldShow(message: Extract<RoomRecord, { kind: 'message' }>, own: boolean): boolean {
    if (own) {
      return message.line > this.#ownLine;
    }
    const highest = this.#highest.get(sameNameKey(message.from));
    return highest === undefined || highest.origin !== message.origin || message.line > highest.line;
  }

  /** The client showed `message`. */
  show(message: Extract<RoomRecord, { kind: 'message' }>, own: boolean): void {
    if (own) {
      this.#ownLine = message.line;
    } else {
      this.#highest.set(sameNameKey(message.from), { origin: message.origin, line: message.line });
    }
  }
}

/**
 * The transcript of a client against what the server sequenced for it, membership by membership (a
 * client that rejoined had several): a prefix of each, in order, each event once and as sequenced,
 * but for texts shown already (resent after a rejoin); all of the last when the client is complete.
 * Every room-event invariant rests on this; each reports the problems about its own kind of event.
 */
function transcriptProblems(run: RunRecord, timeline: Timeline, kind: RoomRecord['kind']): string[] {
  const problems: string[] = [];
  for (const client of run.clients) {
    const own = new Set(client.sessionIds);
    const shown = new ShownTexts();
    const segments = segmentsOf(timeline, client);
    segments.forEach((segment, segmentIndex) => {
      const { membership, seen } = segment;
      const expected = membership === undefined ? [] : expectedFor(timeline, membership);
      let index = 0;
      let want = 0;
      for (; index < seen.length; index += 1, want += 1) {
        const got = seen[index];
        // Texts the client rightly does not show again are passed over, in the room's order.
        while (expected[want]?.kind === 'message' && !wouldShow(shown, expected[want], own)) {
          want += 1;
        }
        const truth = expected[want];
        if (got === undefined) {
          break;
        }
        if (truth === undefined) {
          if (kindOf(got) === kind) {
            problems.push(`${client.node} saw ${describeSeen(got)}, which was not sequenced for it`);
          }
          break;
        }
        if (got.roomSeq !== truth.roomSeq || !sameEvent(got, truth)) {
          if (truth.kind === kind || kindOf(got) === kind) {
            problems.push(
              `${client.node} saw ${describeSeen(got)} where the room had ${describeRecord(truth)}`,
            );
          }
          break;
        }
        if (truth.kind === 'message') {
          shown.show(truth, own.has(truth.sessionId));
        }
      }
      const last = segmentIndex === segments.length - 1;
      if (membership !== undefined && last && index === seen.length && isComplete(client, membership)) {
        const missing = expected
          .slice(want)
          .filter(
            (event) => event.kind === kind && (event.kind !== 'message' || wouldShow(shown, event, own)),
          );
        if (missing.length > 0) {
          problems.push(
            `${client.node} (${client.plan.name}) never saw ${missing.map(describeRecord).join(', ')}`,
          );
        }
      }
    });
  }
  return problems;
}

/** Whether the client would show `record` now (any event but a repeated text). */
function wouldShow(shown: ShownTexts, record: RoomRecord | undefined, own: ReadonlySet<string>): boolean {
  return record?.kind !== 'message' || shown.wouldShow(record, own.has(record.sessionId));
}

function kindOf(event: SeenEvent): RoomRecord['kind'] {
  return event.type;
}

/** Room events, as seen by a client or as sequenced by the server, in one notation for reports. */
type Describable =
  | { readonly kind: 'joined'; readonly name: string; readonly roomSeq: number }
  | { readonly kind: 'message'; readonly from: string; readonly text: string; readonly roomSeq: number }
  | { readonly kind: 'left'; readonly name: string; readonly reason: string; readonly roomSeq: number };

function describeRecord(record: Describable): string {
  switch (record.kind) {
    case 'joined':
      return `joined(${record.name})#${record.roomSeq}`;
    case 'message':
      return `message(${record.from}: ${JSON.stringify(record.text)})#${record.roomSeq}`;
    case 'left':
      return `left(${record.name}, ${record.reason})#${record.roomSeq}`;
  }
}

function describeSeen(event: SeenEvent): string {
  return describeRecord({ ...event, kind: event.type } as Describable);
}

/** Exactly one notice of each join, and never a message from someone the member was not told of. */
function checkJoinNotices(run: RunRecord, timeline: Timeline): string[] {
  const problems = transcriptProblems(run, timeline, 'joined');
  for (const client of run.clients) {
    const segments = segmentsOf(timeline, client);
    const membership = membershipOf(timeline, client);
    // A member that stayed to the end was welcomed (or welcomed back), with the room as it was at its join.
    if (
      membership !== undefined &&
      isComplete(client, membership) &&
      !segments.some((segment) => segment.membership === membership)
    ) {
      problems.push(`${client.node} (${client.plan.name}) was a member to the end but never got its welcome`);
    }
    for (const { welcome, membership: joined, seen } of segments) {
      if (welcome === undefined) {
        for (const event of seen) {
          problems.push(`${client.node} was shown ${event.type} (#${event.roomSeq}) before its welcome`);
        }
        continue;
      }
      if (joined === undefined) {
        problems.push(
          `${client.node} was welcomed (${welcome.type}, #${welcome.roomSeq}) in a session the room never admitted`,
        );
      }
      const known = new Set(welcome.members.map(sameNameKey));
      if (joined !== undefined && welcome.members.join() !== joined.membersAtJoin.join()) {
        problems.push(
          `${client.node}'s ${welcome.type} listed [${welcome.members}] but the room held [${joined.membersAtJoin}]`,
        );
      }
      for (const event of seen) {
        if (event.type === 'joined') {
          known.add(sameNameKey(event.name));
        } else if (event.type === 'left') {
          known.delete(sameNameKey(event.name));
        } else if (!known.has(sameNameKey(event.from))) {
          problems.push(
            `${client.node} saw a message from ${event.from} before any notice that ${event.from} joined`,
          );
        }
      }
    }
  }
  return problems;
}

/**
 * Every sequenced message reaches every member of its time once, in the room's order; what the server
 * sequenced from a client is, byte for byte and in order, what that client's user said; nothing said
 * is lost without a word.
 */
function checkRelay(run: RunRecord, timeline: Timeline): string[] {
  const problems = [...transcriptProblems(run, timeline, 'message'), ...shownTwiceProblems(run, timeline)];
  for (const client of run.clients) {
    const atServer = sequencedTexts(timeline, client);
    const said = client.said.map(({ event }) => event);
    if (atServer.length > said.length) {
      problems.push(
        `the server sequenced ${atServer.length} messages from ${client.node}'s session, which said ${said.length}`,
      );
    }
    atServer.forEach((text, index) => {
      if (index < said.length && text !== said[index]) {
        problems.push(
          `${client.node}'s message ${index} reached the server as ${JSON.stringify(text)}, not ${JSON.stringify(said[index])}`,
        );
      }
    });
    const closed = client.events.find(({ event }) => event.type === 'closed')?.event;
    const welcomed = memberAtClose(client);
    const unsent = said.length - atServer.length;
    if (closed?.type === 'closed' && closed.reason === 'quit' && unsent > 0) {
      // A confirmed QUIT comes after every message said before it; a QUIT before joining must say what it dropped.
      const reported = client.events.some(({ event }) => event.type === 'error' && event.code === 'not-sent');
      if (welcomed || !reported) {
        problems.push(`${client.node} quit with ${unsent} of its messages never sequenced, unreported`);
      }
    }
  }
  return problems;
}

/**
 * No client shows one line of one author twice, over all its memberships: the plain statement of "at
 * most once", on the truth of what each shown message was (its author's origin and line), whatever the
 * transcripts' rules.
 */
function shownTwiceProblems(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  for (const client of run.clients) {
    const shownAt = new Map<string, number>();
    for (const { membership, seen } of segmentsOf(timeline, client)) {
      for (const event of seen) {
        const truth =
          membership === undefined ? undefined : timeline.bySeq[membership.life]?.get(event.roomSeq);
        if (event.type !== 'message' || truth?.kind !== 'message') {
          continue;
        }
        const key = `${truth.origin}/${truth.line}`;
        const earlier = shownAt.get(key);
        if (earlier !== undefined) {
          problems.push(
            `${client.node} was shown line ${truth.line} of ${truth.from} twice (#${earlier}, then #${truth.roomSeq})`,
          );
        }
        shownAt.set(key, truth.roomSeq);
      }
    }
  }
  return problems;
}

/** A QUIT is announced once to each remaining member, the quitter hears nothing after it, and its confirmation is true. */
function checkQuit(run: RunRecord, timeline: Timeline): string[] {
  const problems = transcriptProblems(run, timeline, 'left');
  for (const client of run.clients) {
    const membership = membershipOf(timeline, client);
    const closed = client.events.find(({ event }) => event.type === 'closed')?.event;
    const welcomed = memberAtClose(client);
    // A QUIT before the welcome abandons a handshake; only a member's QUIT is confirmed by the server.
    if (
      closed?.type === 'closed' &&
      closed.reason === 'quit' &&
      welcomed &&
      membership !== undefined &&
      membership.leftReason !== 'quit'
    ) {
      problems.push(`${client.node} was told its QUIT was confirmed, but the server never processed it`);
    }
    const closedIndex = client.events.findIndex(({ event }) => event.type === 'closed');
    if (closedIndex >= 0 && closedIndex !== client.events.length - 1) {
      problems.push(`${client.node} saw ${client.events.length - 1 - closedIndex} events after it closed`);
    }
    for (const { membership: of, seen } of segmentsOf(timeline, client)) {
      const late = seen.filter((event) => of?.leftSeq !== undefined && event.roomSeq >= of.leftSeq);
      if (late.length > 0) {
        problems.push(
          `${client.node} saw ${late.map(describeSeen).join(', ')} after it left at #${of?.leftSeq}`,
        );
      }
    }
  }
  return problems;
}

/** Wrong passwords never get in; a name is refused as taken only while held, and never held twice. */
function checkPasswordAndNames(run: RunRecord, timeline: Timeline): string[] {
  const problems = timeline.problems.filter((problem) => !problem.startsWith('room event'));
  for (const client of run.clients) {
    const admitted = membershipsOf(timeline, client).length > 0;
    const welcomed = client.events.some(({ event }) => isWelcome(event));
    if (!client.plan.knowsPassword && (admitted || welcomed)) {
      problems.push(`${client.node} joined with a wrong password`);
    }
    // A client cannot tell a wrong password from answers forged at it (neither opens with its key), and
    // says both: with the right password, only an adversary's injections reaching it excuse it.
    const forgedAt =
      run.adversary?.injections.some(
        (injection) =>
          injection.reached === 'client' && formatAddress(injection.to) === formatAddress(client.address),
      ) === true;
    for (const { event } of client.events) {
      if (
        event.type === 'rejected' &&
        event.reason === 'bad-password' &&
        client.plan.knowsPassword &&
        !forgedAt
      ) {
        problems.push(`${client.node} was refused as having a wrong password, but it had the right one`);
      }
    }
  }
  problems.push(...faultFreeJoinProblems(run), ...busyProblems(run), ...replayedJoinProblems(run, timeline));
  return problems;
}

/**
 * A JOIN replayed after its handshake completed opens no session. One handshake may open two only if
 * its client never got the first: the first ended before its ACCEPT arrived (a slow handshake), and
 * the client, still retrying, was let in again. A client that holds the earlier session finished
 * that handshake, so a later session from it is a ghost made of a replay.
 */
function replayedJoinProblems(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  const holders = clientsBySession(run);
  const byHandshake = new Map<string, string[]>();
  for (const membership of [...timeline.memberships.values()].sort((a, b) => a.joinedSeq - b.joinedSeq)) {
    const sessions = byHandshake.get(membership.handshake) ?? [];
    for (const earlier of sessions) {
      const holder = holders.get(earlier);
      if (holder !== undefined) {
        problems.push(
          `${holder.node} joined as session ${earlier}, and a replay of its JOIN opened another, ${membership.sessionId} at #${membership.joinedSeq}`,
        );
      }
    }
    byHandshake.set(membership.handshake, [...sessions, membership.sessionId]);
  }
  problems.push(...handshakeSessionProblems(run));
  return problems;
}

/**
 * One handshake, one session at a time, and none after a claimed one: a session opens at the ACCEPT,
 * before any membership, so a JOIN copy that opened a second one is seen here even if nobody ever
 * claims it. A new exchange on the same handshake (a fresh cookie) may follow one that ended unclaimed.
 */
function handshakeSessionProblems(run: RunRecord): string[] {
  const problems: string[] = [];
  const open = new Map<string, string>();
  const handshakeOf = new Map<string, string>();
  const claimed = new Set<string>();
  const crashIndexes = new Set(run.serverCrashes.map((crash) => crash.logIndex));
  for (const [index, { t, event }] of run.server.entries()) {
    if (crashIndexes.has(index)) {
      // A killed server's sessions died with it: a client still in that handshake may open another.
      open.clear();
    }
    if (event.type === 'session.opened') {
      const live = open.get(event.handshake);
      if (live !== undefined) {
        problems.push(
          `handshake ${event.handshake} opened session ${event.sessionId} at ${t} ms while ${live} was open`,
        );
      } else if (claimed.has(event.handshake)) {
        problems.push(
          `handshake ${event.handshake} opened session ${event.sessionId} at ${t} ms after one was claimed`,
        );
      }
      open.set(event.handshake, event.sessionId);
      handshakeOf.set(event.sessionId, event.handshake);
    } else if (event.type === 'member.joined') {
      claimed.add(event.handshake);
    } else if (event.type === 'session.ended') {
      const handshake = handshakeOf.get(event.sessionId);
      if (handshake !== undefined && open.get(handshake) === event.sessionId) {
        open.delete(handshake);
      }
    }
  }
  return problems;
}

/**
 * A JOIN is dropped as busy only while the table of recent joins is full: joins are remembered for
 * two cookie slots, so fewer joins than the table holds in that time leave room, and a busy drop
 * then means the table kept what it should have let go. It is dropped as full only while the session
 * table is.
 */
function busyProblems(run: RunRecord): string[] {
  const problems: string[] = [];
  const rememberedMs = 2 * SIM_SERVER_CONFIG.cookieSlotMs;
  // A join is remembered from its key exchange (the session's opening), whether it claims a name or
  // not, by the server process that ran it: a restarted one remembers nothing.
  const crashIndexes = new Set(run.serverCrashes.map((crash) => crash.logIndex));
  let joinTimes: number[] = [];
  let liveSessions = 0;
  for (const [index, { t, event }] of run.server.entries()) {
    if (crashIndexes.has(index)) {
      joinTimes = [];
      liveSessions = 0;
    }
    if (event.type === 'session.opened') {
      joinTimes.push(t);
      liveSessions += 1;
    } else if (event.type === 'session.ended') {
      liveSessions -= 1;
    }
    if (
      event.type === 'datagram.dropped' &&
      event.reason === 'full' &&
      liveSessions < run.scenario.room.sessionCountMax
    ) {
      problems.push(
        `a JOIN from ${event.address} was dropped as full at ${t} ms, with only ${liveSessions} sessions open (the table holds ${run.scenario.room.sessionCountMax})`,
      );
    }
    if (event.type !== 'datagram.dropped' || event.reason !== 'busy') {
      continue;
    }
    const remembered = joinTimes.filter((joinedAt) => joinedAt > t - rememberedMs && joinedAt <= t).length;
    if (remembered < run.scenario.room.recentJoinCountMax) {
      problems.push(
        `a JOIN from ${event.address} was dropped as busy at ${t} ms, with only ${remembered} joins in the last ${rememberedMs} ms (the table holds ${run.scenario.room.recentJoinCountMax})`,
      );
    }
  }
  return problems;
}

/**
 * On a network that lost, duplicated and reordered nothing, a client with the right password gets in,
 * unless its name is taken or the room is full (both checked against the room above) or it quit
 * first: a server that silently dropped its JOIN, or refused it for another reason, is caught here.
 */
function faultFreeJoinProblems(run: RunRecord): string[] {
  const network = run.network;
  if (network.dropped.loss + network.dropped.partition + network.duplicated + network.reordered > 0) {
    return [];
  }
  const problems: string[] = [];
  const stopAtMs = run.scenario.shutdownAtMs;
  // A server whose table of recent key exchanges (or of sessions) was full turned some JOINs away;
  // that it did so only when full is busyProblems' to check.
  const turnedAway = turnedAwayAddresses(run);
  for (const client of run.clients) {
    if (!client.started || !client.plan.knowsPassword || client.crashedAtMs !== undefined) {
      continue;
    }
    if (turnedAway.has(formatAddress(client.address))) {
      continue;
    }
    // A stopping server lets nobody in: a handshake still going when it was asked to stop may fail.
    if (stopAtMs !== undefined && (client.closedAtMs ?? Number.POSITIVE_INFINITY) >= stopAtMs) {
      continue;
    }
    const events = client.events.map(({ event }) => event);
    const rejected = events.find((event) => event.type === 'rejected');
    const closed = events.find((event) => event.type === 'closed');
    if (
      // Welcomed, or welcomed back: a server killed before the first welcome lets it in on a rejoin.
      events.some((event) => isWelcome(event)) ||
      (rejected?.type === 'rejected' &&
        (rejected.reason === 'name-taken' || rejected.reason === 'room-full')) ||
      (closed?.type === 'closed' && closed.reason === 'quit')
    ) {
      continue;
    }
    // Accepted just before the server was killed (an adversary's early copy of its HELLO or JOIN
    // may bring the ACCEPT out first), never welcomed, and its link died of the silence while the
    // server was down: it closes (timeout), as a member would.
    const closedAtMs = client.closedAtMs;
    if (
      closed?.type === 'closed' &&
      closed.reason === 'timeout' &&
      closedAtMs !== undefined &&
      client.sessionIds.length > 0 &&
      run.serverCrashes.some(
        (crash) => crash.atMs < closedAtMs && (crash.restartedAtMs ?? Number.POSITIVE_INFINITY) >= closedAtMs,
      )
    ) {
      continue;
    }
    const outcome =
      rejected?.type === 'rejected'
        ? `was refused (${rejected.reason})`
        : closed?.type === 'closed'
          ? `closed (${closed.reason})`
          : 'never got in';
    problems.push(
      `${client.node} (${client.plan.name}) had the right password on a network without faults but ${outcome}`,
    );
  }
  return problems;
}

/**
 * Every message anyone sees is exactly what its author said, under the author's name: the server
 * sequenced it from a session whose client said it, under the name that session joined with, and
 * every member saw it as sequenced.
 */
function checkAuthorship(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  const clientBySession = clientsBySession(run);
  for (const event of timeline.events) {
    if (event.kind !== 'message') {
      continue;
    }
    const author = clientBySession.get(event.sessionId);
    const membership = timeline.memberships.get(event.sessionId);
    if (author === undefined) {
      problems.push(
        `the server relayed ${JSON.stringify(event.text)} from session ${event.sessionId}, which no client holds`,
      );
    } else if (author.plan.name !== event.from || membership?.name !== event.from) {
      problems.push(
        `${author.node} (${author.plan.name}) said ${JSON.stringify(event.text)} but it went out as ${event.from}'s`,
      );
    }
  }
  for (const client of run.clients) {
    for (const { membership, seen: segment } of segmentsOf(timeline, client)) {
      authorshipOfSeen(client, membership, segment, timeline, problems);
    }
  }
  return problems;
}

/** Every message a client saw in one membership is one its server process relayed, as relayed. */
function authorshipOfSeen(
  client: RunRecord['clients'][number],
  membership: Membership | undefined,
  segment: readonly SeenEvent[],
  timeline: Timeline,
  problems: string[],
): void {
  for (const seen of segment) {
    if (seen.type !== 'message') {
      continue;
    }
    const truth = membership === undefined ? undefined : timeline.bySeq[membership.life]?.get(seen.roomSeq);
    if (
      truth === undefined ||
      truth.kind !== 'message' ||
      truth.from !== seen.from ||
      truth.text !== seen.text
    ) {
      problems.push(`${client.node} saw ${describeSeen(seen)}, which the server never relayed`);
    }
    if (seen.self !== (seen.from === client.plan.name)) {
      problems.push(`${client.node} saw ${describeSeen(seen)} marked self=${seen.self}`);
    }
  }
}
