import { adversarySummary } from './adversary.ts';
import type { Scenario } from './scenario.ts';

/**
 * A fault tape for people: only the sends something happens to, by their number (a tape is mostly
 * "deliver normally", which would bury the faults in a report).
 */
export function describeTape(scenario: Scenario): string[] {
  const faults: string[] = [];
  scenario.faultTape.forEach((decision, send) => {
    const late = (decision.lateCopyMs ?? 0) > 0 ? `, a copy ${decision.lateCopyMs} ms late` : '';
    if (decision.drop) {
      faults.push(`send ${send}: lost${late}`);
    } else if (decision.duplicate) {
      faults.push(
        `send ${send}: duplicated${decision.delayMs > 0 ? `, delayed ${decision.delayMs} ms` : ''}${late}`,
      );
    } else if (decision.delayMs > 0) {
      faults.push(`send ${send}: delayed ${decision.delayMs} ms${late}`);
    } else if (late !== '') {
      faults.push(`send ${send}: delivered${late}`);
    }
  });
  return faults;
}

/** One line about a scenario's size: what shrinking shows as it goes, and what a report leads with. */
export function scenarioSummary(scenario: Scenario): string {
  const says = scenario.clients.reduce((sum, plan) => sum + plan.says.length, 0);
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return [
    `${scenario.shape} run`,
    plural(scenario.clients.length, 'client'),
    plural(says, 'message'),
    plural(describeTape(scenario).length, 'fault'),
    plural(scenario.partitions.length, 'partition'),
    ...(scenario.shutdownAtMs === undefined ? [] : [`shutdown at ${scenario.shutdownAtMs} ms`]),
    ...(scenario.adversary === undefined ? [] : [adversarySummary(scenario.adversary)]),
    `${(scenario.endAtMs / 1000).toFixed(0)} s`,
  ].join(', ');
}
