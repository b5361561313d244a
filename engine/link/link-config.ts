/** Every limit of the reliable link, named, with the defaults a LAN chat wants. */
export interface LinkConfig {
  /** RFC 6298's initial retransmission timeout. */
  readonly rtoInitialMs: number;
  /** The floor of the retransmission timeout. */
  readonly rtoMinMs: number;
  /** The ceiling the doubling stops at. */
  readonly rtoMaxMs: number;
  /** Consecutive expiries of the retransmission timer after which the peer is declared dead. */
  readonly retransmitCountMax: number;
  /** A quiet link sends a PING after this long, so that both ends know the other is there. */
  readonly keepaliveIntervalMs: number;
  /** A peer heard nothing from for this long is dead. */
  readonly idleTimeoutMs: number;
  /** Reliable frames waiting to be sent or acknowledged; enqueueing past this is refused. */
  readonly sendQueueCountMax: number;
  /** Frames that may be in flight beyond the oldest unacknowledged one; the receiver buffers as many. */
  readonly windowCount: number;
  /** Ranges an ACK frame carries at most. */
  readonly ackRangeCountMax: number;
  /**
   * The last packet number a session's key seals: the link gives up there (`keys-spent`), long before
   * the 32-bit numbers, and with them the nonces, run out; the client joins again with new keys.
   */
  readonly packetNumberMax: number;
  /**
   * Packets that do not verify under a session's key before the session ends (`keys-spent`): RFC 9001
   * §6.6's integrity limit for ChaCha20-Poly1305, past which forgeries stand a chance.
   */
  readonly forgeriesMax: number;
}

export const LINK_CONFIG_DEFAULT = {
  rtoInitialMs: 1000,
  rtoMinMs: 200,
  rtoMaxMs: 8000,
  retransmitCountMax: 8,
  keepaliveIntervalMs: 5000,
  idleTimeoutMs: 30_000,
  sendQueueCountMax: 1024,
  windowCount: 256,
  ackRangeCountMax: 16,
  packetNumberMax: 2 ** 31 - 1,
  forgeriesMax: 2 ** 36,
} as const satisfies LinkConfig;
