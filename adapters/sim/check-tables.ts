import { allLinkStats } from './figures.ts';
import type { RunRecord } from './run.ts';
import { SIM_LINK_CONFIG } from './scenario.ts';

/**
 * No table of any machine ever holds more than its named maximum: every table was watched after
 * every step of the run (the room's sessions, members and recent joins; each link's queues, buffers
 * and ranges; each client's waiting texts and member lists), and the links' own high-water marks
 * and the room's cover what ended before the run did.
 */
export function checkTableBounds(run: RunRecord): string[] {
  const problems: string[] = [];
  for (const table of run.tables) {
    if (table.highWater > table.max) {
      problems.push(
        `${table.table} held ${table.highWater} entries (max ${table.max}) in ${table.owner} at ${table.atMs} ms`,
      );
    }
  }
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
  const room = run.scenario.room;
  const final = run.serverHighWater;
  if (final.sessionCount > room.sessionCountMax) {
    problems.push(`the server held ${final.sessionCount} sessions (max ${room.sessionCountMax})`);
  }
  if (final.memberCount > room.memberCountMax) {
    problems.push(`the room held ${final.memberCount} members (max ${room.memberCountMax})`);
  }
  if (final.recentJoinCount > room.recentJoinCountMax) {
    problems.push(`the server remembered ${final.recentJoinCount} joins (max ${room.recentJoinCountMax})`);
  }
  return problems;
}
