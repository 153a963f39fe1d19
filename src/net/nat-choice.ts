// Which address of a NAT range a new connection gets, as the kernel's
// find_best_ips_proto chooses it: a hash of the connection's source address
// (and its original destination, unless the range is --persistent), so one
// client keeps meeting the same address. jhash2 is Bob Jenkins' lookup3 as the
// kernel has it; the address words are read as the CPU (little-endian) reads
// the network-order bytes in memory.
import type { IPv4 } from './ipv4';

const rol = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** The kernel's jhash2 over 32-bit words. */
export function jhash2(words: readonly number[], initval: number): number {
  let a = (0xdeadbeef + (words.length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  let length = words.length;
  while (length > 3) {
    a = (a + words[i]!) >>> 0;
    b = (b + words[i + 1]!) >>> 0;
    c = (c + words[i + 2]!) >>> 0;
    a = ((a - c) ^ rol(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = ((b - a) ^ rol(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = ((c - b) ^ rol(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = ((a - c) ^ rol(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = ((b - a) ^ rol(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = ((c - b) ^ rol(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c;
  if (length === 3) c = (c + words[i + 2]!) >>> 0;
  if (length >= 2) b = (b + words[i + 1]!) >>> 0;
  a = (a + words[i]!) >>> 0;
  c = ((c ^ b) - rol(b, 14)) >>> 0;
  a = ((a ^ c) - rol(c, 11)) >>> 0;
  b = ((b ^ a) - rol(a, 25)) >>> 0;
  c = ((c ^ b) - rol(b, 16)) >>> 0;
  a = ((a ^ c) - rol(c, 4)) >>> 0;
  b = ((b ^ a) - rol(a, 14)) >>> 0;
  c = ((c ^ b) - rol(b, 24)) >>> 0;
  return c;
}

/** An address as the CPU reads its four network-order bytes: byte-swapped. */
function asStored(address: IPv4): number {
  return (
    (((address & 0xff) << 24) |
      (((address >>> 8) & 0xff) << 16) |
      (((address >>> 16) & 0xff) << 8) |
      (address >>> 24)) >>>
    0
  );
}

/** reciprocal_scale: floor(value * range / 2^32), exactly (the product can pass 2^53). */
function scale(value: number, range: number): number {
  const high = (value >>> 16) * range;
  const low = (value & 0xffff) * range;
  const q = Math.floor(high / 65536);
  return q + Math.floor(((high - q * 65536) * 65536 + low) / 4294967296);
}

/** The address of [min, max] a connection from `src` to `dst` is given (a single address: that one). */
export function natRangeAddress(min: IPv4, max: IPv4, src: IPv4, dst: IPv4, persistent: boolean): IPv4 {
  if (min === max) return min;
  // The source address occupies the first of nf_inet_addr's four words; IPv4 leaves the rest zero.
  const j = jhash2([asStored(src), 0, 0, 0], persistent ? 0 : asStored(dst));
  return min + scale(j, max - min + 1);
}
