import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ClientActor, ClientEvent } from '../engine/index.ts';
import { clientEventJson } from './client-json.ts';
import { type Connection, exitCodeFor, trySay } from './connection.ts';

/** Messages sent but not yet confirmed, at most: input waits beyond this, so no line is ever dropped. */
export const JSON_IN_FLIGHT_MAX = 32;

/**
 * Counts the client's own messages between sending and confirmation, and wakes whoever waits for
 * room or for everything to be confirmed; a closed client wakes everyone.
 */
class InFlight {
  count = 0;
  closed = false;
  #waiters: (() => void)[] = [];

  observe(event: ClientEvent): void {
    if (event.type === 'message' && event.self) {
      this.count = Math.max(0, this.count - 1);
    } else if (event.type === 'closed') {
      this.closed = true;
    } else {
      return;
    }
    for (const wake of this.#waiters.splice(0)) {
      wake();
    }
  }

  async until(ready: () => boolean): Promise<void> {
    while (!ready() && !this.closed) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

/** What a line of input asks: to leave, or to send it. Commands are compared without surrounding spaces. */
export function isLeaveCommand(line: string): boolean {
  const command = line.trim();
  return command === 'QUIT' || command === '/quit';
}

/**
 * The scriptable client: each input line is a message; `QUIT`, `/quit` or the end of input leaves
 * once every message sent so far is confirmed. Prints one JSON object per line. `onLeaveRequest`
 * receives the function a signal handler calls to leave at once (after what was already sent).
 * Returns the exit code.
 */
export async function runJsonClient(
  connection: Connection,
  credentials: { readonly name: string; readonly password: string },
  input: Readable,
  out: (line: string) => void,
  onLeaveRequest: (leave: () => void) => void = () => undefined,
): Promise<number> {
  const inFlight = new InFlight();
  let closing: Extract<ClientEvent, { type: 'closed' }> | undefined;
  let lines: Interface | undefined;
  const { actor, outcome } = connection.login(credentials.name, credentials.password, (event) => {
    out(JSON.stringify(clientEventJson(event)));
    inFlight.observe(event);
    if (event.type === 'closed') {
      closing = event;
      // Nothing more can be sent: stop reading, even if the input stays open.
      lines?.close();
    }
  });
  let leaving = false;
  onLeaveRequest(() => {
    leaving = true;
    lines?.close();
    actor.send({ type: 'chat.quit' });
  });
  if ((await outcome).kind !== 'welcome') {
    await inFlight.until(() => false);
    return 3;
  }
  lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
  try {
    for await (const line of closing === undefined && !leaving ? lines : []) {
      if (inFlight.closed || leaving || isLeaveCommand(line)) {
        break;
      }
      await inFlight.until(() => inFlight.count < JSON_IN_FLIGHT_MAX);
      if (inFlight.closed || leaving) {
        break;
      }
      if (trySay(actor, line)) {
        inFlight.count += 1;
      }
    }
  } finally {
    lines.close();
  }
  if (!leaving) {
    await inFlight.until(() => inFlight.count === 0);
    if (!inFlight.closed) {
      actor.send({ type: 'chat.quit' });
    }
  }
  await inFlight.until(() => false);
  return closing === undefined ? 1 : exitCodeFor(closing.reason);
}
