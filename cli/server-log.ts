import type { ChalkInstance } from 'chalk';
import {
  type DropReason,
  type ServerEvent,
  type SessionDeath,
  sanitizeForTerminal,
} from '../engine/index.ts';
import type { DropTally } from './drop-summary.ts';
import { jsonLine } from './json-line.ts';

/** Local wall-clock time as HH:MM:SS, the stamp in front of every line. */
export function clockStamp(timeMs: number): string {
  const date = new Date(timeMs);
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
}

const DROP_WORDS: Record<DropReason, string> = {
  malformed: 'not a gaschat packet',
  'unknown-session': 'for a session this server does not have',
  'wrong-address': 'for a session that belongs to another address',
  'bad-cookie': 'a JOIN with a cookie this server did not issue to that address',
  'replayed-join': 'a JOIN replayed after its session ended',
  amplification: 'a HELLO too small to answer',
  unexpected: 'a packet only a server sends',
  busy: 'a JOIN while the table of recent joins is full',
  full: 'a JOIN while the session table is full',
  throttled: 'a JOIN from an address with too many logins that did not prove the password',
  overloaded: 'a JOIN while the server is at its budget of key exchanges',
  'host-quota': 'a JOIN from an address that holds as many sessions as it may',
  'shutting-down': 'a HELLO or JOIN while the server is stopping',
  'bad-share': 'a JOIN whose key exchange share is invalid',
  unauthentic: 'a session packet that does not verify (forged, corrupted or misdirected)',
  replayed: 'a session packet seen before (a replay)',
  'malformed-frames': 'a session packet that verified but does not decode',
};

/** The causes that need more words than their name. */
const CAUSE_WORDS: Partial<Record<SessionDeath, string>> = {
  'send-queue-full':
    "send-queue-full: it could not take the room's messages as fast as the room's share lets them come",
  flooding: 'flooding: it sent more messages than a client may have unconfirmed, past its share',
};

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * One readable line for a server event, as the original server printed every action. `droppedSoFar`
 * is the running count of dropped datagrams, shown on drop lines so a flood is visible at a glance.
 */
export function formatServerEvent(
  event: ServerEvent,
  chalk: ChalkInstance,
  nowMs: number,
  droppedSoFar: number,
): string {
  const stamp = chalk.dim(clockStamp(nowMs));
  switch (event.type) {
    case 'handshake.challenged':
      return `${stamp} ${chalk.dim(`challenge sent to ${event.address}${event.reason === 'cookie-expired' ? ' (its cookie had expired)' : ''}`)}`;
    case 'member.joined':
      return `${stamp} ${chalk.green('joined')}   ${chalk.bold(event.name)} from ${event.address} (${plural(event.memberCount, 'member')} now)`;
    case 'join.refused':
      return `${stamp} ${chalk.yellow('refused')}  ${sanitizeForTerminal(event.name)} from ${event.address}: ${event.reason}`;
    case 'message.received':
      return `${stamp} ${chalk.cyan('received')} #${event.roomSeq} from ${chalk.bold(event.from)}, ${plural(event.byteCount, 'byte')}: ${sanitizeForTerminal(event.text)}`;
    case 'message.relayed':
      return `${stamp} ${chalk.cyan('relayed')}  #${event.roomSeq} to ${plural(event.recipientCount, 'member')}`;
    case 'member.paced':
      return `${stamp} ${chalk.yellow('paced')}    ${chalk.bold(event.name)} from ${event.address}: sends faster than a member's share (${event.burst} at once, then ${event.ratePerSecond} a second); its messages wait their turn`;
    case 'room.busy':
      return `${stamp} ${chalk.yellow('busy')}     the members together send faster than the room's share (${event.burst} at once, then ${event.ratePerSecond} a second): ${plural(event.waitingCount, 'message')} from ${plural(event.authorCount, 'member')} wait their turn, the members taking turns`;
    case 'member.left': {
      const why =
        event.reason === 'quit'
          ? 'QUIT'
          : `timeout${event.cause === undefined ? '' : ` (${CAUSE_WORDS[event.cause] ?? event.cause})`}`;
      return `${stamp} ${chalk.magenta('left')}     ${chalk.bold(event.name)} from ${event.address}: ${why} (${plural(event.memberCount, 'member')} now)`;
    }
    case 'session.opened':
      return `${stamp} ${chalk.dim(`session ${event.sessionId} opened for ${event.address}: key exchange done, waiting for its name`)}`;
    case 'session.ended':
      return `${stamp} ${chalk.dim(`session ${event.sessionId} of ${event.address} ended: ${event.stats.datagramsSent} datagrams sent, ${event.stats.framesRetransmitted} frames resent`)}`;
    case 'server.closing':
      return `${stamp} ${chalk.yellow('stopping')} telling ${plural(event.memberCount, 'member')} that the room closes`;
    case 'server.stopped': {
      const unconfirmed = event.memberCount - event.confirmedCount;
      return `${stamp} ${chalk.yellow('stopped')}  ${event.confirmedCount} of ${plural(event.memberCount, 'member')} confirmed the notice${unconfirmed > 0 ? ` (${unconfirmed} did not answer in time)` : ''}`;
    }
    case 'datagram.dropped': {
      const detail = event.detail === undefined ? '' : ` (${sanitizeForTerminal(String(event.detail))})`;
      return `${stamp} ${chalk.red('dropped')}  datagram from ${event.address}: ${DROP_WORDS[event.reason]}${detail}; ${droppedSoFar} dropped so far`;
    }
  }
}

/** A count as people read it: 40,512. */
export function countWords(count: number): string {
  return count.toLocaleString('en-US');
}

/** The summary of a reason's drops that were not shown one by one in the last interval. */
export function formatDropTally(tally: DropTally, chalk: ChalkInstance, nowMs: number): string {
  const from = `${tally.addressesCapped ? 'more than ' : ''}${tally.addressCount} ${tally.addressCount === 1 ? 'address' : 'addresses'}`;
  return `${chalk.dim(clockStamp(nowMs))} ${chalk.red('dropped')}  ${countWords(tally.count)} more ${tally.count === 1 ? 'datagram' : 'datagrams'} from ${from} in the last ${tally.intervalMs / 1000} s: ${DROP_WORDS[tally.reason]}`;
}

/** The same summary as one JSON object. */
export function dropTallyJson(tally: DropTally, nowMs: number): string {
  return jsonLine({
    time: new Date(nowMs).toISOString(),
    type: 'drops.summary',
    reason: tally.reason,
    count: tally.count,
    addresses: tally.addressCount,
    addressesCapped: tally.addressesCapped,
    intervalMs: tally.intervalMs,
  });
}

/** The same event as one JSON object (the `--json` log): the event's own fields, with an ISO time. */
export function serverEventJson(event: ServerEvent, nowMs: number): string {
  return jsonLine({ time: new Date(nowMs).toISOString(), ...event });
}
