import { LINK_CONFIG_DEFAULT } from '../engine/index.ts';

/**
 * The link settings for a given idle timeout: keepalives three times as often, so that a live but
 * quiet member is never mistaken for a dead one.
 */
export function linkForIdleTimeout(idleTimeoutMs: number) {
  return {
    idleTimeoutMs,
    keepaliveIntervalMs: Math.max(
      1,
      Math.min(LINK_CONFIG_DEFAULT.keepaliveIntervalMs, Math.floor(idleTimeoutMs / 3)),
    ),
  };
}
