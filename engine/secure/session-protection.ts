import { decodeFrames } from '../codec/decode.ts';
import type { SealedSessionPacket, SessionPacket } from '../codec/frames.ts';
import { type Aead, PacketOpener, PacketSealer } from './aead.ts';
import type { SessionKeys } from './keys.ts';
import { ReplayWindow } from './replay-window.ts';

/** Seals a SESSION packet's frames with its header as associated data: returns the sealed bytes. */
export type Seal = (header: Uint8Array, packetNumber: number, plaintext: Uint8Array) => Uint8Array;

/** Why a SESSION packet changed nothing. */
export type UnopenedReason =
  /** Its packet number was opened before, or is older than the replay window. */
  | 'replayed'
  /** It does not verify under the session's key: forged, corrupted, or another session's. */
  | 'unauthentic'
  /** It verified, but its frames do not decode: the peer (who holds the key) is broken. */
  | 'malformed';

export type OpenOutcome =
  | { readonly ok: true; readonly packet: SessionPacket }
  | { readonly ok: false; readonly reason: UnopenedReason; readonly detail?: string };

/**
 * One end's packet protection for one session: the sealer for what it sends, the opener and the replay
 * window for what it receives. A packet is looked at in that order: a number the window refuses costs
 * no decryption; one that does not verify changes nothing (the window moves only for packets that
 * verified, RFC 6479); and only verified bytes are decoded.
 */
export class SessionProtection {
  readonly #sealer: PacketSealer;
  readonly #opener: PacketOpener;
  readonly #window = new ReplayWindow();
  /** Packets refused by the replay window. */
  replayed = 0;

  readonly #forgeriesMax: number;

  /**
   * The client seals with the client-to-server keys and opens with the others; the server the reverse.
   * After `forgeriesMax` packets that do not verify, the keys are {@link spent}.
   */
  constructor(keys: SessionKeys, side: 'client' | 'server', aead: Aead, forgeriesMax: number) {
    this.#forgeriesMax = forgeriesMax;
    const sending = side === 'client' ? keys.clientToServer : keys.serverToClient;
    const receiving = side === 'client' ? keys.serverToClient : keys.clientToServer;
    this.#sealer = new PacketSealer(sending, aead);
    this.#opener = new PacketOpener(receiving, aead);
  }

  /** Packets that did not verify. */
  get unauthentic(): number {
    return this.#opener.failures;
  }

  /** Whether the receiving key has faced as many forgeries as it may: the session must end. */
  get spent(): boolean {
    return this.#opener.failures >= this.#forgeriesMax;
  }

  readonly seal: Seal = (header, packetNumber, plaintext) =>
    this.#sealer.seal(header, packetNumber, plaintext);

  open(packet: SealedSessionPacket): OpenOutcome {
    if (!this.#window.wouldAccept(packet.packetNumber)) {
      this.replayed += 1;
      return { ok: false, reason: 'replayed' };
    }
    const plaintext = this.#opener.open(packet.header, packet.packetNumber, packet.sealed);
    if (plaintext === undefined) {
      return { ok: false, reason: 'unauthentic' };
    }
    this.#window.accept(packet.packetNumber);
    const decoded = decodeFrames(plaintext);
    if (!decoded.ok) {
      return { ok: false, reason: 'malformed', detail: decoded.error.message };
    }
    return {
      ok: true,
      packet: { sessionId: packet.sessionId, packetNumber: packet.packetNumber, frames: decoded.frames },
    };
  }
}
