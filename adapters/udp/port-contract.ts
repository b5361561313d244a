import test, { type ExecutionContext } from 'ava';
import { DATAGRAM_SIZE_MAX } from '../../engine/codec/frames.ts';
import type { DatagramPort, PeerAddress } from '../../engine/port.ts';

/** A datagram as an endpoint of the contract received it. */
export interface ContractDelivery {
  readonly datagram: Uint8Array;
  readonly from: PeerAddress;
}

/** One endpoint on the network under test. */
export interface ContractEndpoint {
  readonly port: DatagramPort;
  /** Where others send to reach it, and the `from` its datagrams carry. */
  readonly address: PeerAddress;
  /** Everything delivered to it so far, in order of delivery. */
  readonly inbox: readonly ContractDelivery[];
  close(): Promise<void>;
}

/** A network for one test: fresh endpoints, and a way to let time pass so that datagrams arrive. */
export interface ContractNetwork {
  open(): Promise<ContractEndpoint>;
  /** Lets deliveries happen until `done()` holds or a bounded wait ends; returns `done()`. */
  deliverUntil(done: () => boolean): Promise<boolean>;
  /** Lets enough time pass for any datagram in flight to have arrived. */
  settle(): Promise<void>;
  /** An address on this network where nobody listens. */
  silentAddress(): Promise<PeerAddress>;
  /** Releases everything the network opened. */
  dispose(): Promise<void>;
}

/** A named way to build a {@link ContractNetwork}. */
export interface ContractSubject {
  readonly name: string;
  /** A fresh network, or the reason it cannot be built on this machine (its tests then pass with a log). */
  readonly create: () => Promise<ContractNetwork | string>;
}

type ContractBody = (t: ExecutionContext, network: ContractNetwork) => Promise<void>;

/** Bytes 0..length-1 of a pattern that differs per `seed`, so that a datagram shows which one it is. */
export function patternBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 1) {
    bytes[index] = (seed * 31 + index * 7) & 0xff;
  }
  return bytes;
}

function sameAddress(a: PeerAddress, b: PeerAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

const CONTRACT: readonly (readonly [string, ContractBody])[] = [
  [
    'a datagram from A arrives at B intact, from A’s address, and B’s reply to that address reaches A',
    async (t, network) => {
      const a = await network.open();
      const b = await network.open();
      const datagram = patternBytes(64, 1);
      a.port.send(datagram, b.address);
      t.true(await network.deliverUntil(() => b.inbox.length > 0), 'the datagram did not arrive');
      const [first] = b.inbox;
      t.true(first?.datagram instanceof Uint8Array);
      t.deepEqual(first?.datagram && [...first.datagram], [...datagram]);
      t.deepEqual(first?.from, a.address);
      const from = first?.from ?? a.address;
      b.port.send(patternBytes(3, 2), from);
      t.true(await network.deliverUntil(() => a.inbox.length > 0), 'the reply did not arrive');
      t.deepEqual(a.inbox[0]?.from, b.address);
      t.deepEqual(a.inbox[0] && [...a.inbox[0].datagram], [...patternBytes(3, 2)]);
    },
  ],
  [
    `a ${DATAGRAM_SIZE_MAX}-byte datagram (the engine's largest) arrives intact`,
    async (t, network) => {
      const a = await network.open();
      const b = await network.open();
      const datagram = patternBytes(DATAGRAM_SIZE_MAX, 3);
      a.port.send(datagram, b.address);
      t.true(await network.deliverUntil(() => b.inbox.length > 0), 'the datagram did not arrive');
      t.is(b.inbox[0]?.datagram.byteLength, DATAGRAM_SIZE_MAX);
      t.deepEqual(b.inbox[0] && [...b.inbox[0].datagram], [...datagram]);
    },
  ],
  [
    'several datagrams from A all arrive, each intact',
    async (t, network) => {
      const a = await network.open();
      const b = await network.open();
      const count = 32;
      for (let seed = 0; seed < count; seed += 1) {
        a.port.send(patternBytes(100 + seed, seed), b.address);
      }
      t.true(
        await network.deliverUntil(() => b.inbox.length >= count),
        `${b.inbox.length} of ${count} arrived`,
      );
      await network.settle();
      t.is(b.inbox.length, count, 'no datagram arrives twice');
      const seeds = b.inbox.map(({ datagram }) => datagram.byteLength - 100).sort((x, y) => x - y);
      t.deepEqual(
        seeds,
        Array.from({ length: count }, (_, seed) => seed),
      );
      for (const { datagram, from } of b.inbox) {
        t.deepEqual([...datagram], [...patternBytes(datagram.byteLength, datagram.byteLength - 100)]);
        t.true(sameAddress(from, a.address));
      }
    },
  ],
  [
    'the sender may reuse its buffer as soon as send returns',
    async (t, network) => {
      const a = await network.open();
      const b = await network.open();
      const buffer = patternBytes(32, 4);
      a.port.send(buffer, b.address);
      buffer.fill(0);
      t.true(await network.deliverUntil(() => b.inbox.length > 0), 'the datagram did not arrive');
      t.deepEqual(b.inbox[0] && [...b.inbox[0].datagram], [...patternBytes(32, 4)]);
    },
  ],
  [
    'sending where nobody listens does not throw, and later sends still work',
    async (t, network) => {
      const a = await network.open();
      const b = await network.open();
      const silent = await network.silentAddress();
      for (let index = 0; index < 5; index += 1) {
        t.notThrows(() => a.port.send(patternBytes(16, index), silent));
      }
      await network.settle();
      a.port.send(patternBytes(16, 9), b.address);
      t.true(await network.deliverUntil(() => b.inbox.length > 0), 'the later datagram did not arrive');
      t.deepEqual(b.inbox[0] && [...b.inbox[0].datagram], [...patternBytes(16, 9)]);
    },
  ],
  [
    'after close nothing more is delivered, not even a datagram already sent',
    async (t, network) => {
      const a = await network.open();
      const b = await network.open();
      a.port.send(patternBytes(8, 1), b.address);
      t.true(await network.deliverUntil(() => b.inbox.length > 0), 'the first datagram did not arrive');
      a.port.send(patternBytes(8, 2), b.address); // in flight while B closes
      await b.close();
      t.notThrows(() => a.port.send(patternBytes(8, 3), b.address));
      t.notThrows(() => b.port.send(patternBytes(8, 4), a.address));
      await network.settle();
      t.is(b.inbox.length, 1);
      t.is(a.inbox.length, 0);
    },
  ],
];

/**
 * Registers the {@link DatagramPort} contract as ava tests against `subject`, each on a fresh network
 * that is disposed of afterwards. The tests hold for any port the engine may be given: the simulated
 * network without faults, and real UDP on loopback.
 */
export function portContract(subject: ContractSubject): void {
  for (const [title, body] of CONTRACT) {
    test(`${subject.name}: ${title}`, async (t) => {
      const network = await subject.create();
      if (typeof network === 'string') {
        t.log(`skipped: ${network}`);
        t.pass();
        return;
      }
      t.teardown(() => network.dispose());
      await body(t, network);
    });
  }
}
