// SipHash as lib/siphash.c computes it: the mh scheduler hashes addresses with the kernel's
// hsiphash, which on 64-bit kernels is SipHash-1-3 truncated to 32 bits.

const MASK64 = (1n << 64n) - 1n;

function rotl(x: bigint, bits: bigint): bigint {
  return ((x << bits) | (x >> (64n - bits))) & MASK64;
}

interface SipState {
  v0: bigint;
  v1: bigint;
  v2: bigint;
  v3: bigint;
}

function sipRound(s: SipState): void {
  s.v0 = (s.v0 + s.v1) & MASK64;
  s.v1 = rotl(s.v1, 13n) ^ s.v0;
  s.v0 = rotl(s.v0, 32n);
  s.v2 = (s.v2 + s.v3) & MASK64;
  s.v3 = rotl(s.v3, 16n) ^ s.v2;
  s.v0 = (s.v0 + s.v3) & MASK64;
  s.v3 = rotl(s.v3, 21n) ^ s.v0;
  s.v2 = (s.v2 + s.v1) & MASK64;
  s.v1 = rotl(s.v1, 17n) ^ s.v2;
  s.v2 = rotl(s.v2, 32n);
}

function littleEndian(bytes: Uint8Array, from: number, count: number): bigint {
  let value = 0n;
  for (let i = count - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[from + i] ?? 0);
  return value;
}

/**
 * SipHash-c-d of `message` under the 128-bit key (k0, k1), the two 64-bit key words as the
 * kernel's siphash_key_t holds them. SipHash-2-4 is the reference PRF; 1-3 is hsiphash.
 */
export function siphash(message: Uint8Array, k0: bigint, k1: bigint, cRounds = 2, dRounds = 4): bigint {
  const s: SipState = {
    v0: 0x736f6d6570736575n ^ k0,
    v1: 0x646f72616e646f6dn ^ k1,
    v2: 0x6c7967656e657261n ^ k0,
    v3: 0x7465646279746573n ^ k1,
  };
  const full = message.length - (message.length % 8);
  for (let at = 0; at < full; at += 8) {
    const m = littleEndian(message, at, 8);
    s.v3 ^= m;
    for (let r = 0; r < cRounds; r++) sipRound(s);
    s.v0 ^= m;
  }
  const b = (BigInt(message.length & 0xff) << 56n) | littleEndian(message, full, message.length - full);
  s.v3 ^= b;
  for (let r = 0; r < cRounds; r++) sipRound(s);
  s.v0 ^= b;
  s.v2 ^= 0xffn;
  for (let r = 0; r < dRounds; r++) sipRound(s);
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/** hsiphash() of a byte string on a 64-bit kernel: SipHash-1-3, the low 32 bits returned as u32. */
export function hsiphash(message: Uint8Array, k0: bigint, k1: bigint): number {
  return Number(siphash(message, k0, k1, 1, 3) & 0xffffffffn);
}

/** hsiphash(&v, sizeof(u32), key): the u32 is hashed as its 4 little-endian bytes (x86 memory order). */
export function hsiphashU32(value: number, k0: bigint, k1: bigint): number {
  const v = value >>> 0;
  return hsiphash(new Uint8Array([v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24]), k0, k1);
}
