import { formatAddress, nameKey } from '../../engine/index.ts';
import { INJECTION_KINDS, type InjectionKind } from './adversary.ts';
import { turnedAwayAddresses } from './check-lifecycle.ts';
import { type ClientRecord, type RunRecord, runScenario } from './run.ts';
import { type Scenario, SIM_PASSWORD, SIM_WRONG_PASSWORD } from './scenario.ts';
import { isWelcome, membershipOf, membershipsOf, readTimeline, type Timeline } from './timeline.ts';

/**
 * What the checker holds a run with an adversary to, beyond every other guarantee (which hold under
 * an adversary as they do under faults). Each check is empty for a run without one: they are wired
 * into the checker's list (check.ts) but judge only what an adversary could break.
 */

/** The guarantees an adversary must not break, one name each (in check.ts's `INVARIANTS`). */
export const ADVERSARY_INVARIANTS = [
  'adversary-authorship',
  'adversary-harmless',
  'adversary-secrecy',
] as const;
export type AdversaryInvariant = (typeof ADVERSARY_INVARIANTS)[number];

/** Secrets shorter than this are not searched for: a 3-byte string turns up in random bytes too often. */
export const SECRET_BYTES_MIN = 4;
/** Problems reported per check at most: the first say what broke, the rest would bury them. */
const PROBLEM_COUNT_MAX = 12;

const encoder = new TextEncoder();

function capped(problems: string[]): string[] {
  return problems.length <= PROBLEM_COUNT_MAX
    ? problems
    : [...problems.slice(0, PROBLEM_COUNT_MAX), `… and ${problems.length - PROBLEM_COUNT_MAX} more`];
}

/**
 * (a) Nobody ever sees a message its author did not send: every `message` a client shows carries a
 * text that a client of that very name said, before it was shown, and no viewer is shown it more often
 * than clients of that name said it. The other checks hold clients to what the server sequenced; this
 * one holds them to what people typed, so a forgery the server took for real is caught here too.
 */
export function checkSeenAsSaid(run: RunRecord): string[] {
  if (run.adversary === undefined) {
    return [];
  }
  const problems: string[] = [];
  for (const viewer of run.clients) {
    const shown = new Map<string, number>();
    for (const { t, event } of viewer.events) {
      if (event.type !== 'message') {
        continue;
      }
      const authors = run.clients.filter((client) => client.plan.name === event.from);
      const said = authors.reduce(
        (count, author) =>
          count + author.said.filter((line) => line.event === event.text && line.t <= t).length,
        0,
      );
      const key = JSON.stringify([event.from, event.text]);
      const times = (shown.get(key) ?? 0) + 1;
      shown.set(key, times);
      const what = `${viewer.node} was shown ${JSON.stringify(event.text)} from ${event.from} (#${event.roomSeq}) at ${t} ms`;
      if (authors.length === 0) {
        problems.push(`${what}, but no client is named ${event.from}`);
      } else if (said === 0) {
        problems.push(`${what}, which no client named ${event.from} had said`);
      } else if (times > said) {
        problems.push(
          `${what}, for the ${times}th time, though clients named ${event.from} had said it ${said} times`,
        );
      }
    }
  }
  return capped(problems);
}

/** Whether the network itself did nothing to the run: no loss, partition, copy or reordering. */
export function networkFaultFree(run: RunRecord): boolean {
  const network = run.network;
  return network.dropped.loss + network.dropped.partition + network.duplicated + network.reordered === 0;
}

/** The same scenario with its adversary taken away: the honest run the adversary's is held to. */
export function withoutAdversary(scenario: Scenario): Scenario {
  const { adversary: _adversary, ...honest } = scenario;
  return honest;
}

/** What happened to one client, in words that compare between two runs of one scenario. */
interface Fate {
  readonly welcomed: boolean;
  readonly rejections: readonly string[];
  readonly closed: string | undefined;
  /** Why the server let its session go, if it did. */
  readonly left: string | undefined;
}

function fateOf(client: ClientRecord, timeline: Timeline): Fate {
  const membership = membershipOf(timeline, client);
  const events = client.events.map(({ event }) => event);
  return {
    welcomed: events.some((event) => isWelcome(event)),
    rejections: events.flatMap((event) => (event.type === 'rejected' ? [event.reason] : [])),
    closed: events.flatMap((event) => (event.type === 'closed' ? [event.reason] : []))[0],
    left: membership?.leftReason,
  };
}

function describeFate(fate: Fate): string {
  const parts = [
    fate.welcomed ? 'was welcomed' : 'was never welcomed',
    ...fate.rejections.map((reason) => `was refused (${reason})`),
    ...(fate.left === undefined ? [] : [`left (${fate.left})`]),
    fate.closed === undefined ? 'never closed' : `closed (${fate.closed})`,
  ];
  return parts.join(', ');
}

/** Admissions of sessions that no client holds at the end: members nobody is. */
function ghostAdmissions(run: RunRecord, timeline: Timeline): string[] {
  const held = new Set(run.clients.flatMap((client) => client.sessionIds));
  return [...timeline.memberships.values()]
    .filter((membership) => !held.has(membership.sessionId))
    .map((membership) => `${membership.name} (session ${membership.sessionId}, #${membership.joinedSeq})`);
}

/**
 * A member removed by the adversary: the room let its session go, yet its client neither quit nor
 * crashed first, and the run without the adversary did not let it go so.
 */
function removals(client: ClientRecord, timeline: Timeline, mine: Fate, honest: Fate): string[] {
  const membership = membershipOf(timeline, client);
  if (membership?.leftReason === undefined || membership.leftAtMs === undefined) {
    return [];
  }
  const leftAtMs = membership.leftAtMs;
  const quit = membership.leftReason === 'quit' && (client.quitAtMs ?? Number.POSITIVE_INFINITY) <= leftAtMs;
  const crashed =
    membership.leftReason === 'timeout' && (client.crashedAtMs ?? Number.POSITIVE_INFINITY) <= leftAtMs;
  if (quit || crashed || honest.left === mine.left) {
    return [];
  }
  const cause = membership.leftCause === undefined ? '' : `, ${membership.leftCause}`;
  return [
    `${client.node} (${client.plan.name}) was removed from the room (${membership.leftReason}${cause}) at ${leftAtMs} ms without quitting or crashing; without the adversary it ${describeFate(honest)}`,
  ];
}

/** A client closed for a reason of the adversary's making: not its QUIT, not the shutdown, not as without it. */
function closings(client: ClientRecord, run: RunRecord, mine: Fate, honest: Fate): string[] {
  const closed = mine.closed;
  if (closed === undefined || closed === 'rejected' || closed === honest.closed) {
    return [];
  }
  if (
    (closed === 'quit' && client.quitAtMs !== undefined) ||
    (closed === 'server-closed' && run.scenario.shutdownAtMs !== undefined)
  ) {
    return [];
  }
  return [
    `${client.node} (${client.plan.name}) closed (${closed}); without the adversary it ${describeFate(honest)}`,
  ];
}

/** A client renamed: welcomed, or admitted by the room, under a name other than the one it asked for. */
function renamings(client: ClientRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  for (const { event } of client.events) {
    if (isWelcome(event) && event.name !== client.plan.name) {
      problems.push(`${client.node} asked for ${client.plan.name} but was welcomed as ${event.name}`);
    }
  }
  for (const membership of membershipsOf(timeline, client)) {
    if (membership.name !== client.plan.name) {
      problems.push(
        `${client.node} asked for ${client.plan.name} but the room admitted it as ${membership.name}`,
      );
    }
  }
  return problems;
}

/** A client kept out, or refused for a reason the run without the adversary did not give it. */
function refusals(client: ClientRecord, mine: Fate, honest: Fate, run: RunRecord): string[] {
  // Clients that ask for one name race for it, and an adversary that delivers a copy of one's packets
  // early (it sits halfway along the path) changes who wins, as a faster path would: losing that race
  // is no harm done by it, as long as the winner is one of them (the ghost check covers the rest).
  const racing =
    run.clients.filter((other) => nameKey(other.plan.name) === nameKey(client.plan.name)).length > 1;
  // So do more clients than the room has places, for the last ones.
  const crowded = run.clients.length > run.scenario.room.memberCountMax;
  const lostRace =
    (racing && mine.rejections.includes('name-taken')) || (crowded && mine.rejections.includes('room-full'));
  // A client without the password told so is told the truth, however soon: an adversary's copy of its
  // HELLO may bring the verdict an attempt earlier, before the run without it ended.
  const truth = (reason: string) => reason === 'bad-password' && !client.plan.knowsPassword;
  const problems = mine.rejections
    .filter(
      (reason) =>
        !honest.rejections.includes(reason) &&
        !truth(reason) &&
        !(lostRace && (reason === 'name-taken' || reason === 'room-full')),
    )
    .map(
      (reason) =>
        `${client.node} (${client.plan.name}) was refused (${reason}); without the adversary it ${describeFate(honest)}`,
    );
  if (honest.welcomed && !mine.welcomed && !lostRace) {
    problems.push(
      `${client.node} (${client.plan.name}) never got in, though without the adversary it ${describeFate(honest)}`,
    );
  }
  return problems;
}

/**
 * (b) No member is removed, renamed or refused because of the adversary. Judged where the adversary is
 * the only thing that goes wrong (the network lost, copied and reordered nothing): the same scenario
 * is run again without it, and every client's fate must be as it was there: it gets in when it got in
 * there, is refused for no reason it was not refused for there, leaves the room only by its own QUIT,
 * its crash, or as it left there, closes only by its QUIT, the shutdown or as it closed there, keeps
 * the name it asked for, and the room admits no member that no client is.
 */
export function checkHarmless(run: RunRecord): string[] {
  if (run.adversary === undefined || !networkFaultFree(run)) {
    return [];
  }
  const honestRun = runScenario(withoutAdversary(run.scenario));
  const timeline = readTimeline(run.server, run.serverCrashes);
  const honestTimeline = readTimeline(honestRun.server, honestRun.serverCrashes);
  const problems: string[] = [];
  // A server that turned JOINs away for its own load (its table of recent key exchanges or of sessions
  // full) makes who gets in a matter of timing, which the adversary's early copies change as a faster
  // path would; that the server did so only when full is the checker's busy rule.
  const turnedAway = new Set([...turnedAwayAddresses(run), ...turnedAwayAddresses(honestRun)]);
  run.clients.forEach((client, index) => {
    if (turnedAway.has(formatAddress(client.address))) {
      return;
    }
    const honestClient = honestRun.clients[index];
    const mine = fateOf(client, timeline);
    const honest = honestClient === undefined ? mine : fateOf(honestClient, honestTimeline);
    problems.push(
      ...removals(client, timeline, mine, honest),
      ...closings(client, run, mine, honest),
      ...renamings(client, timeline),
      ...refusals(client, mine, honest, run),
    );
  });
  const ghosts = ghostAdmissions(run, timeline);
  if (ghosts.length > ghostAdmissions(honestRun, honestTimeline).length) {
    problems.push(`the room admitted members no client is: ${ghosts.join(', ')}`);
  }
  return capped(problems);
}

/** A secret to look for on the wire, and how to name it in a report. */
interface Secret {
  readonly bytes: Uint8Array;
  readonly what: string;
}

function isOneByteOver(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === bytes[0]);
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) >= 0;
}

/**
 * What must never travel in the clear: the room password (and the wrong one a client typed: a guess
 * is a secret too), and every text of 4 bytes or more a client was to say. Left out, as what the wire
 * may hold for other reasons: a text of one byte repeated (padding is runs of zeros) and a text
 * within a client's name (a handshake may carry the name in the clear). A 4-byte text turns up by
 * chance in random bytes once in 2^32 places: over the few hundred kilobytes of a large run, a few
 * in a hundred thousand runs for each 4-byte text, and 256 times fewer for each byte more.
 */
function secretsOf(scenario: Scenario): Secret[] {
  const names = scenario.clients.map((plan) => encoder.encode(plan.name));
  const secrets: Secret[] = [
    { bytes: encoder.encode(SIM_PASSWORD), what: 'the room password' },
    { bytes: encoder.encode(SIM_WRONG_PASSWORD), what: 'the wrong password a client typed' },
  ];
  const texts = new Set(scenario.clients.flatMap((plan) => plan.says.map((say) => say.text)));
  for (const text of texts) {
    const bytes = encoder.encode(text);
    if (
      bytes.byteLength >= SECRET_BYTES_MIN &&
      !isOneByteOver(bytes) &&
      !names.some((name) => contains(name, bytes))
    ) {
      secrets.push({
        bytes,
        what: `the text ${JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text)} (${bytes.byteLength} bytes)`,
      });
    }
  }
  return secrets;
}

/**
 * (c) No datagram carries a secret in the clear: none that any node sent holds, as UTF-8 bytes, the
 * room password or any message's text of 4 bytes or more. The adversary saw every one of them.
 */
export function checkSecrecy(run: RunRecord): string[] {
  const wire = run.adversary?.wire;
  if (wire === undefined) {
    return [];
  }
  const problems: string[] = [];
  for (const secret of secretsOf(run.scenario)) {
    const index = wire.find(secret.bytes);
    const seen = index === undefined ? undefined : wire.at(index);
    if (seen !== undefined) {
      problems.push(
        `${secret.what} is on the wire in the clear: send ${seen.send} (${seen.from} -> ${seen.toName}, ${seen.bytes.byteLength} B at ${seen.t} ms)`,
      );
    }
  }
  return capped(problems);
}

/** The adversary's checks by name, for check.ts's table; each takes the run alone. */
export const ADVERSARY_CHECKS: Readonly<Record<AdversaryInvariant, (run: RunRecord) => string[]>> = {
  'adversary-authorship': checkSeenAsSaid,
  'adversary-harmless': checkHarmless,
  'adversary-secrecy': checkSecrecy,
};

const INJECTED_GOALS: Readonly<Record<`injected-${InjectionKind}`, string>> = {
  'injected-replay': 'an exact copy of a seen datagram injected',
  'injected-bit-flip': 'a seen datagram injected with bits flipped',
  'injected-truncate': 'a seen datagram injected cut short',
  'injected-extend': 'a seen datagram injected with bytes appended',
  'injected-reflect': 'a seen datagram reflected to its sender, or to the server as from a member',
  'injected-forge-random': 'random bytes injected',
  'injected-forge-header': "a seen datagram's header injected with a random body",
  'injected-forge-packet-number': 'a seen session packet injected under another packet number',
  'injected-forge-wait': 'a WAIT forged for a seen handshake',
};

/**
 * (d) The adversary's "sometimes" goals, as goals.ts's are for the network: over a property's runs
 * every kind of injection went out, injections reached the server and clients, claimed each kind of
 * address, and some run had the adversary alone on a network without faults (where
 * {@link checkHarmless} judges it).
 */
export const ADVERSARY_GOALS = {
  ...INJECTED_GOALS,
  'injection-reached-server': 'an injected datagram delivered to the server',
  'injection-reached-client': 'an injected datagram delivered to a client',
  'spoofed-as-server': "an injection claiming the server's address",
  'spoofed-as-member': "an injection claiming a client's address",
  'spoofed-as-stranger': 'an injection claiming an address nobody holds',
  'adversary-without-faults': 'an adversary injecting on a network without faults',
} as const;
export type AdversaryGoal = keyof typeof ADVERSARY_GOALS;

/** The adversary's goals one run reached (none without an adversary). */
export function adversaryGoalsReached(run: RunRecord): Set<AdversaryGoal> {
  const reached = new Set<AdversaryGoal>();
  const report = run.adversary;
  if (report === undefined) {
    return reached;
  }
  for (const kind of INJECTION_KINDS) {
    if (report.injected[kind] > 0) {
      reached.add(`injected-${kind}`);
    }
  }
  const reach = (goal: AdversaryGoal, happened: boolean) => {
    if (happened) {
      reached.add(goal);
    }
  };
  reach('injection-reached-server', report.reached.server > 0);
  reach('injection-reached-client', report.reached.client > 0);
  reach('spoofed-as-server', report.spoofedAs.server > 0);
  reach('spoofed-as-member', report.spoofedAs.member > 0);
  reach('spoofed-as-stranger', report.spoofedAs.stranger > 0);
  reach('adversary-without-faults', report.injectionCount > 0 && networkFaultFree(run));
  return reached;
}
