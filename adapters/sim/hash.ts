const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The 32-bit FNV-1a hash of `bytes`: a cheap fingerprint that lets a trace name a datagram without
 * storing it. Not for security.
 *
 * @example
 * ```ts
 * fnv1a32(new TextEncoder().encode('a')); // 0xe40c292c
 * ```
 */
export function fnv1a32(bytes: Uint8Array): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of bytes) {
    hash = Math.imul(hash ^ byte, FNV_PRIME);
  }
  return hash >>> 0;
}

/** {@link fnv1a32} as 8 lowercase hex digits, the form traces print: `e40c292c`. */
export function fnv1a32Hex(bytes: Uint8Array): string {
  return fnv1a32(bytes).toString(16).padStart(8, '0');
}
