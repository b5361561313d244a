import { allLinkStats } from './figures.ts';
import type { ClientRecord, RunRecord } from './run.ts';
import { SIM_LINK_CONFIG, SIM_SERVER_CONFIG } from './scenario.ts';
import {
  expectedFor,
  isComplete,
  membershipOf,
  type RoomRecord,
  readTimeline,
  type SeenEvent,
  sameNameKey,
  seenEvents,
  type Timeline,
} from './timeline.ts';

/** The guarantees of DESIGN.md, one name each; the properties test them one per test. */
export const INVARIANTS = [
  'run-health',
  'join-notice',
  'relay',
  'quit',
  'password-and-names',
  'crash-timeout',
  'authorship',
  'queue-bound',
  'liveness',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Violation {
  readonly invariant: Invariant;
  readonly message: string;
}

type Check = (run: RunRecord, timeline: Timeline) => string[];

/** Checks one run against every guarantee; an empty list means it kept them all. */
export function checkRun(run: RunRecord, only?: readonly Invariant[]): Violation[] {
  const timeline = readTimeline(run.server);
  const violations: Violation[] = [];
  for (const invariant of only ?? INVARIANTS) {
    for (const message of CHECKS[invariant](run, timeline)) {
      violations.push({ invariant, message });
    }
  }
  return violations;
}

const CHECKS: Record<Invariant, Check> = {
  'run-health': (run, timeline) => [
    ...run.errors.map((error) => `an actor failed: ${error}`),
    ...(run.budgetExhausted ? [`the step budget of ${run.scenario.stepCountMax} ran out: a livelock?`] : []),
    ...timeline.problems.filter((problem) => problem.startsWith('room event')),
  ],
  'join-notice': checkJoinNotices,
  relay: checkRelay,
  quit: checkQuit,
  'password-and-names': checkPasswordAndNames,
  'crash-timeout': checkCrashTimeouts,
  authorship: checkAuthorship,
  'queue-bound': checkQueueBounds,
  liveness: checkLiveness,
};

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
 * The transcript of a client against what the server sequenced for it: a prefix of it, in order,
 * each event once and as sequenced; all of it when the client is complete. Every room-event invariant
 * rests on this; each reports the problems about its own kind of event.
 */
function transcriptProblems(run: RunRecord, timeline: Timeline, kind: RoomRecord['kind']): string[] {
  const problems: string[] = [];
  for (const client of run.clients) {
    const membership = membershipOf(timeline, client);
    const seen = seenEvents(client);
    const expected = membership === undefined ? [] : expectedFor(timeline, membership);
    let index = 0;
    for (; index < seen.length; index += 1) {
      const got = seen[index];
      const want = expected[index];
      if (got === undefined) {
        break;
      }
      if (want === undefined) {
        if (kindOf(got) === kind) {
          problems.push(`${client.node} saw ${describeSeen(got)}, which was not sequenced for it`);
        }
        break;
      }
      if (got.roomSeq !== want.roomSeq || !sameEvent(got, want)) {
        if (want.kind === kind || kindOf(got) === kind) {
          problems.push(`${client.node} saw ${describeSeen(got)} where the room had ${describeRecord(want)}`);
        }
        break;
      }
    }
    if (membership !== undefined && index === seen.length && isComplete(client, membership)) {
      const missing = expected.slice(seen.length).filter((event) => event.kind === kind);
      if (missing.length > 0) {
        problems.push(
          `${client.node} (${client.plan.name}) never saw ${missing.map(describeRecord).join(', ')}`,
        );
      }
    }
  }
  return problems;
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
    let known: Set<string> | undefined;
    for (const { event } of client.events) {
      if (event.type === 'welcome') {
        known = new Set(event.members.map(sameNameKey));
        const membership = membershipOf(timeline, client);
        if (membership !== undefined && event.members.join() !== membership.membersAtJoin.join()) {
          problems.push(
            `${client.node}'s welcome listed [${event.members}] but the room held [${membership.membersAtJoin}]`,
          );
        }
      } else if (event.type === 'joined') {
        known?.add(sameNameKey(event.name));
      } else if (event.type === 'left') {
        known?.delete(sameNameKey(event.name));
      } else if (event.type === 'message' && known !== undefined && !known.has(sameNameKey(event.from))) {
        problems.push(
          `${client.node} saw a message from ${event.from} before any notice that ${event.from} joined`,
        );
      }
    }
  }
  return problems;
}

/** Every sequenced message reaches every member of its time once, in the room's order; nothing said is lost. */
function checkRelay(run: RunRecord, timeline: Timeline): string[] {
  const problems = transcriptProblems(run, timeline, 'message');
  for (const client of run.clients) {
    const prefix = `${client.node}#`;
    const atServer = timeline.events.filter(
      (event) => event.kind === 'message' && event.text.startsWith(prefix),
    );
    const said = client.said.map(({ event }) => event);
    atServer.forEach((event, index) => {
      if (event.kind === 'message' && event.text !== said[index]) {
        problems.push(
          `${client.node}'s message ${index} reached the server as ${JSON.stringify(event.text)}, not ${JSON.stringify(said[index])}`,
        );
      }
    });
    const closed = client.events.find(({ event }) => event.type === 'closed')?.event;
    const welcomed = client.events.some(({ event }) => event.type === 'welcome');
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

/** A QUIT is announced once to each remaining member, the quitter hears nothing after it, and its confirmation is true. */
function checkQuit(run: RunRecord, timeline: Timeline): string[] {
  const problems = transcriptProblems(run, timeline, 'left');
  for (const client of run.clients) {
    const membership = membershipOf(timeline, client);
    const closed = client.events.find(({ event }) => event.type === 'closed')?.event;
    const welcomed = client.events.some(({ event }) => event.type === 'welcome');
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
    if (membership?.leftSeq !== undefined) {
      const late = seenEvents(client).filter((event) => event.roomSeq >= (membership.leftSeq ?? 0));
      if (late.length > 0) {
        problems.push(
          `${client.node} saw ${late.map(describeSeen).join(', ')} after it left at #${membership.leftSeq}`,
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
    const membership = membershipOf(timeline, client);
    const welcomed = client.events.some(({ event }) => event.type === 'welcome');
    if (!client.plan.knowsPassword && (membership !== undefined || welcomed)) {
      problems.push(`${client.node} joined with a wrong password`);
    }
    for (const { event } of client.events) {
      if (event.type === 'rejected' && event.reason === 'bad-password' && client.plan.knowsPassword) {
        problems.push(`${client.node} was refused as having a wrong password, but it had the right one`);
      }
    }
  }
  problems.push(...faultFreeJoinProblems(run));
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
  for (const client of run.clients) {
    if (!client.started || !client.plan.knowsPassword || client.crashedAtMs !== undefined) {
      continue;
    }
    const events = client.events.map(({ event }) => event);
    const rejected = events.find((event) => event.type === 'rejected');
    const closed = events.find((event) => event.type === 'closed');
    if (
      events.some((event) => event.type === 'welcome') ||
      (rejected?.type === 'rejected' &&
        (rejected.reason === 'name-taken' || rejected.reason === 'room-full')) ||
      (closed?.type === 'closed' && closed.reason === 'quit')
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

/** A client that went silent is announced as left (timeout) within the idle timeout. */
function checkCrashTimeouts(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  const slackMs = maxNetworkDelayMs(run) + 1;
  for (const client of run.clients) {
    const crashedAtMs = client.crashedAtMs;
    const membership = membershipOf(timeline, client);
    if (crashedAtMs === undefined || membership === undefined) {
      continue;
    }
    if (membership.leftSeq !== undefined && (membership.leftAtMs ?? 0) <= crashedAtMs) {
      continue;
    }
    const deadlineMs = Math.max(crashedAtMs, membership.joinedAtMs) + SIM_LINK_CONFIG.idleTimeoutMs + slackMs;
    if (deadlineMs > run.scenario.endAtMs) {
      continue;
    }
    if (membership.leftAtMs === undefined) {
      problems.push(`${client.node} crashed at ${crashedAtMs} ms and was never announced as left`);
    } else if (membership.leftAtMs > deadlineMs) {
      problems.push(
        `${client.node} crashed at ${crashedAtMs} ms but left only at ${membership.leftAtMs} ms (bound ${deadlineMs})`,
      );
    } else if (membership.leftReason !== 'timeout') {
      problems.push(`${client.node} crashed but left with reason ${membership.leftReason}`);
    }
  }
  return problems;
}

/** The longest a datagram can be in flight: base latency plus the largest extra delay on the tape. */
export function maxNetworkDelayMs(run: RunRecord): number {
  let extra = 0;
  for (const decision of run.scenario.faultTape) {
    extra = Math.max(extra, decision.delayMs);
  }
  return run.scenario.latencyMs + 2 * extra + 1;
}

/** Every message anyone sees is exactly what its author said, under the author's name. */
function checkAuthorship(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  const authorOfText = new Map<string, ClientRecord>();
  for (const client of run.clients) {
    for (const { event } of client.said) {
      authorOfText.set(event, client);
    }
  }
  for (const event of timeline.events) {
    if (event.kind !== 'message') {
      continue;
    }
    const author = authorOfText.get(event.text);
    if (author === undefined) {
      problems.push(`the server relayed ${JSON.stringify(event.text)}, which nobody said`);
    } else if (author.plan.name !== event.from) {
      problems.push(
        `${author.node} (${author.plan.name}) said ${JSON.stringify(event.text)} but it went out as ${event.from}'s`,
      );
    }
  }
  for (const client of run.clients) {
    for (const seen of seenEvents(client)) {
      if (seen.type !== 'message') {
        continue;
      }
      const truth = timeline.bySeq.get(seen.roomSeq);
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
  return problems;
}

/** No queue, buffer or table grows past its named maximum. */
function checkQueueBounds(run: RunRecord): string[] {
  const problems: string[] = [];
  for (const stats of allLinkStats(run)) {
    if (stats.sendQueueHighWater > SIM_LINK_CONFIG.sendQueueCountMax) {
      problems.push(
        `a send queue held ${stats.sendQueueHighWater} frames (max ${SIM_LINK_CONFIG.sendQueueCountMax})`,
      );
    }
    if (stats.reorderBufferHighWater > SIM_LINK_CONFIG.windowCount) {
      problems.push(
        `a reorder buffer held ${stats.reorderBufferHighWater} frames (max ${SIM_LINK_CONFIG.windowCount})`,
      );
    }
  }
  const final = run.serverHighWater;
  if (final.sessionCount > SIM_SERVER_CONFIG.sessionCountMax) {
    problems.push(
      `the server held ${final.sessionCount} sessions (max ${SIM_SERVER_CONFIG.sessionCountMax})`,
    );
  }
  if (final.memberCount > SIM_SERVER_CONFIG.memberCountMax) {
    problems.push(`the room held ${final.memberCount} members (max ${SIM_SERVER_CONFIG.memberCountMax})`);
  }
  if (final.recentJoinCount > SIM_SERVER_CONFIG.recentJoinCountMax) {
    problems.push(
      `the server remembered ${final.recentJoinCount} joins (max ${SIM_SERVER_CONFIG.recentJoinCountMax})`,
    );
  }
  return problems;
}

/**
 * Once the network has healed and the run has gone on for longer than every timeout, nothing is stuck:
 * every client that did not crash has either closed or is a member the room still holds, having had
 * every message it said sequenced; every QUIT has closed its client.
 */
function checkLiveness(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  for (const client of run.clients) {
    if (client.crashedAtMs !== undefined || !client.started) {
      continue;
    }
    const closed = client.events.some(({ event }) => event.type === 'closed');
    const membership = membershipOf(timeline, client);
    if (client.quitAtMs !== undefined && !closed) {
      problems.push(
        `${client.node} asked to QUIT at ${client.quitAtMs} ms and was still ${client.finalState} at the end`,
      );
      continue;
    }
    if (closed) {
      continue;
    }
    if (client.finalState !== '"joined"') {
      problems.push(
        `${client.node} was stuck in ${client.finalState} at the end, long after the network healed`,
      );
    } else if (membership === undefined || membership.leftSeq !== undefined) {
      problems.push(`${client.node} believes it is joined, but the room does not hold it at the end`);
    } else {
      const prefix = `${client.node}#`;
      const sequenced = timeline.events.filter(
        (event) => event.kind === 'message' && event.text.startsWith(prefix),
      );
      if (sequenced.length < client.said.length) {
        problems.push(
          `${client.node} is joined but ${client.said.length - sequenced.length} of its messages were never sequenced`,
        );
      }
    }
  }
  return problems;
}
