import { setTimeout as sleep } from 'node:timers/promises';
import { openUdp } from './endpoint.ts';

/** How long a test waits for loopback datagrams before it gives up. */
export const DELIVERY_DEADLINE_MS = 2000;
const POLL_INTERVAL_MS = 5;

/** Polls `done` until it holds or the deadline passes; returns `done()`. */
export async function waitFor(done: () => boolean, deadlineMs = DELIVERY_DEADLINE_MS): Promise<boolean> {
  const giveUpAt = Date.now() + deadlineMs;
  while (!done() && Date.now() < giveUpAt) {
    await sleep(POLL_INTERVAL_MS);
  }
  return done();
}

const bindable = new Map<string, Promise<string | undefined>>();

/** Undefined when a UDP socket can be bound on `host` here, else why not (cached per host). */
export function whyNotBindable(host: string): Promise<string | undefined> {
  let probe = bindable.get(host);
  if (probe === undefined) {
    probe = openUdp({ host, port: 0 }).then(
      async (endpoint) => {
        await endpoint.close();
        return undefined;
      },
      (error: unknown) =>
        `${host} cannot be bound here (${error instanceof Error ? error.message : String(error)})`,
    );
    bindable.set(host, probe);
  }
  return probe;
}
