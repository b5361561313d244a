import test from 'ava';
import { VirtualClock } from '../../adapters/sim/virtual-clock.ts';
import { decodePacket, encodePacket } from '../codec/codec.ts';
import type { Frame, Packet } from '../codec/frames.ts';
import { CLIENT_CONFIG_DEFAULT } from '../config.ts';
import { deriveRoomKey, makeAcceptProof } from '../crypto.ts';
import { type ClientActor, type ClientEvent, createClient, say } from '../index.ts';
import type { PeerAddress } from '../port.ts';

const PASSWORD = 'rahasia';
const KEY_ITERATIONS = 1000;
const SERVER: PeerAddress = { host: '10.0.0.1', port: 8080 };
const STRANGER: PeerAddress = { host: '10.0.0.66', port: 6666 };
const SESSION_ID = '0123456789abcdef';

/** A client on a virtual clock whose datagrams the test reads, and answers by hand as the server. */
function handDriven() {
  const clock = new VirtualClock();
  const sent: Packet[] = [];
  const events: ClientEvent[] = [];
  let counter = 0;
  const client: ClientActor = createClient(
    { name: 'ana', password: PASSWORD, server: SERVER, keyIterations: KEY_ITERATIONS },
    {
      port: {
        send: (datagram) => {
          const decoded = decodePacket(datagram);
          if (decoded.ok) {
            sent.push(decoded.packet);
          }
        },
      },
      clock,
      now: () => clock.now(),
      random: (count) =>
        Uint8Array.from({ length: count }, () => {
          counter += 1;
          return counter & 0xff;
        }),
      afterTurn: clock.afterStep,
    },
  );
  client.on('*', (event) => events.push(event));
  const deliver = (packet: Packet, from: PeerAddress = SERVER) =>
    client.send({ type: 'datagram.received', datagram: encodePacket(packet), from });
  const last = <T extends Packet['type']>(type: T) =>
    sent.findLast((packet): packet is Extract<Packet, { type: T }> => packet.type === type);
  /** Plays the server's side of a handshake that lets the client in, and sends the welcome. */
  const join = () => {
    const hello = last('hello');
    if (hello === undefined) {
      throw new Error('no HELLO');
    }
    const cookie = new Uint8Array(16).fill(5);
    deliver({ type: 'challenge', clientNonce: hello.clientNonce, timeSlot: 1, cookie });
    const proof = makeAcceptProof(
      deriveRoomKey(PASSWORD, KEY_ITERATIONS),
      hello.clientNonce,
      cookie,
      SESSION_ID,
    );
    deliver({ type: 'accept', clientNonce: hello.clientNonce, sessionId: SESSION_ID, proof });
    session(0, [{ type: 'members', msgSeq: 0, roomSeq: 1, final: true, names: ['ana'] }]);
  };
  const session = (packetNumber: number, frames: readonly Frame[], from: PeerAddress = SERVER) =>
    deliver({ type: 'session', sessionId: SESSION_ID, packetNumber, frames }, from);
  client.start();
  return { clock, client, sent, events, deliver, join, session, last };
}

test('a server that answers the HELLO but never the JOIN is reported as busy, not as unreachable by address', (t) => {
  const { clock, events, deliver, last } = handDriven();
  const hello = last('hello');
  if (hello === undefined) {
    throw new Error('no HELLO');
  }
  deliver({ type: 'challenge', clientNonce: hello.clientNonce, timeSlot: 1, cookie: new Uint8Array(16) });
  clock.runUntil(60_000, 10_000);
  const retries = events.filter((event) => event.type === 'retrying');
  t.is(retries.length, CLIENT_CONFIG_DEFAULT.handshakeRetryCountMax);
  t.regex(retries[0]?.type === 'retrying' ? retries[0].message : '', /no answer to the JOIN/);
  const closed = events.at(-1);
  t.is(closed?.type, 'closed');
  t.like(closed, { reason: 'unreachable' });
  t.regex(closed?.type === 'closed' ? closed.message : '', /answered but did not let us in/);
  t.notRegex(closed?.type === 'closed' ? closed.message : '', /firewall/);
});

test('a silent server is reported with what to check: that it runs, the address and port, the firewall', (t) => {
  const { clock, events } = handDriven();
  clock.runUntil(60_000, 10_000);
  const closed = events.at(-1);
  t.like(closed, { type: 'closed', reason: 'unreachable' });
  t.regex(
    closed?.type === 'closed' ? closed.message : '',
    /no answer from 10\.0\.0\.1:8080 .*firewall blocks UDP port 8080/,
  );
});

test('session packets from any address but the server are ignored: a stranger cannot close the room for a client', (t) => {
  const { clock, client, events, join, session } = handDriven();
  join();
  t.true(events.some((event) => event.type === 'welcome'));
  session(1, [{ type: 'shutdown', msgSeq: 1 }], STRANGER);
  clock.runUntil(100, 1000);
  t.is(client.getSnapshot().value, 'joined');
  t.false(events.some((event) => event.type === 'closed'));
  // The same frame from the server's address is the server's word.
  session(1, [{ type: 'shutdown', msgSeq: 1 }]);
  t.like(events.at(-1), { type: 'closed', reason: 'server-closed' });
});

test('a SHUTDOWN while leaving closes the client as server-closed, and lines typed in the handshake are reported if it quits', (t) => {
  const leaving = handDriven();
  leaving.join();
  leaving.client.send({ type: 'chat.quit' });
  t.is(leaving.client.getSnapshot().value, 'leaving');
  leaving.session(1, [{ type: 'shutdown', msgSeq: 1 }]);
  t.like(leaving.events.at(-1), { type: 'closed', reason: 'server-closed' });

  const early = handDriven();
  early.client.send({ type: 'chat.say', text: 'satu' });
  early.client.send({ type: 'chat.say', text: 'dua' });
  early.client.send({ type: 'chat.quit' });
  t.like(
    early.events.find((event) => event.type === 'error'),
    { code: 'not-sent' },
  );
  t.like(early.events.at(-1), { type: 'closed', reason: 'quit' });
});

test('say returns the verdict the client emits: taken, too long, queue full, leaving, closed', (t) => {
  const { clock, client, events, join, sent } = handDriven();
  t.deepEqual(say(client, 'sebelum masuk'), { ok: true }, 'a text typed during the handshake waits for it');
  join();
  t.deepEqual(say(client, 'halo'), { ok: true });
  // The turn ends (the welcome's acknowledgement opened it): what it made ready goes out.
  clock.runUntil(clock.now(), 100);
  t.true(
    sent.some(
      (packet) =>
        packet.type === 'session' && packet.frames.some((f) => f.type === 'say' && f.text === 'halo'),
    ),
    'a text taken is sent',
  );
  const errorsBefore = events.filter((event) => event.type === 'error').length;
  const tooLong = say(client, 'x'.repeat(1001));
  t.like(tooLong, { ok: false, code: 'text-too-long' });
  const emitted = events.filter((event) => event.type === 'error');
  t.is(emitted.length, errorsBefore + 1, 'the machine emitted the same refusal');
  t.like(emitted.at(-1), tooLong.ok ? {} : { code: tooLong.code, message: tooLong.message });
  // Nothing is acknowledged: the queue fills up to the place kept for the BYE.
  const queueMax = CLIENT_CONFIG_DEFAULT.link.sendQueueCountMax - 1;
  let taken = 2;
  while (say(client, `pesan ${taken}`).ok && taken < 10 * queueMax) {
    taken += 1;
  }
  t.is(taken, queueMax, "every place but the BYE's was taken");
  t.like(say(client, 'satu lagi'), { ok: false, code: 'send-queue-full' });
  client.send({ type: 'chat.quit' });
  t.like(say(client, 'terlambat'), { ok: false, code: 'not-open' });
  client.stop();
  t.like(say(client, 'sesudah tutup'), { ok: false, code: 'not-open' });
});
