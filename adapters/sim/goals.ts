import { formatAddress, TEXT_BYTES_MAX, utf8ByteLength } from '../../engine/index.ts';
import type { ClientRecord, RunRecord } from './run.ts';
import { SIM_LINK_CONFIG, SIM_SERVER_CONFIG } from './scenario.ts';
import { clientsBySession } from './timeline.ts';

/**
 * "Sometimes" goals (as Antithesis calls them): situations that must each occur at least once over a
 * property's runs. A guarantee checked only where the runs never go proves nothing there; a suite
 * whose runs never reach one of these fails, as it does when a kind of fault never happens.
 */
export const GOALS = {
  'members-split': 'a member list split over several MEMBERS frames',
  'cookie-expired': "a cookie's slot passed during a handshake, and the server challenged afresh",
  'datagram-30s-late': 'a datagram delivered more than 30 s after it was sent',
  'join-replayed': 'a JOIN arriving again after its session ended, refused as a replay',
  'text-1000-bytes': 'a message of exactly 1000 bytes (the largest) sequenced',
  'text-999-bytes': 'a message of 999 bytes (one less than the largest) sequenced',
  'text-63-bytes': 'a message of 63 bytes (the largest one-byte varint length) sequenced',
  'text-64-bytes': 'a message of 64 bytes (the smallest two-byte varint length) sequenced',
  'text-256-bytes': 'a message of 256 bytes or more, but not the largest, sequenced',
  'text-spaces': 'a message with leading or trailing spaces sequenced',
  'text-three-byte-chars': 'a message with characters from U+0800 (three bytes of UTF-8) sequenced',
  'text-refused': 'a text the client refused at once (empty, too long, not well formed)',
  'two-clients-one-host': 'two clients on one host in the room at the same time',
  'address-reused': 'a client joined from an address an earlier client had used',
  'long-session': 'a session living past ten keepalive intervals',
  'quiet-room': 'a member in a room where nothing happened for five keepalive intervals',
  'loss-bursts': 'one session living through two partitions that cut it off',
  'typed-during-retry': 'a line typed while the handshake was being retried',
  'quit-during-handshake': 'a QUIT before the welcome',
  'crash-during-handshake': 'a client killed before its welcome',
  'window-full': 'a link with a full window of frames in flight',
  'ack-ranges-full': 'an ACK with as many ranges as it may carry',
  'reorder-buffer-used': 'a frame held in a reorder buffer behind a gap',
  'room-full': 'a join refused because the room was full',
  'name-taken': 'a join refused because the name was taken',
  'bad-password': 'a client with a wrong password told so (no answer opened with its key)',
  'death-retransmit-limit': 'a member announced as left after the retransmission limit',
  'death-idle-timeout': 'a member announced as left after the idle timeout',
  'death-never-heard-from': 'a session ended never heard from after its ACCEPT',
  'shutdown-with-members': 'a server stopped while members were in the room',
  'shutdown-unconfirmed': 'a server stopped before every member had confirmed',
  'said-while-stopping': 'a line reaching the server after it began to stop',
  'joins-past-table': 'more joins over a run than the table of recent joins holds',
  rejoined: 'a client welcomed back after a RESET said the server no longer held its session',
  'resent-repeat': 'a text the room sequenced twice, resent after a rejoin (members show it once)',
  'text-paced': 'a member over its share of the room: its texts waited their turn at the server',
  'room-busy': "members together over the room's share: their texts waited, the members taking turns",
} as const;
export type Goal = keyof typeof GOALS;

function relayedTexts(run: RunRecord): string[] {
  const texts: string[] = [];
  for (const { event } of run.server) {
    if (event.type === 'message.received') {
      texts.push(event.text);
    }
  }
  return texts;
}

/** When each client was in the room (by its server-side session), from join to leave or the end. */
function stays(run: RunRecord): {
  readonly client: ClientRecord | undefined;
  readonly fromMs: number;
  readonly toMs: number;
  readonly address: string;
}[] {
  const clientBySession = clientsBySession(run);
  const open = new Map<string, { fromMs: number; address: string }>();
  const result: { client: ClientRecord | undefined; fromMs: number; toMs: number; address: string }[] = [];
  for (const { t, event } of run.server) {
    if (event.type === 'member.joined') {
      open.set(event.sessionId, { fromMs: t, address: event.address });
    } else if (event.type === 'member.left') {
      const stay = open.get(event.sessionId);
      if (stay !== undefined) {
        open.delete(event.sessionId);
        result.push({
          client: clientBySession.get(event.sessionId),
          fromMs: stay.fromMs,
          toMs: t,
          address: stay.address,
        });
      }
    }
  }
  for (const [sessionId, stay] of open) {
    result.push({
      client: clientBySession.get(sessionId),
      fromMs: stay.fromMs,
      toMs: run.scenario.endAtMs,
      address: stay.address,
    });
  }
  return result;
}

function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

function tableHighWater(run: RunRecord, table: string): number {
  return run.tables.find((entry) => entry.table === table)?.highWater ?? 0;
}

/** The goals one run reached. */
export function goalsReached(run: RunRecord): Set<Goal> {
  const reached = new Set<Goal>();
  const reach = (goal: Goal, happened: boolean) => {
    if (happened) {
      reached.add(goal);
    }
  };
  const texts = relayedTexts(run);
  const sizes = texts.map(utf8ByteLength);
  reach('text-1000-bytes', sizes.includes(TEXT_BYTES_MAX));
  reach('text-999-bytes', sizes.includes(TEXT_BYTES_MAX - 1));
  reach('text-63-bytes', sizes.includes(63));
  reach('text-64-bytes', sizes.includes(64));
  reach(
    'text-256-bytes',
    sizes.some((size) => size >= 256 && size < TEXT_BYTES_MAX),
  );
  reach(
    'text-spaces',
    texts.some((text) => text !== text.trim()),
  );
  reach(
    'text-three-byte-chars',
    texts.some((text) => /[\u0800-\uffff]/.test(text)),
  );

  // A wrong password is the client's conclusion (answers came, none opened with its key): the server
  // cannot tell a wrong password from a lost packet, and says nothing.
  reach(
    'bad-password',
    run.clients.some((client) =>
      client.events.some(({ event }) => event.type === 'rejected' && event.reason === 'bad-password'),
    ),
  );
  reach(
    'rejoined',
    run.clients.some((client) => client.events.some(({ event }) => event.type === 'rejoined')),
  );
  const sequencedLines = new Map<string, Set<string>>();
  for (const { event } of run.server) {
    if (event.type === 'message.received') {
      const key = `${event.origin}/${event.line}`;
      sequencedLines.set(key, (sequencedLines.get(key) ?? new Set()).add(event.sessionId));
    }
  }
  reach(
    'resent-repeat',
    [...sequencedLines.values()].some((sessions) => sessions.size > 1),
  );
  const events = run.server.map(({ event }) => event);
  reach(
    'cookie-expired',
    events.some((event) => event.type === 'handshake.challenged' && event.reason === 'cookie-expired'),
  );
  for (const event of events) {
    if (event.type === 'datagram.dropped') {
      reach('join-replayed', event.reason === 'replayed-join');
    } else if (event.type === 'join.refused') {
      reach('room-full', event.reason === 'room-full');
      reach('name-taken', event.reason === 'name-taken');
    } else if (event.type === 'member.left' && event.reason === 'timeout') {
      reach('death-retransmit-limit', event.cause === 'retransmit-limit');
      reach('death-idle-timeout', event.cause === 'idle-timeout');
    } else if (event.type === 'session.ended') {
      // Opened by a key exchange, never spoken on: its client lost the ACCEPT, crashed, or had another
      // password (it cannot open the ACCEPT, so it never speaks).
      reach('death-never-heard-from', event.stats.datagramsReceived === 0);
    } else if (event.type === 'member.paced') {
      reach('text-paced', true);
    } else if (event.type === 'room.busy') {
      reach('room-busy', true);
    } else if (event.type === 'server.closing') {
      reach('shutdown-with-members', event.memberCount > 0);
    } else if (event.type === 'server.stopped') {
      reach('shutdown-unconfirmed', event.confirmedCount < event.memberCount);
    }
  }

  const sendTimes = new Map<number, number>();
  const sayingSends = new Set<number>();
  const stoppingFromMs = run.scenario.shutdownAtMs ?? Number.POSITIVE_INFINITY;
  const stoppedAtMs = run.serverStoppedAtMs ?? Number.POSITIVE_INFINITY;
  for (const entry of run.trace.entries) {
    if (entry.kind === 'send') {
      sendTimes.set(entry.send, entry.t);
      if (entry.label?.includes('SAY') === true) {
        sayingSends.add(entry.send);
      }
    } else if (entry.kind === 'deliver') {
      reach('datagram-30s-late', entry.t - (sendTimes.get(entry.send) ?? entry.t) > 30_000);
      reach(
        'said-while-stopping',
        entry.to === 'server' &&
          sayingSends.has(entry.send) &&
          entry.t >= stoppingFromMs &&
          entry.t < stoppedAtMs,
      );
    }
  }
  reach(
    'joins-past-table',
    events.filter((event) => event.type === 'member.joined').length > run.scenario.room.recentJoinCountMax,
  );

  for (const client of run.clients) {
    const welcomedAt = client.events.find(({ event }) => event.type === 'welcome')?.t;
    const members = client.events.flatMap(({ event }) =>
      event.type === 'welcome' ? [event.members.length] : [],
    );
    reach(
      'members-split',
      members.some((count) => count > SIM_SERVER_CONFIG.membersPerFrameMax),
    );
    reach('typed-during-retry', client.saidDuringRetry > 0);
    reach(
      'quit-during-handshake',
      client.quitAtMs !== undefined && (welcomedAt === undefined || client.quitAtMs < welcomedAt),
    );
    reach(
      'crash-during-handshake',
      client.started &&
        client.crashedAtMs !== undefined &&
        (welcomedAt === undefined || client.crashedAtMs < welcomedAt),
    );
    reach(
      'text-refused',
      client.events.some(({ event }) => event.type === 'error' && event.code.startsWith('text-')),
    );
  }

  const keepaliveMs = SIM_LINK_CONFIG.keepaliveIntervalMs;
  const all = stays(run);
  const addressesUsed = new Map<string, number>();
  for (const [index, stay] of all.entries()) {
    reach('long-session', stay.toMs - stay.fromMs > 10 * keepaliveMs);
    const node = stay.client?.node;
    const cuts = run.scenario.partitions.filter(
      (partition) =>
        partition.startMs < stay.toMs &&
        partition.endMs > stay.fromMs &&
        node !== undefined &&
        (partition.groupA.includes(node) ||
          partition.groupB.includes(node) ||
          partition.groupA.includes('server')),
    );
    reach('loss-bursts', cuts.length >= 2);
    for (const other of all.slice(index + 1)) {
      const overlap = other.fromMs < stay.toMs && stay.fromMs < other.toMs;
      reach(
        'two-clients-one-host',
        overlap && other.address !== stay.address && hostOf(other.address) === hostOf(stay.address),
      );
    }
    addressesUsed.set(stay.address, (addressesUsed.get(stay.address) ?? 0) + 1);
  }
  reach(
    'address-reused',
    [...addressesUsed.values()].some((count) => count >= 2),
  );
  reach(
    'address-reused',
    run.clients.some(
      (client, index) =>
        client.plan.address.kind === 'reuse' &&
        client.events.some(({ event }) => event.type === 'welcome') &&
        run.clients
          .slice(0, index)
          .some(
            (earlier) => formatAddress(earlier.address) === formatAddress(client.address) && earlier.started,
          ),
    ),
  );

  // A quiet stretch: five keepalive intervals without a room event while someone was in the room.
  let lastEventMs: number | undefined;
  for (const { t, event } of run.server) {
    if (event.type === 'member.joined' || event.type === 'message.received' || event.type === 'member.left') {
      if (lastEventMs !== undefined && t - lastEventMs > 5 * keepaliveMs) {
        reached.add('quiet-room');
      }
      lastEventMs = t;
    }
  }

  reach('window-full', tableHighWater(run, 'link.unacked') >= SIM_LINK_CONFIG.windowCount);
  reach('ack-ranges-full', tableHighWater(run, 'link.ackRanges') >= SIM_LINK_CONFIG.ackRangeCountMax);
  reach('reorder-buffer-used', tableHighWater(run, 'link.reorderBuffer') > 0);
  return reached;
}

/** Counts, over a batch of runs, how often each goal was reached. */
export class GoalCoverage {
  readonly counts = new Map<Goal, number>((Object.keys(GOALS) as Goal[]).map((goal) => [goal, 0]));

  record(run: RunRecord): void {
    for (const goal of goalsReached(run)) {
      this.counts.set(goal, (this.counts.get(goal) ?? 0) + 1);
    }
  }

  /** The goals no run reached, in the order of {@link GOALS}. */
  get missed(): Goal[] {
    return [...this.counts].filter(([, count]) => count === 0).map(([goal]) => goal);
  }
}
