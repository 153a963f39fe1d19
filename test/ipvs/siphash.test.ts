import { describe, expect, it } from 'vitest';
import { hsiphash, hsiphashU32, siphash } from '../../src/ipvs/index';

// The kernel's self-test key (lib/siphash_kunit.c): bytes 00..0f.
const K0 = 0x0706050403020100n;
const K1 = 0x0f0e0d0c0b0a0908n;
const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

describe('siphash', () => {
  it('matches the SipHash-2-4 reference vectors', () => {
    expect(siphash(bytes(0), K0, K1)).toBe(0x726fdb47dd0e0e31n);
    expect(siphash(bytes(15), K0, K1)).toBe(0xa129ca6149be45e5n);
  });

  it('matches the kernel hsiphash vectors for 64-bit kernels (SipHash-1-3, low 32 bits)', () => {
    const vectors = [
      0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7, 0x9bb11140, 0x8d299a8e,
    ];
    expect(vectors.map((_, len) => hsiphash(bytes(len), K0, K1))).toEqual(vectors);
  });

  it('hashes a u32 as its little-endian bytes', () => {
    expect(hsiphashU32(0x03020100, K0, K1)).toBe(0x88d38328);
  });
});
