import { nameKey } from '../../engine/index.ts';
import { clientNodeName, type Scenario, SERVER_NODE } from './scenario.ts';

/** A client name longer than this is cut in a lane heading (the node before it never is). */
const HEADING_NAME_LENGTH_MAX = 20;

/** The heading of one node's lane (its vertical line) in a space-time diagram. */
export interface LaneHeading {
  readonly node: string;
  /** `server`, or the node and the name its client asks for: `c1 · ana`. Unique across the lanes. */
  readonly heading: string;
  /** What else the reader should know of the lane: `the room`, `wrong password`, `same name as c3`. */
  readonly subtitle: string;
  /** The index of the client plan the node runs, for a client's node. */
  readonly clientIndex?: number;
}

function cutName(name: string): string {
  return name.length > HEADING_NAME_LENGTH_MAX ? `${name.slice(0, HEADING_NAME_LENGTH_MAX - 1)}…` : name;
}

/**
 * The headings of the lanes of `nodes`, the server's and the clients' named by the scenario. A client's
 * heading starts with its node, so that two clients who ask for one name (which the room compares
 * case-insensitively, and refuses the second) still head distinct lanes; their subtitles say so.
 *
 * @example
 * ```ts
 * laneHeadings(scenario, ['server', 'c0', 'c1']).map((lane) => lane.heading);
 * // ['server', 'c0 · ana', 'c1 · Ana'], and c1's subtitle is 'same name as c0'
 * ```
 */
export function laneHeadings(scenario: Scenario, nodes: readonly string[]): LaneHeading[] {
  const clientIndexByNode = new Map(scenario.clients.map((_, index) => [clientNodeName(index), index]));
  const nodesByNameKey = new Map<string, string[]>();
  for (const [index, plan] of scenario.clients.entries()) {
    const key = nameKey(plan.name);
    nodesByNameKey.set(key, [...(nodesByNameKey.get(key) ?? []), clientNodeName(index)]);
  }
  return nodes.map((node): LaneHeading => {
    const clientIndex = clientIndexByNode.get(node);
    const plan = clientIndex === undefined ? undefined : scenario.clients[clientIndex];
    if (clientIndex === undefined || plan === undefined) {
      return { node, heading: node, subtitle: node === SERVER_NODE ? 'the room' : '' };
    }
    const namesakes = (nodesByNameKey.get(nameKey(plan.name)) ?? []).filter((other) => other !== node);
    const notes = [
      ...(plan.knowsPassword ? [] : ['wrong password']),
      ...(namesakes.length === 0 ? [] : [`same name as ${namesakes.join(', ')}`]),
    ];
    return { node, heading: `${node} · ${cutName(plan.name)}`, subtitle: notes.join(', '), clientIndex };
  });
}
