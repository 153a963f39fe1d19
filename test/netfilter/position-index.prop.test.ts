// A chain index's table of rule positions must answer exactly as the map it was
// built from: every key present (addresses above 2^31 included), and none absent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PositionIndex, type Positions } from '../../src/netfilter/position-index';

const keyArb = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 40 }));
const positionsArb: fc.Arbitrary<Positions> = fc.oneof(
  fc.nat({ max: 100_000 }),
  fc.uniqueArray(fc.nat({ max: 1000 }), { minLength: 2, maxLength: 5 }).map((a) => a.sort((x, y) => x - y)),
);

describe('PositionIndex', () => {
  it('finds what the map holds and nothing else', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyArb, positionsArb), { maxLength: 300 }),
        fc.array(keyArb, { maxLength: 50 }),
        (pairs, probes) => {
          const map = new Map(pairs);
          const index = new PositionIndex(map);
          expect(index.size).toBe(map.size);
          for (const [key, positions] of map) expect(index.get(key)).toEqual(positions);
          for (const key of probes) expect(index.get(key)).toEqual(map.get(key));
        },
      ),
      { numRuns: 200 },
    );
  });
});
