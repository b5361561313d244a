import test from 'ava';
import { decodePacket, encodeSessionPlaintext, sessionIdToBytes } from '../codec/codec.ts';
import type { SealedSessionPacket } from '../codec/frames.ts';
import { nobleChaCha20Poly1305 } from './aead.ts';
import { deriveSessionKeys } from './keys.ts';
import { SessionProtection } from './session-protection.ts';

// SessionProtection puts the replay window around the AEAD (RFC 6479, RFC 4303 §3.4.3): a number
// the window refuses costs no decryption, and only a packet that verified may mark its number as
// seen or move the window. The AEAD and the window are tested on their own (aead.test.ts,
// replay-window.test.ts); these tests hold the order they are used in, and the directions.

const SESSION_ID = '0123456789abcdef';
const ISK = Uint8Array.from({ length: 64 }, (_, index) => index);
const KEYS = deriveSessionKeys(ISK, sessionIdToBytes(SESSION_ID));
/** Small, so that a test reaches it: the keys are spent after this many forgeries. */
const FORGERIES_MAX = 3;

function pair() {
  return {
    client: new SessionProtection(KEYS, 'client', nobleChaCha20Poly1305, FORGERIES_MAX),
    server: new SessionProtection(KEYS, 'server', nobleChaCha20Poly1305, FORGERIES_MAX),
  };
}

/** A SESSION datagram (one PING) sealed by `sender` under `packetNumber`. */
function datagram(sender: SessionProtection, packetNumber: number): Uint8Array {
  const { header, plaintext } = encodeSessionPlaintext({
    sessionIdBytes: sessionIdToBytes(SESSION_ID),
    packetNumber,
    ack: undefined,
    frames: [],
    ping: true,
  });
  const sealed = sender.seal(header, packetNumber, plaintext);
  const bytes = new Uint8Array(header.length + sealed.length);
  bytes.set(header);
  bytes.set(sealed, header.length);
  return bytes;
}

function packetOf(bytes: Uint8Array): SealedSessionPacket {
  const decoded = decodePacket(bytes);
  if (!decoded.ok || decoded.packet.type !== 'session') {
    throw new Error(`not a session packet: ${JSON.stringify(decoded)}`);
  }
  return decoded.packet;
}

/** `bytes` with its packet number (the header's last four bytes, big-endian) replaced. */
function renumbered(bytes: Uint8Array, packetNumber: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(10, packetNumber);
  return copy;
}

/** `bytes` with the last bit of its tag flipped. */
function corrupted(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 1;
  return copy;
}

test('a packet from the peer opens once; the same packet again is refused as replayed, before the AEAD', (t) => {
  const { client, server } = pair();
  const bytes = datagram(client, 0);
  const first = server.open(packetOf(bytes));
  t.true(first.ok);
  if (first.ok) {
    t.deepEqual(first.packet.frames, [{ type: 'ping' }]);
    t.is(first.packet.packetNumber, 0);
  }
  t.like(server.open(packetOf(bytes)), { ok: false, reason: 'replayed' });
  t.is(server.replayed, 1);
  t.is(server.unauthentic, 0);
});

test('a packet that does not verify marks nothing: the genuine packet of that number still opens', (t) => {
  const { client, server } = pair();
  const bytes = datagram(client, 0);
  t.like(server.open(packetOf(corrupted(bytes))), { ok: false, reason: 'unauthentic' });
  t.is(server.unauthentic, 1);
  t.true(server.open(packetOf(bytes)).ok);
});

test('a packet renumbered far ahead does not verify and does not move the window: the genuine ones still open', (t) => {
  const { client, server } = pair();
  const genuine = [0, 1, 2, 3].map((packetNumber) => datagram(client, packetNumber));
  t.true(server.open(packetOf(genuine[0] as Uint8Array)).ok);
  // A seen packet under a number one window and more ahead: were the window moved by it, every
  // genuine number from here on would be refused as too old, and the session would die of silence.
  t.like(server.open(packetOf(renumbered(genuine[0] as Uint8Array, 100_000))), {
    ok: false,
    reason: 'unauthentic',
  });
  t.like(server.open(packetOf(renumbered(genuine[1] as Uint8Array, 5000))), {
    ok: false,
    reason: 'unauthentic',
  });
  for (const bytes of genuine.slice(1)) {
    t.true(server.open(packetOf(bytes)).ok);
  }
  t.is(server.replayed, 0);
});

test('each direction has its own key: a packet reflected back to its sender does not open there', (t) => {
  const { client, server } = pair();
  t.like(client.open(packetOf(datagram(client, 0))), { ok: false, reason: 'unauthentic' });
  t.like(server.open(packetOf(datagram(server, 0))), { ok: false, reason: 'unauthentic' });
  // Nor did the reflection take the number from the peer's own packet.
  t.true(client.open(packetOf(datagram(server, 1))).ok);
});

test('a packet that verifies but whose frames do not decode is malformed, and its number is used up', (t) => {
  const { client, server } = pair();
  const header = encodeSessionPlaintext({
    sessionIdBytes: sessionIdToBytes(SESSION_ID),
    packetNumber: 7,
    ack: undefined,
    frames: [],
    ping: true,
  }).header;
  const sealed = client.seal(header, 7, Uint8Array.of(0xff, 0xff, 0xff));
  const bytes = new Uint8Array(header.length + sealed.length);
  bytes.set(header);
  bytes.set(sealed, header.length);
  t.like(server.open(packetOf(bytes)), { ok: false, reason: 'malformed' });
  t.like(server.open(packetOf(bytes)), { ok: false, reason: 'replayed' });
});

test('the keys are spent once forgeriesMax packets did not verify, and not before; replays do not count', (t) => {
  const { client, server } = pair();
  const bytes = datagram(client, 0);
  t.true(server.open(packetOf(bytes)).ok);
  for (let replay = 0; replay < 2 * FORGERIES_MAX; replay += 1) {
    server.open(packetOf(bytes));
  }
  t.false(server.spent, 'replays are refused before the AEAD: no forgery faced');
  for (let forgery = 1; forgery <= FORGERIES_MAX; forgery += 1) {
    t.false(server.spent);
    server.open(packetOf(corrupted(datagram(client, forgery))));
  }
  t.true(server.spent);
  t.is(server.unauthentic, FORGERIES_MAX);
});
