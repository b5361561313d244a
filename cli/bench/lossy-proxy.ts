import { createSocket, type Socket } from 'node:dgram';
import { createRandom } from '../../adapters/sim/random.ts';

/** What the proxy does to each datagram, in both directions. */
export interface ProxyFaults {
  readonly lossPercent: number;
  readonly duplicatePercent: number;
  /** Datagrams held back 1 to `reorderDelayMsMax` ms, so that later ones overtake them. */
  readonly reorderPercent: number;
  readonly reorderDelayMsMax: number;
}

/**
 * A UDP proxy on loopback that loses, duplicates and reorders datagrams, seeded so that two runs
 * make the same decisions. Each client address gets its own upstream socket, so the server still
 * sees one address per client.
 */
export class LossyProxy {
  readonly stats = { forwarded: 0, dropped: 0, duplicated: 0, delayed: 0 };
  readonly #front: Socket;
  readonly #upstreams = new Map<string, Socket>();
  readonly #faults: ProxyFaults;
  readonly #random;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(
    front: Socket,
    target: { host: string; port: number },
    faults: ProxyFaults,
    seed: number,
  ) {
    this.#front = front;
    this.#faults = faults;
    this.#random = createRandom(seed);
    front.on('message', (message, remote) => {
      this.#forward(this.#upstreamFor(remote.address, remote.port), message, target.port, target.host);
    });
  }

  static async start(
    target: { host: string; port: number },
    faults: ProxyFaults,
    seed: number,
  ): Promise<LossyProxy> {
    const front = createSocket('udp4');
    await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
    return new LossyProxy(front, target, faults, seed);
  }

  get port(): number {
    return this.#front.address().port;
  }

  #upstreamFor(host: string, port: number): Socket {
    const key = `${host}:${port}`;
    let upstream = this.#upstreams.get(key);
    if (upstream === undefined) {
      const socket = createSocket('udp4');
      socket.bind(0, '127.0.0.1');
      socket.on('message', (message) => this.#forward(this.#front, message, port, host));
      this.#upstreams.set(key, socket);
      upstream = socket;
    }
    return upstream;
  }

  #forward(socket: Socket, message: Buffer, port: number, host: string): void {
    const roll = () => this.#random.nextFloat() * 100;
    if (roll() < this.#faults.lossPercent) {
      this.stats.dropped += 1;
      return;
    }
    const copies = roll() < this.#faults.duplicatePercent ? 2 : 1;
    this.stats.duplicated += copies - 1;
    for (let copy = 0; copy < copies; copy += 1) {
      this.stats.forwarded += 1;
      if (roll() < this.#faults.reorderPercent) {
        this.stats.delayed += 1;
        const timer = setTimeout(
          () => {
            this.#timers.delete(timer);
            socket.send(message, port, host);
          },
          this.#random.integer(1, this.#faults.reorderDelayMsMax),
        );
        this.#timers.add(timer);
      } else {
        socket.send(message, port, host);
      }
    }
  }

  close(): void {
    for (const timer of this.#timers) {
      clearTimeout(timer);
    }
    for (const socket of [this.#front, ...this.#upstreams.values()]) {
      socket.close();
    }
  }
}
