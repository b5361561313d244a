import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerAddress } from '../../engine/port.ts';
import { SimNetwork } from '../sim/network.ts';
import { Trace } from '../sim/trace.ts';
import { VirtualClock } from '../sim/virtual-clock.ts';
import { openUdp, type UdpEndpoint } from './endpoint.ts';
import {
  type ContractDelivery,
  type ContractEndpoint,
  type ContractNetwork,
  type ContractSubject,
  portContract,
} from './port-contract.ts';
import { waitFor, whyNotBindable } from './test-support.ts';

const SIM_HOST = '10.0.0.1';
const SIM_LATENCY_MS = 5;
const SIM_STEP_COUNT_MAX = 100_000;
/** Virtual time a delivery may take before the contract gives up on it: far beyond the latency. */
const SIM_DEADLINE_MS = 1000;

/** The simulated network without faults; time moves only when the contract waits for deliveries. */
const simulated: ContractSubject = {
  name: 'simulated network',
  create: async (): Promise<ContractNetwork> => {
    const clock = new VirtualClock();
    const network = new SimNetwork({
      clock,
      trace: new Trace(),
      latencyMs: SIM_LATENCY_MS,
      faultTape: [],
      partitions: [],
    });
    let nodeCount = 0;
    const runFor = (ms: number): void => {
      clock.runUntil(clock.now() + ms, SIM_STEP_COUNT_MAX);
    };
    return {
      open: async (): Promise<ContractEndpoint> => {
        nodeCount += 1;
        const name = `node-${nodeCount}`;
        const address: PeerAddress = { host: SIM_HOST, port: 1000 + nodeCount };
        const inbox: ContractDelivery[] = [];
        const port = network.attach(name, address, (datagram, from) => inbox.push({ datagram, from }));
        // The simulated network has no detach: a crashed node neither sends nor receives again.
        return { port, address, inbox, close: async () => network.crash(name) };
      },
      deliverUntil: async (done) => {
        const giveUpAt = clock.now() + SIM_DEADLINE_MS;
        while (!done() && clock.now() < giveUpAt) {
          runFor(1);
        }
        return done();
      },
      settle: async () => runFor(SIM_DEADLINE_MS),
      silentAddress: async () => ({ host: '10.0.0.99', port: 9 }),
      dispose: async () => {},
    };
  },
};

/** How long real UDP is given for stragglers once the contract expects nothing more. */
const UDP_SETTLE_MS = 100;

/** Real UDP sockets bound on `host`, a loopback address. */
function realUdp(host: string): ContractSubject {
  return {
    name: `real UDP on ${host}`,
    create: async (): Promise<ContractNetwork | string> => {
      const unavailable = await whyNotBindable(host);
      if (unavailable !== undefined) {
        return unavailable;
      }
      const opened: UdpEndpoint[] = [];
      const open = async (): Promise<UdpEndpoint> => {
        const endpoint = await openUdp({ host, port: 0 });
        opened.push(endpoint);
        return endpoint;
      };
      return {
        open: async (): Promise<ContractEndpoint> => {
          const endpoint = await open();
          const inbox: ContractDelivery[] = [];
          endpoint.onDatagram((datagram, from) => inbox.push({ datagram, from }));
          return { port: endpoint.port, address: endpoint.local, inbox, close: () => endpoint.close() };
        },
        deliverUntil: (done) => waitFor(done),
        settle: () => sleep(UDP_SETTLE_MS),
        // A port that was just bound and released again: nobody listens there now.
        silentAddress: async () => {
          const endpoint = await open();
          await endpoint.close();
          return endpoint.local;
        },
        dispose: async () => {
          await Promise.all(opened.map((endpoint) => endpoint.close()));
        },
      };
    },
  };
}

portContract(simulated);
portContract(realUdp('127.0.0.1'));
portContract(realUdp('::1'));
