import type { PeerAddress } from '../../engine/port.ts';
import { Adversary, type AdversaryReport } from './adversary.ts';
import type { SimNetwork } from './network.ts';
import { type Scenario, SERVER_NODE } from './scenario.ts';
import type { VirtualClock } from './virtual-clock.ts';

export type { AdversaryReport } from './adversary.ts';

/**
 * The one place `runScenario` meets the adversary: attaches the scenario's adversary to the network's
 * tap, if it has one, and returns how to read its report at the end of the run; undefined (and
 * nothing attached, so the run is exactly as without this hook) when it has none.
 */
export function attachAdversary(
  scenario: Scenario,
  network: SimNetwork,
  clock: VirtualClock,
  serverAddress: PeerAddress,
): (() => AdversaryReport) | undefined {
  const plan = scenario.adversary;
  if (plan === undefined) {
    return undefined;
  }
  const adversary = new Adversary({
    network,
    clock,
    plan,
    server: { node: SERVER_NODE, address: serverAddress },
    latencyMs: scenario.latencyMs,
  });
  return () => adversary.report();
}
