import type { Actor } from 'xstate';
import type { clientMachine } from './client/client-machine.ts';
import { SAYS_UNCONFIRMED_MAX, type SessionId } from './codec/frames.ts';
import type { Link, LinkStats, LinkTableSizes } from './link/link.ts';
import type { roomMachine } from './server/room-machine.ts';

/**
 * Documented ways to look inside running machines, for simulations, tests and monitoring: what the
 * links counted, and how full every table is against its named maximum. Nothing here changes a
 * machine. (How the machines hold these is theirs to change; these functions are the contract.)
 */

/**
 * Visits one table: its kind (`room.sessions`, `link.unacked`, `client.ownLines`, …), its size,
 * its named maximum, and who owns it (`room`, a session id, `client`).
 */
export type TableVisitor = (table: string, size: number, max: number, owner: string) => void;

/** The kinds of link table, by the link's own names: built once, so that visiting allocates nothing. */
const LINK_TABLES: Record<keyof LinkTableSizes, string> = {
  unacked: 'link.unacked',
  fresh: 'link.fresh',
  lost: 'link.lost',
  inFlight: 'link.inFlight',
  declaredLost: 'link.declaredLost',
  reorderBuffer: 'link.reorderBuffer',
  ackRanges: 'link.ackRanges',
};

/** The owner of a link's tables and the visitor to call for them, handed through the link's own visit. */
interface LinkVisit {
  readonly owner: string;
  readonly visit: TableVisitor;
}

function visitLinkTable(table: keyof LinkTableSizes, size: number, max: number, target: LinkVisit): void {
  target.visit(LINK_TABLES[table], size, max, target.owner);
}

function visitLink(owner: string, link: Link, visit: TableVisitor): void {
  link.visitTables(visitLinkTable, { owner, visit });
}

/** Every table of a server: the room's (sessions, members, recent joins) and each session's link. */
export function visitServerTables(server: Actor<typeof roomMachine>, visit: TableVisitor): void {
  const room = server.getSnapshot().context.room;
  visit('room.sessions', room.sessions.size, room.config.sessionCountMax, 'room');
  visit('room.members', room.members.size, room.config.memberCountMax, 'room');
  visit('room.recentJoins', room.recentJoins.size, room.config.recentJoinCountMax, 'room');
  visit('room.throttledHosts', room.throttledHostCount, room.config.throttledHostCountMax, 'room');
  // Every host counted holds a session.
  visit('room.hostsWithSessions', room.hostsWithSessions, room.config.sessionCountMax, 'room');
  // Each author's texts waiting for the room's share count among its unconfirmed ones (below).
  visit('room.sharedSays', room.sharedSayCount, room.config.memberCountMax * SAYS_UNCONFIRMED_MAX, 'room');
  for (const [sessionId, session] of room.sessions) {
    const waiting = session.pacer.waitingCount + room.sharedSaysOf(session);
    visit('session.pacedSays', waiting, SAYS_UNCONFIRMED_MAX, `session ${sessionId}`);
    visitLink(sessionId, session.link, visit);
  }
}

/** Every table of a client: texts waiting for the handshake, the member lists, and its link. */
export function visitClientTables(client: Actor<typeof clientMachine>, visit: TableVisitor): void {
  const context = client.getSnapshot().context;
  const config = context.config;
  // Two places are kept (a rejoin's CLAIM, the BYE), so texts wait at most two fewer than the queue holds.
  visit('client.ownLines', context.own.count, config.link.sendQueueCountMax - 2, 'client');
  visit('client.heard', context.heard.size, 2 * config.memberListCountMax, 'client');
  visit('client.rejoinTimes', context.rejoinTimesMs.length, config.rejoinCountMax, 'client');
  visit('client.welcomeNames', context.welcomeNames.length, config.memberListCountMax, 'client');
  visit('client.members', context.members.length, config.memberListCountMax, 'client');
  const link = context.session?.link;
  if (link !== undefined) {
    visitLink('client', link, visit);
  }
}

/** What each session's link has counted, for the sessions the server holds now. */
export function serverSessionStats(
  server: Actor<typeof roomMachine>,
): { readonly sessionId: SessionId; readonly stats: Readonly<LinkStats> }[] {
  const sessions: { sessionId: SessionId; stats: Readonly<LinkStats> }[] = [];
  for (const [sessionId, session] of server.getSnapshot().context.room.sessions) {
    sessions.push({ sessionId, stats: { ...session.link.stats } });
  }
  return sessions;
}

/** How many sessions the server holds now (members, and sessions still saying goodbye). */
export function serverSessionCount(server: Actor<typeof roomMachine>): number {
  return server.getSnapshot().context.room.sessions.size;
}

/** The client's session id and what its link has counted, once the server has accepted it. */
export function clientSession(
  client: Actor<typeof clientMachine>,
): { readonly sessionId: SessionId; readonly stats: Readonly<LinkStats> } | undefined {
  const link = client.getSnapshot().context.session?.link;
  return link === undefined ? undefined : { sessionId: link.sessionId, stats: { ...link.stats } };
}

/** The most sessions, members and remembered joins the server has held at once. */
export function serverHighWater(server: Actor<typeof roomMachine>) {
  const room = server.getSnapshot().context.room;
  return {
    sessionCount: Math.max(room.stats.sessionCountHighWater, room.sessions.size),
    memberCount: Math.max(room.stats.memberCountHighWater, room.members.size),
    recentJoinCount: Math.max(room.stats.recentJoinCountHighWater, room.recentJoins.size),
  };
}
