import { formatAddress } from '../../engine/index.ts';
import { type ClientRecord, type RunRecord, SERVER_ADDRESS } from './run.ts';
import { SERVER_NODE, SIM_CLIENT_CONFIG, SIM_LINK_CONFIG, SIM_SERVER_CONFIG } from './scenario.ts';
import {
  clientsBySession,
  isWelcome,
  membershipOf,
  membershipsOf,
  sequencedTexts,
  type Timeline,
} from './timeline.ts';

/**
 * The guarantees about how long things last: a crashed client is announced in time, nothing is
 * stuck once the network has healed, nobody alive and reachable is removed, and a stopped server
 * tells its members.
 */

/** The longest an ordinary datagram is in flight: base latency plus the largest extra delay (and its duplicate). */
export function maxNetworkDelayMs(run: RunRecord): number {
  let extra = 0;
  for (const decision of run.scenario.faultTape) {
    extra = Math.max(extra, decision.delayMs);
  }
  return run.scenario.latencyMs + 2 * extra + 1;
}

/**
 * How long after the network heals a death may still be the partition's doing, derived from the
 * link's limits rather than guessed: a live peer sends something at least every keepalive interval
 * (or every retransmission timeout, at most `rtoMaxMs`, while it has data in flight), and a client
 * still handshaking retries at least every `handshakeRetryMaxMs`; that datagram takes at most the
 * run's longest delay to arrive. A link that dies later than this after the heal was killed while
 * its peer's packets could reach it.
 */
export function deathGraceMs(run: RunRecord): number {
  return (
    Math.max(
      SIM_LINK_CONFIG.keepaliveIntervalMs,
      SIM_LINK_CONFIG.rtoMaxMs,
      SIM_CLIENT_CONFIG.handshakeRetryMaxMs,
    ) +
    maxNetworkDelayMs(run) +
    1
  );
}

function closedEvent(client: ClientRecord) {
  const found = client.events.find(({ event }) => event.type === 'closed');
  return found?.event.type === 'closed' ? { t: found.t, event: found.event } : undefined;
}

/**
 * A client that went silent is announced as left (timeout) within the idle timeout (within the
 * first-contact timeout, when it never spoke on its session).
 */
export function checkCrashTimeouts(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  const slackMs = maxNetworkDelayMs(run) + 1;
  for (const client of run.clients) {
    const crashedAtMs = client.crashedAtMs;
    const membership = membershipOf(timeline, client);
    // A membership lost with a killed server is nobody's to announce.
    if (crashedAtMs === undefined || membership === undefined || membership.lostAtMs !== undefined) {
      continue;
    }
    if (membership.leftSeq !== undefined && (membership.leftAtMs ?? 0) <= crashedAtMs) {
      continue;
    }
    // A copy of one of its packets that arrives after the crash (held by the network, or replayed)
    // is news to the server if the first copy was lost: the client was alive when it sent it. The
    // timeout runs from the last such arrival.
    const news = arrivals(run, client.node, SERVER_NODE, membership.sessionId, { lateCopies: true });
    const lastNewsMs = Math.max(crashedAtMs, membership.joinedAtMs, ...news.filter((t) => t > crashedAtMs));
    // A session its client never spoke on is held for the first-contact timeout (the client may still
    // be handshaking); once it has spoken, the idle timeout governs.
    const heardFrom = news.some((t) => t <= lastNewsMs);
    const timeoutMs = heardFrom ? SIM_LINK_CONFIG.idleTimeoutMs : SIM_SERVER_CONFIG.firstContactTimeoutMs;
    const deadlineMs = (heardFrom ? lastNewsMs : membership.joinedAtMs) + timeoutMs + slackMs;
    const stopAt = run.scenario.shutdownAtMs;
    if (deadlineMs > run.scenario.endAtMs || (stopAt !== undefined && stopAt <= deadlineMs)) {
      // The run ends, or the server stops, before the timeout was due: nobody is announced after.
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

/**
 * When a client that took a WAIT may still, legitimately, be handshaking: the wait it took (as it took
 * it, within its bounds: up to `waitMaxMs`), then a whole handshake's retries to "unreachable", the
 * run's longest delay on top. A WAIT is not authenticated, and an adversary that saw a handshake may
 * forge one with any retry-after: the client waits as told (the server's own answer is still taken
 * meanwhile, if it comes), so a server that stopped, or an answer the network lost, leaves it waiting,
 * then retrying, past the end of a run that was long enough without the wait. Undefined: it took none.
 */
function waitOverAtMs(run: RunRecord, client: ClientRecord): number | undefined {
  let waitedUntilMs: number | undefined;
  for (const { t, event } of client.events) {
    if (event.type === 'waiting') {
      waitedUntilMs = t + event.retryAfterMs;
    }
  }
  if (waitedUntilMs === undefined) {
    return undefined;
  }
  const { handshakeRetryCountMax, handshakeRetryInitialMs, handshakeRetryMaxMs } = SIM_CLIENT_CONFIG;
  let retriesMs = 0;
  for (let attempt = 0; attempt <= handshakeRetryCountMax; attempt += 1) {
    retriesMs += Math.min(handshakeRetryMaxMs, handshakeRetryInitialMs * 2 ** attempt);
  }
  return waitedUntilMs + retriesMs + maxNetworkDelayMs(run);
}

/**
 * Once the network has healed and the run has gone on for longer than every timeout, nothing is stuck:
 * every client that did not crash has either closed or is a member the room still holds, having had
 * every message it said sequenced; every QUIT has closed its client; a stopped server has left
 * nobody believing it is in.
 */
export function checkLiveness(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  for (const client of run.clients) {
    if (client.crashedAtMs !== undefined || !client.started) {
      continue;
    }
    const closed = closedEvent(client) !== undefined;
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
    // Still handshaking because a WAIT (the server's, or one forged) said to come back later, and the
    // wait and the retries after it are not over by the end: delayed as the protocol allows, not stuck.
    if (
      client.finalState !== '"joined"' &&
      (waitOverAtMs(run, client) ?? Number.NEGATIVE_INFINITY) > run.scenario.endAtMs
    ) {
      continue;
    }
    if (run.serverStoppedAtMs !== undefined) {
      problems.push(
        `${client.node} was still ${client.finalState} at the end, though the server stopped at ${run.serverStoppedAtMs} ms`,
      );
    } else if (client.finalState !== '"joined"') {
      problems.push(
        `${client.node} was stuck in ${client.finalState} at the end, long after the network healed`,
      );
    } else if (
      membership === undefined ||
      membership.leftSeq !== undefined ||
      membership.lostAtMs !== undefined
    ) {
      problems.push(`${client.node} believes it is joined, but the room does not hold it at the end`);
    } else {
      const unsequenced = client.said.length - sequencedTexts(timeline, client).length;
      if (unsequenced > 0) {
        problems.push(`${client.node} is joined but ${unsequenced} of its messages were never sequenced`);
      }
    }
  }
  return problems;
}

/** Addresses whose JOIN the server turned away for reasons of its own (busy, stopping), not the client's fault. */
export function turnedAwayAddresses(run: RunRecord): Set<string> {
  const addresses = new Set<string>();
  for (const { event } of run.server) {
    if (
      event.type === 'datagram.dropped' &&
      (event.reason === 'busy' || event.reason === 'full' || event.reason === 'shutting-down')
    ) {
      addresses.add(event.address);
    }
  }
  return addresses;
}

/**
 * No wrongful deaths: a client that did not crash, knows the password and is not stopped by the
 * server, whose path to the server has healed, is never announced as left and never closed for a
 * timeout, later than {@link deathGraceMs} after the heal (or after its own QUIT, for the closing of
 * a client that quit). A member removed because its send queue overflowed is slow, not wrongly dead;
 * a client that times out after the server removed it follows from that removal.
 */
export function checkNoWrongfulDeath(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  const graceMs = deathGraceMs(run);
  const healAtMs = run.scenario.healAtMs;
  const stopAtMs = run.scenario.shutdownAtMs ?? Number.POSITIVE_INFINITY;
  const turnedAway = turnedAwayAddresses(run);
  for (const client of run.clients) {
    if (client.crashedAtMs !== undefined || !client.started || !client.plan.knowsPassword) {
      continue;
    }
    const membership = membershipOf(timeline, client);
    const closed = closedEvent(client);
    // Every membership: one the server let go before the client rejoined counts as much as the last.
    for (const held of membershipsOf(timeline, client)) {
      // Removed for its own sake: too slow, or replaced by its own client's rejoin.
      if (
        held.leftReason !== 'timeout' ||
        held.leftCause === 'send-queue-full' ||
        held.leftCause === 'rejoined'
      ) {
        continue;
      }
      const leftAtMs = held.leftAtMs ?? 0;
      const quitFirst = client.quitAtMs !== undefined && client.quitAtMs <= leftAtMs;
      const closedFirst = closed !== undefined && closed.t < leftAtMs;
      if (!quitFirst && !closedFirst && leftAtMs > healAtMs + graceMs && leftAtMs < stopAtMs) {
        problems.push(
          `${client.node} (${client.plan.name}) was announced as left (${held.leftCause}) at ${leftAtMs} ms, ${leftAtMs - healAtMs} ms after the heal, though it was alive and reachable`,
        );
      }
    }
    if (
      closed === undefined ||
      (closed.event.reason !== 'timeout' && closed.event.reason !== 'unreachable')
    ) {
      continue;
    }
    const fromMs = Math.max(healAtMs, client.quitAtMs ?? 0);
    // Once the server has ended the session (its own death of it is judged above), the client can
    // only time out: that is the consequence, not a second death.
    const removedFirst = membership?.leftAtMs !== undefined && membership.leftAtMs <= closed.t;
    if (
      closed.t > fromMs + graceMs &&
      closed.t < stopAtMs &&
      !removedFirst &&
      !turnedAway.has(formatAddress(client.address))
    ) {
      problems.push(
        `${client.node} (${client.plan.name}) closed as ${closed.event.reason} ("${closed.event.message}") at ${closed.t} ms, ${closed.t - fromMs} ms after its path had healed`,
      );
    }
  }
  return problems;
}

/**
 * The first arrival at `to` of each datagram of `session` from `from`, as the network delivered it
 * (later copies are not news to a link; nor, unless `lateCopies`, are copies far older than any
 * ordinary delay, which a link may take for old). Only that session's packets count: an address can
 * change hands, and the server may still be talking to the one who held it before.
 */
function arrivals(
  run: RunRecord,
  from: string,
  to: string,
  session: string | undefined,
  options: { readonly lateCopies?: boolean } = {},
): number[] {
  const ordinaryMs = options.lateCopies === true ? Number.POSITIVE_INFINITY : maxNetworkDelayMs(run);
  const sendTimes = new Map<number, number>();
  /** The first arrival of each of those datagrams at `to`, by its send. */
  const first = new Map<number, number>();
  const arrive = (send: number, atMs: number) => {
    const earlier = first.get(send);
    if (earlier === undefined || atMs < earlier) {
      first.set(send, atMs);
    }
  };
  for (const entry of run.trace.entries) {
    if (entry.kind === 'event' || entry.from !== from) {
      continue;
    }
    if (entry.kind === 'send' && entry.packet === 'session' && entry.session === session) {
      sendTimes.set(entry.send, entry.t);
    } else if (entry.kind === 'deliver' && entry.to === to && sendTimes.has(entry.send)) {
      arrive(entry.send, entry.t);
    }
  }
  // An adversary's exact replay of one of these packets is that packet: if it arrives first (the
  // adversary sits halfway, so its copy takes half the latency), the network's copy is no news. So is
  // a reflection of it to where it was going, as from its sender (the same bytes, the same path).
  const transitMs = Math.floor(run.scenario.latencyMs / 2);
  const sender =
    from === SERVER_NODE ? SERVER_ADDRESS : run.clients.find((client) => client.node === from)?.address;
  for (const injection of run.adversary?.injections ?? []) {
    if (
      (injection.kind === 'replay' || injection.kind === 'reflect') &&
      sender !== undefined &&
      formatAddress(injection.from) === formatAddress(sender) &&
      injection.reached === (to === SERVER_NODE ? 'server' : 'client') &&
      sendTimes.has(injection.source)
    ) {
      arrive(injection.source, injection.t + transitMs);
    }
  }
  const times: number[] = [];
  for (const [send, atMs] of first) {
    if (atMs - (sendTimes.get(send) ?? atMs) <= ordinaryMs) {
      times.push(atMs);
    }
  }
  return times.sort((a, b) => a - b);
}

/**
 * The least silence after which a link may give up on its peer, by its limits: the idle timeout; the
 * retransmission limit, whose silent expiries come at doubling timeouts from the floor up (the first
 * may come at once, armed before the last word was heard); the first-contact timeout, from the join.
 */
function leastSilenceMs(cause: string): number | undefined {
  const link = SIM_LINK_CONFIG;
  switch (cause) {
    case 'idle-timeout':
      return link.idleTimeoutMs;
    case 'retransmit-limit': {
      let silenceMs = 0;
      for (let expiry = 1; expiry <= link.retransmitCountMax; expiry += 1) {
        silenceMs += Math.min(link.rtoMaxMs, link.rtoMinMs * 2 ** expiry);
      }
      return silenceMs;
    }
    default:
      return undefined;
  }
}

/**
 * A link never declares its peer dead after less silence than its limits allow, and never while the
 * peer's packets keep arriving: a member announced as left for the idle timeout or the retransmission
 * limit had sent the server nothing new for at least {@link leastSilenceMs} before; one never heard
 * from was silent for the first-contact timeout since its join; and a client that closed because the
 * server stopped answering had heard nothing new from the server for the least of those.
 */
export function checkNoDeathWhileHeard(run: RunRecord, timeline: Timeline): string[] {
  const problems: string[] = [];
  const clientBySession = clientsBySession(run);
  for (const membership of timeline.memberships.values()) {
    const cause = membership.leftCause;
    const client = clientBySession.get(membership.sessionId);
    const leftAtMs = membership.leftAtMs ?? 0;
    if (client === undefined || cause === undefined) {
      continue;
    }
    const heard = arrivals(run, client.node, SERVER_NODE, membership.sessionId).filter((t) => t < leftAtMs);
    const everHeard = arrivals(run, client.node, SERVER_NODE, membership.sessionId, {
      lateCopies: true,
    }).some((t) => t < leftAtMs);
    if (
      !everHeard &&
      cause !== 'send-queue-full' &&
      cause !== 'rejoined' &&
      leftAtMs - membership.joinedAtMs < SIM_SERVER_CONFIG.firstContactTimeoutMs
    ) {
      // Whatever its link says killed it: a client still retrying its JOIN must find its session
      // there. (A session that cannot take the room's traffic is dropped whenever it fills.)
      problems.push(
        `${client.node} was never heard from and was declared dead (${cause}) ${leftAtMs - membership.joinedAtMs} ms after its join, before the first-contact timeout`,
      );
      continue;
    }
    if (cause === 'never-heard-from') {
      if (heard.some((t) => t >= membership.joinedAtMs)) {
        problems.push(
          `${client.node} was declared never heard from at ${leftAtMs} ms, though the server had received its packets`,
        );
      }
      continue;
    }
    const leastMs = leastSilenceMs(cause);
    const lastHeardMs = Math.max(membership.joinedAtMs, heard.at(-1) ?? 0);
    if (leastMs !== undefined && leftAtMs - lastHeardMs < leastMs) {
      problems.push(
        `${client.node} was declared dead (${cause}) at ${leftAtMs} ms after ${leftAtMs - lastHeardMs} ms of silence (the last new packet at ${lastHeardMs} ms); its link allows no less than ${leastMs} ms`,
      );
    }
  }
  const leastClientMs = Math.min(
    leastSilenceMs('idle-timeout') ?? 0,
    leastSilenceMs('retransmit-limit') ?? 0,
  );
  for (const client of run.clients) {
    const closed = closedEvent(client);
    if (closed?.event.reason !== 'timeout' || closed.event.message !== 'the server stopped answering') {
      continue;
    }
    // The session it closed in began at its last welcome (a rejoin's, if it rejoined).
    const welcomedAt = client.events.findLast(({ event }) => isWelcome(event))?.t ?? 0;
    const lastHeardMs = Math.max(
      welcomedAt,
      arrivals(run, SERVER_NODE, client.node, client.sessionId)
        .filter((t) => t < closed.t)
        .at(-1) ?? 0,
    );
    if (closed.t - lastHeardMs < leastClientMs) {
      problems.push(
        `${client.node} gave the server up at ${closed.t} ms after ${closed.t - lastHeardMs} ms of silence; its link allows no less than ${leastClientMs} ms`,
      );
    }
  }
  return problems;
}

/**
 * A stopped server tells every member and stops within its shutdown timeout: the room admits and
 * sequences nothing more, every member still running is closed as `server-closed` (when the network
 * has healed by then; over a faulty one, by a timeout at worst), and no more members are counted as
 * having confirmed than were told.
 */
export function checkShutdown(run: RunRecord, timeline: Timeline): string[] {
  const shutdownAtMs = run.scenario.shutdownAtMs;
  const closing = run.server.find(({ event }) => event.type === 'server.closing');
  const stopped = run.server.find(({ event }) => event.type === 'server.stopped');
  if (shutdownAtMs === undefined) {
    return closing === undefined ? [] : ['the server stopped, though nobody asked it to'];
  }
  if (shutdownAtMs >= run.scenario.endAtMs) {
    return [];
  }
  const problems: string[] = [];
  const stopBoundMs = shutdownAtMs + SIM_SERVER_CONFIG.shutdownTimeoutMs + 1;
  if (stopped === undefined || stopped.event.type !== 'server.stopped') {
    return [`the server was asked to stop at ${shutdownAtMs} ms and never did`];
  }
  if (stopped.t > stopBoundMs) {
    problems.push(`the server stopped at ${stopped.t} ms, past its bound of ${stopBoundMs} ms`);
  }
  for (const event of timeline.events) {
    if (event.t >= shutdownAtMs && event.kind !== 'left') {
      problems.push(`the stopping room still sequenced #${event.roomSeq} (${event.kind}) at ${event.t} ms`);
    }
  }
  const atShutdown = [...timeline.memberships.values()].filter(
    (membership) =>
      membership.joinedAtMs <= shutdownAtMs &&
      (membership.leftAtMs === undefined || membership.leftAtMs > shutdownAtMs),
  );
  if (closing?.event.type === 'server.closing' && closing.event.memberCount !== atShutdown.length) {
    problems.push(
      `the server told ${closing.event.memberCount} members it was closing, but ${atShutdown.length} were in the room`,
    );
  }
  const clientBySession = clientsBySession(run);
  let toldAndClosed = 0;
  for (const membership of atShutdown) {
    const client = clientBySession.get(membership.sessionId);
    const closed = client === undefined ? undefined : closedEvent(client);
    if (closed?.event.reason === 'server-closed') {
      toldAndClosed += 1;
    }
    const running =
      client !== undefined &&
      client.crashedAtMs === undefined &&
      (client.quitAtMs === undefined || client.quitAtMs > shutdownAtMs) &&
      (closed === undefined || closed.t >= shutdownAtMs);
    if (running && shutdownAtMs >= run.scenario.healAtMs && closed?.event.reason !== 'server-closed') {
      problems.push(
        `${client.node} was in the room when the server stopped on a healed network, but ${closed === undefined ? 'never closed' : `closed as ${closed.event.reason}`}`,
      );
    }
  }
  if (stopped.event.confirmedCount > toldAndClosed) {
    problems.push(
      `the server counted ${stopped.event.confirmedCount} members as having confirmed, but only ${toldAndClosed} were closed by the notice`,
    );
  }
  return problems;
}
