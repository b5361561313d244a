import { ACK_RANGE_COUNT_MAX } from './codec/codec.ts';
import { SAYS_UNCONFIRMED_MAX } from './codec/frames.ts';
import { LINK_CONFIG_DEFAULT, type LinkConfig } from './link/link-config.ts';

/** Every limit of the server, named. */
export interface ServerConfig {
  /** Members the room holds at most; a join past it is refused with `room-full`. */
  readonly memberCountMax: number;
  /** Sessions at most, members and those still saying goodbye. */
  readonly sessionCountMax: number;
  /** Length of a cookie time slot; a cookie is good for one to two slots. */
  readonly cookieSlotMs: number;
  /** Recent joins remembered (to answer duplicates and refuse replays) at most. */
  readonly recentJoinCountMax: number;
  /**
   * A member whose client never sent a single packet after its ACCEPT (every ACCEPT was lost and the
   * client gave up) is announced as left after this long, instead of holding its name until the idle
   * timeout. Longer than a client's whole handshake, so that a client still retrying gets in.
   */
  readonly firstContactTimeoutMs: number;
  /**
   * A stopping server tells every member and waits at most this long for their acknowledgements
   * (the link retransmits meanwhile), then stops whatever is unconfirmed.
   */
  readonly shutdownTimeoutMs: number;
  /**
   * Names per MEMBERS frame at most: 30 names of 32 characters stay well inside one datagram. A
   * longer member list is split over several frames.
   */
  readonly membersPerFrameMax: number;
  /**
   * Key exchanges the server runs per second, sustained, for everyone together (each costs a CPace step
   * and a signature: milliseconds of CPU); `keyExchangeBurst` of them at once. Once half the burst is
   * spent the server is under load and serves only hosts with no unproven exchange (LoginThrottle).
   */
  readonly keyExchangesPerSecond: number;
  readonly keyExchangeBurst: number;
  /**
   * Key exchanges one host (an IP address) may have that have not proved the password (no packet of
   * the session has opened yet); each one past this blocks the host for a backoff that doubles from
   * `loginBackoffInitialMs` to `loginBackoffMaxMs`. A host quiet for `unprovenForgetMs` starts afresh.
   */
  readonly unprovenPerHostBurst: number;
  readonly loginBackoffInitialMs: number;
  readonly loginBackoffMaxMs: number;
  readonly unprovenForgetMs: number;
  /** Hosts the login throttle remembers at most (the oldest are forgotten first). */
  readonly throttledHostCountMax: number;
  /** Sessions one host (an IP address) may hold at once, members or not; a JOIN past it gets WAIT `host-quota`. */
  readonly sessionsPerHostMax: number;
  /**
   * A member's share of the room: `sayBurst` texts at once, then `sayRatePerSecond`. Texts past it wait
   * their turn at the server (at most SAYS_UNCONFIRMED_MAX, what a client may have unconfirmed) and
   * the client is told; no member's flood delays another's texts at the server.
   */
  readonly sayRatePerSecond: number;
  readonly sayBurst: number;
  /**
   * The room's share, all members together: `roomSayBurst` texts relayed at once, then
   * `roomSayRatePerSecond` (RoomShare). A relayed text goes into every member's send queue, so this
   * bounds what the members together put there: the burst is at most half of `sendQueueCountMax`.
   * Past it texts wait their turn at the server, the authors taking turns; a member is removed as too
   * slow only when it cannot take the room's rate.
   */
  readonly roomSayRatePerSecond: number;
  readonly roomSayBurst: number;
  readonly link: LinkConfig;
}

/** Every limit of the client, named. */
export interface ClientConfig {
  /** HELLO or JOIN attempts after the first before the server is declared unreachable. */
  readonly handshakeRetryCountMax: number;
  /** The wait before the first retry of a HELLO or JOIN; it doubles with each retry. */
  readonly handshakeRetryInitialMs: number;
  /** The longest wait between retries: with the count, it bounds how soon "unreachable" is said. */
  readonly handshakeRetryMaxMs: number;
  /**
   * Fresh CHALLENGEs (the server renews a cookie whose time slot passed while the JOIN was retried)
   * that start the JOIN's retries afresh; later ones are taken too, one per retry, without.
   */
  readonly handshakeRenewCountMax: number;
  /**
   * ACCEPTs that do not verify a handshake tries at most: each one costs a key exchange step and is one
   * online password guess for whoever sent it, so a forger gets no more than this many.
   */
  readonly acceptTriesMax: number;
  /** How long a QUIT waits for the server's goodbye before giving up. */
  readonly quitTimeoutMs: number;
  /**
   * Names a welcome's member list holds at most: a server that sends more (a broken or hostile one)
   * cannot make the client's memory grow; the names past this are not kept.
   */
  readonly memberListCountMax: number;
  /**
   * Rejoins a client makes at most within `rejoinWindowMs`: a server whose RESET says it lost the
   * session is joined again, with the same name, but one that keeps losing it is given up on.
   */
  readonly rejoinCountMax: number;
  readonly rejoinWindowMs: number;
  /**
   * WAITs (the server will not run a key exchange yet, and says when to come back) a handshake takes
   * at most, each waited for at most `waitMaxMs`: they are not authenticated, so a forger gets no more.
   */
  readonly waitCountMax: number;
  readonly waitMaxMs: number;
  readonly link: LinkConfig;
}

/** A config with every field optional, the link's too: what callers pass to override defaults. */
export type ConfigOverrides<T extends { readonly link: LinkConfig }> = Partial<Omit<T, 'link'>> & {
  readonly link?: Partial<LinkConfig>;
};

export const SERVER_CONFIG_DEFAULT = {
  memberCountMax: 256,
  sessionCountMax: 512,
  // A cookie lives at most two slots (10 s), less than the first-contact timeout: see resolveConfig.
  cookieSlotMs: 5000,
  recentJoinCountMax: 4096,
  firstContactTimeoutMs: 15_000,
  shutdownTimeoutMs: 1000,
  membersPerFrameMax: 30,
  // About a tenth of one core's time at most on key exchanges; a room of 64 gets in at once.
  keyExchangesPerSecond: 32,
  keyExchangeBurst: 64,
  // A few mistyped passwords cost nothing; then 1, 2, 4 ... 60 s between tries.
  unprovenPerHostBurst: 5,
  loginBackoffInitialMs: 1000,
  loginBackoffMaxMs: 60_000,
  unprovenForgetMs: 600_000,
  throttledHostCountMax: 4096,
  sessionsPerHostMax: 8,
  // Far above anyone typing; a bot pasting a page is paced, not cut off.
  sayRatePerSecond: 20,
  sayBurst: 40,
  // Twelve members' whole bursts at once, half a send queue; 200 a second is 51,200 deliveries a second
  // in a full room of 256, a load one server carries (the relay bench's carry more).
  roomSayRatePerSecond: 200,
  roomSayBurst: 512,
  link: LINK_CONFIG_DEFAULT,
} as const satisfies ServerConfig;

export const CLIENT_CONFIG_DEFAULT = {
  // Retries after 0.5, 1, 2, 2, 2 s: an absent server is reported within 9.5 s.
  handshakeRetryCountMax: 5,
  handshakeRetryInitialMs: 500,
  handshakeRetryMaxMs: 2000,
  handshakeRenewCountMax: 2,
  acceptTriesMax: 8,
  quitTimeoutMs: 10_000,
  memberListCountMax: 1024,
  rejoinCountMax: 3,
  rejoinWindowMs: 60_000,
  waitCountMax: 5,
  // The server's longest login backoff.
  waitMaxMs: 60_000,
  link: LINK_CONFIG_DEFAULT,
} as const satisfies ClientConfig;

/** Merges overrides into defaults and checks that every limit is a positive whole number. */
export function resolveConfig<T extends { readonly link: LinkConfig }>(
  defaults: T,
  overrides: ConfigOverrides<T> = {},
): T {
  const { link, ...rest } = overrides;
  const merged = { ...defaults, ...rest, link: { ...defaults.link, ...link } } as T;
  for (const [key, value] of [...Object.entries(merged), ...Object.entries(merged.link)]) {
    if (typeof value === 'number' && !(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`config ${key} is ${value}; it must be a whole number above 0`);
    }
  }
  if (merged.link.rtoMinMs > merged.link.rtoMaxMs) {
    throw new RangeError(
      `config rtoMinMs (${merged.link.rtoMinMs}) is above rtoMaxMs (${merged.link.rtoMaxMs})`,
    );
  }
  if (merged.link.ackRangeCountMax > ACK_RANGE_COUNT_MAX) {
    throw new RangeError(
      `config ackRangeCountMax is ${merged.link.ackRangeCountMax}; an ACK frame carries at most ${ACK_RANGE_COUNT_MAX} ranges`,
    );
  }
  const server = merged as Partial<
    Record<'cookieSlotMs' | 'firstContactTimeoutMs' | 'sayBurst' | 'roomSayBurst', number>
  >;
  if (server.roomSayBurst !== undefined && 2 * server.roomSayBurst > merged.link.sendQueueCountMax) {
    throw new RangeError(
      `config roomSayBurst is ${server.roomSayBurst}; it may be at most half of sendQueueCountMax (${merged.link.sendQueueCountMax}), or the room's burst alone could fill a member's send queue`,
    );
  }
  if (server.sayBurst !== undefined && server.sayBurst > SAYS_UNCONFIRMED_MAX) {
    throw new RangeError(
      `config sayBurst is ${server.sayBurst}; a client has at most ${SAYS_UNCONFIRMED_MAX} messages unconfirmed, so a burst above that is never used`,
    );
  }
  if (
    server.cookieSlotMs !== undefined &&
    server.firstContactTimeoutMs !== undefined &&
    server.firstContactTimeoutMs <= 2 * server.cookieSlotMs
  ) {
    // A session its client never spoke on forgets its JOIN's nonce when it ends, so that the client,
    // still retrying, can get in; a copy of that JOIN must by then carry a dead cookie.
    throw new RangeError(
      `config firstContactTimeoutMs (${server.firstContactTimeoutMs}) must be above twice cookieSlotMs (${2 * server.cookieSlotMs}), the longest a cookie lives`,
    );
  }
  return merged;
}
