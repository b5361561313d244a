import type { ChallengePacket, JoinPacket } from '../codec/frames.ts';
import { macEqual, makeCookie } from '../crypto.ts';

/**
 * The server's cookie secrets. A new random secret starts every time slot and the previous one is
 * kept for one more slot, so a cookie is good for one to two slots and a leaked secret soon expires.
 * Rotation is lazy: it happens when a handshake datagram arrives, so an idle server runs no timer.
 */
export interface CookieSecrets {
  readonly slot: number;
  readonly current: Uint8Array;
  readonly previous: Uint8Array | undefined;
}

export const COOKIE_SECRET_BYTES = 32;

export function rotateSecrets(
  secrets: CookieSecrets,
  slot: number,
  random: (byteCount: number) => Uint8Array,
): CookieSecrets {
  if (slot <= secrets.slot) {
    return secrets;
  }
  const previous = slot === secrets.slot + 1 ? secrets.current : undefined;
  return { slot, current: random(COOKIE_SECRET_BYTES), previous };
}

function secretForSlot(secrets: CookieSecrets, slot: number): Uint8Array | undefined {
  if (slot === secrets.slot) {
    return secrets.current;
  }
  if (slot === secrets.slot - 1) {
    return secrets.previous;
  }
  return undefined;
}

/** The challenge for a HELLO: computed, not stored. */
export function challengeFor(
  secrets: CookieSecrets,
  address: string,
  clientNonce: Uint8Array,
  serverKey: Uint8Array,
): ChallengePacket {
  return {
    type: 'challenge',
    clientNonce,
    timeSlot: secrets.slot,
    cookie: makeCookie(secrets.current, address, clientNonce, secrets.slot),
    serverKey,
  };
}

/** Whether a JOIN carries a cookie this server issued to this address in this or the previous slot. */
export function cookieIsValid(secrets: CookieSecrets, address: string, join: JoinPacket): boolean {
  const secret = secretForSlot(secrets, join.timeSlot);
  if (secret === undefined) {
    return false;
  }
  return macEqual(makeCookie(secret, address, join.clientNonce, join.timeSlot), join.cookie);
}

/** Whether a JOIN's time slot is one this server still holds a secret for (whatever its MAC says). */
export function cookieIsCurrent(secrets: CookieSecrets, join: JoinPacket): boolean {
  return secretForSlot(secrets, join.timeSlot) !== undefined;
}
