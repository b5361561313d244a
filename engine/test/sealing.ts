import { decodeFrames, decodePacket } from '../codec/codec.ts';
import type { SessionPacket } from '../codec/frames.ts';
import { nobleChaCha20Poly1305, PacketOpener, PacketSealer } from '../secure/aead.ts';
import { deriveSessionKeys } from '../secure/keys.ts';
import type { Seal } from '../secure/session-protection.ts';

/**
 * Packet protection for tests of the parts below the session (the link, the server's session): real
 * sealing with fixed keys, and opening without a replay window, so that a test can hand a link the
 * same packet twice and see what the link does with it.
 */

const KEYS = deriveSessionKeys(new Uint8Array(64).fill(7), new Uint8Array(8));

/** A seal for one link: the client's direction (`c2s`) or the server's (`s2c`), a sealer of its own. */
export function testSeal(direction: 'c2s' | 's2c' = 'c2s'): Seal {
  const sealer = new PacketSealer(direction === 'c2s' ? KEYS.clientToServer : KEYS.serverToClient);
  return (header, packetNumber, plaintext) => sealer.seal(header, packetNumber, plaintext);
}

/** The keys {@link testSeal} uses, for tests that build a `SessionProtection` on the other end. */
export const TEST_SESSION_KEYS = KEYS;

const openers = [
  new PacketOpener(KEYS.clientToServer, nobleChaCha20Poly1305),
  new PacketOpener(KEYS.serverToClient, nobleChaCha20Poly1305),
];

/** Opens a datagram a {@link testSeal} sealed, either direction, and decodes its frames; throws otherwise. */
export function openTestDatagram(datagram: Uint8Array): SessionPacket {
  const decoded = decodePacket(datagram);
  if (!decoded.ok || decoded.packet.type !== 'session') {
    throw new Error(`not a session packet: ${JSON.stringify(decoded)}`);
  }
  const packet = decoded.packet;
  for (const opener of openers) {
    const plaintext = opener.open(packet.header, packet.packetNumber, packet.sealed);
    if (plaintext !== undefined) {
      const frames = decodeFrames(plaintext);
      if (!frames.ok) {
        throw new Error(`frames do not decode: ${frames.error.message}`);
      }
      return { sessionId: packet.sessionId, packetNumber: packet.packetNumber, frames: frames.frames };
    }
  }
  throw new Error('the datagram was not sealed with the test keys');
}
