import type { WaitReason } from '../codec/frames.ts';
import type { ServerConfig } from '../config.ts';
import { TokenBucket } from './token-bucket.ts';

/** The limits the throttle applies; see ServerConfig for each. */
export type ThrottleLimits = Pick<
  ServerConfig,
  | 'keyExchangesPerSecond'
  | 'keyExchangeBurst'
  | 'unprovenPerHostBurst'
  | 'loginBackoffInitialMs'
  | 'loginBackoffMaxMs'
  | 'unprovenForgetMs'
  | 'throttledHostCountMax'
>;

/** The throttle's answer for a JOIN whose cookie proved its address. */
export type ThrottleVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: Exclude<WaitReason, 'host-quota'>; readonly retryAfterMs: number };

/** One source host's key exchanges that have not (yet) proved the password. */
interface HostRecord {
  unproven: number;
  lastAtMs: number;
  /** Before this, the host's JOINs get no key exchange. */
  blockedUntilMs: number;
}

const ADMITTED: ThrottleVerdict = Object.freeze({ ok: true });

/**
 * Who gets a key exchange, so that its cost (a CPace step and a signature, milliseconds of CPU) can
 * never be turned against the server. Two budgets, both asked only for a JOIN whose cookie proved its
 * address (a spoofer cannot spend another host's budget):
 *
 * - **Per host** (an IP address, every port of it): a key exchange is *unproven* from the moment it runs
 *   until the session's first packet opens, which only a client with the room password can seal. A
 *   host may have `unprovenPerHostBurst` of them; each one past that blocks the host for a backoff that
 *   doubles, from `loginBackoffInitialMs` up to `loginBackoffMaxMs`. A proof takes one back, so an
 *   honest host (many people behind one address, a client retrying under loss) is never held up;
 *   a wrong password, or someone without it, is slowed to one try per `loginBackoffMaxMs`. A host
 *   quiet for `unprovenForgetMs` is forgotten. At most `throttledHostCountMax` hosts are remembered
 *   (the oldest are forgotten first): an attacker with more addresses than that is held by the global
 *   budget instead.
 * - **Global**: a token bucket of `keyExchangeBurst` refilled at `keyExchangesPerSecond`. Once it is
 *   half spent the server is *under load* (WireGuard's phrase): only hosts with nothing unproven get a
 *   key exchange, so strangers flooding from many addresses cannot crowd out a newcomer; once spent,
 *   nobody does until it refills.
 *
 * Every refusal says when to come back. The name a client claims is sealed, so it is never known for
 * a failed attempt: there is no throttle per name to keep (a password holder squatting names is held
 * by the quota of sessions per host instead).
 */
export class LoginThrottle {
  readonly #limits: ThrottleLimits;
  readonly #hosts = new Map<string, HostRecord>();
  readonly #budget: TokenBucket;

  constructor(limits: ThrottleLimits, nowMs: number) {
    this.#limits = limits;
    this.#budget = new TokenBucket(limits.keyExchangeBurst, limits.keyExchangesPerSecond, nowMs);
  }

  /** Hosts remembered now (at most `throttledHostCountMax`). */
  get hostCount(): number {
    return this.#hosts.size;
  }

  /** Whether `host` may have a key exchange now, and if not, why and when to ask again. */
  admit(host: string, nowMs: number): ThrottleVerdict {
    const limits = this.#limits;
    const record = this.#current(host, nowMs);
    if (record !== undefined && nowMs < record.blockedUntilMs) {
      return { ok: false, reason: 'throttled', retryAfterMs: Math.ceil(record.blockedUntilMs - nowMs) };
    }
    // Under load (half the bucket spent) a host with unproven exchanges must leave the rest to others.
    const tokens = this.#budget.level(nowMs);
    const reserved = (record?.unproven ?? 0) > 0 ? limits.keyExchangeBurst / 2 : 0;
    if (tokens < reserved + 1) {
      return { ok: false, reason: 'load', retryAfterMs: this.#budget.msUntil(reserved + 1) };
    }
    return ADMITTED;
  }

  /** A key exchange ran for `host`: one token spent, and one more unproven exchange for the host. */
  charge(host: string, nowMs: number): void {
    const limits = this.#limits;
    this.#budget.level(nowMs);
    this.#budget.take();
    const record = this.#current(host, nowMs) ?? { unproven: 0, lastAtMs: nowMs, blockedUntilMs: 0 };
    record.unproven += 1;
    record.lastAtMs = nowMs;
    const beyond = record.unproven - limits.unprovenPerHostBurst;
    if (beyond >= 0) {
      const backoffMs = Math.min(limits.loginBackoffMaxMs, limits.loginBackoffInitialMs * 2 ** beyond);
      record.blockedUntilMs = nowMs + backoffMs;
    }
    // Most recently charged last: the map's order is the order to forget in.
    this.#hosts.delete(host);
    if (this.#hosts.size >= limits.throttledHostCountMax) {
      this.#forgetOldest(nowMs);
    }
    this.#hosts.set(host, record);
  }

  /** A session of `host` proved the password: one of its unproven exchanges is taken back. */
  prove(host: string): void {
    const record = this.#hosts.get(host);
    if (record === undefined) {
      return;
    }
    record.unproven -= 1;
    if (record.unproven < this.#limits.unprovenPerHostBurst) {
      record.blockedUntilMs = 0;
    }
    if (record.unproven <= 0) {
      this.#hosts.delete(host);
    }
  }

  /** The host's record, unless it has been quiet long enough to be forgotten (then it is). */
  #current(host: string, nowMs: number): HostRecord | undefined {
    const record = this.#hosts.get(host);
    if (record !== undefined && nowMs - record.lastAtMs >= this.#limits.unprovenForgetMs) {
      this.#hosts.delete(host);
      return undefined;
    }
    return record;
  }

  /** Makes room for one more host: the quiet ones first, else the one charged longest ago. */
  #forgetOldest(nowMs: number): void {
    for (const [host, record] of this.#hosts) {
      if (nowMs - record.lastAtMs < this.#limits.unprovenForgetMs) {
        break;
      }
      this.#hosts.delete(host);
    }
    if (this.#hosts.size >= this.#limits.throttledHostCountMax) {
      const oldest = this.#hosts.keys().next();
      if (oldest.done !== true) {
        this.#hosts.delete(oldest.value);
      }
    }
  }
}
