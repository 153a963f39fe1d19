import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addKey,
  type CreateOptionsInput,
  createRegistry,
  createSet,
  type EntryOptions,
  formatElement,
  formatIpsetSave,
  type IpSet,
  type IpsetKey,
  type IpsetType,
  parseElement,
  parseIpsetSave,
  SET_TYPES,
} from '../../src/ipset/index';
import { maskOf } from '../../src/net/ipv4';

const TYPES = Object.keys(SET_TYPES) as IpsetType[];
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const cidr = fc.integer({ min: 1, max: 32 });

const portDimension: fc.Arbitrary<{ proto: number; port: number }> = fc.oneof(
  fc.record({ proto: fc.constantFrom(6, 17, 132, 136), port: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ proto: fc.constant(1), port: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ proto: fc.constantFrom(2, 47, 50, 51, 94, 200, 255), port: fc.constant(0) }),
);

function keyArb(type: IpsetType, mask: number, range: { first: number; last: number }): fc.Arbitrary<IpsetKey> {
  switch (type) {
    // The kernel keeps no all-zero address in these two (ipset: "Null-valued element").
    case 'hash:ip':
      return u32.map((ip) => ({ ip: (ip & mask) >>> 0 })).filter((k) => k.ip !== 0);
    case 'hash:ip,port':
      return fc
        .tuple(
          u32.filter((ip) => ip !== 0),
          portDimension,
        )
        .map(([ip, p]) => ({ ip, ...p }));
    case 'hash:ip,port,ip':
      return fc.tuple(u32, portDimension, u32).map(([ip, p, ip2]) => ({ ip, ...p, ip2 }));
    case 'hash:ip,port,net':
      return fc
        .tuple(u32, portDimension, u32, cidr)
        .map(([ip, p, net, c]) => ({ ip, ...p, ip2: (net & maskOf(c)) >>> 0, cidr2: c }));
    case 'hash:net':
      return fc.tuple(u32, cidr).map(([net, c]) => ({ ip: (net & maskOf(c)) >>> 0, cidr: c }));
    case 'bitmap:port':
      return fc.integer({ min: range.first, max: range.last }).map((port) => ({ port }));
  }
}

// ipset reads "-!" and "-exist" as its -exist flag wherever they stand, so no entry holds such a
// comment (`ipset add ... comment "-!"` fails: "Missing mandatory argument of option `comment'").
const commentText = fc
  .string({
    unit: fc.constantFrom(..."abc XYZ019 -_.:/'\\+=,()[]{}!?#$%&*@~^`|<>;\t".split('')),
    minLength: 0,
    maxLength: 60,
  })
  .filter((t) => t !== '-!' && t !== '-exist');

function optionsArb(type: IpsetType, create: CreateOptionsInput): fc.Arbitrary<EntryOptions> {
  return fc.record(
    {
      timeout: create.timeout !== undefined ? fc.integer({ min: 0, max: 2147483 }) : fc.constant(undefined),
      nomatch: SET_TYPES[type].nomatch ? fc.boolean() : fc.constant(undefined),
      packets: create.counters ? fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) : fc.constant(undefined),
      bytes: create.counters ? fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) : fc.constant(undefined),
      comment: create.comment ? commentText : fc.constant(undefined),
      skbmark: create.skbinfo ? fc.record({ mark: u32, mask: u32 }) : fc.constant(undefined),
      skbprio: create.skbinfo
        ? fc.record({ major: fc.integer({ min: 0, max: 0xffff }), minor: fc.integer({ min: 0, max: 0xffff }) })
        : fc.constant(undefined),
      skbqueue: create.skbinfo ? fc.integer({ min: 0, max: 65535 }) : fc.constant(undefined),
    },
    { requiredKeys: [] },
  );
}

const createArb: fc.Arbitrary<{ type: IpsetType; create: CreateOptionsInput }> = fc
  .record({
    type: fc.constantFrom(...TYPES),
    hashsize: fc.integer({ min: 0, max: 1 << 20 }),
    maxelem: fc.integer({ min: 100, max: 0xffffffff }),
    timeout: fc.option(fc.integer({ min: 0, max: 2147483 }), { nil: undefined }),
    counters: fc.boolean(),
    comment: fc.boolean(),
    skbinfo: fc.boolean(),
    forceadd: fc.boolean(),
    bucketsize: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    initval: fc.option(u32, { nil: undefined }),
    netmask: fc.option(fc.integer({ min: 1, max: 32 }), { nil: undefined }),
    range: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })),
  })
  .map(({ type, range, netmask, ...rest }) => {
    const create: CreateOptionsInput = {
      ...rest,
      range: { first: Math.min(...range), last: Math.max(...range) },
      ...(type === 'hash:ip' && netmask !== undefined ? { netmask } : {}),
    };
    return { type, create };
  });

/** A random set of a random type, filled through the same API a controller would use. */
const setArb: fc.Arbitrary<IpSet> = createArb.chain(({ type, create }) => {
  const mask = create.netmask !== undefined ? maskOf(create.netmask) : 0xffffffff;
  const entry = fc.record({ key: keyArb(type, mask, create.range!), options: optionsArb(type, create) });
  return fc
    .tuple(fc.array(entry, { maxLength: 20 }), fc.stringMatching(/^[A-Z][A-Z0-9-]{0,30}$/))
    .map(([entries, name]) => {
      const created = createSet(name, type, create);
      if (!created.ok) throw new Error(created.error.reason);
      for (const e of entries) addKey(created.value, e.key, e.options); // duplicates refused, fine
      return created.value;
    });
});

describe('ipset save text', () => {
  it('print(parse(print(set))) equals print(set) for random sets of every type', () => {
    const totals = { sets: 0, entries: 0 };
    fc.assert(
      fc.property(fc.array(setArb, { minLength: 1, maxLength: 4 }), (sets) => {
        const unique = [...new Map(sets.map((s) => [s.name, s])).values()];
        const text = formatIpsetSave(createRegistry(unique));
        const parsed = parseIpsetSave(text);
        if (!parsed.ok) throw new Error(`${parsed.error.message}\n${text}`);
        expect(formatIpsetSave(parsed.value)).toBe(text);
        for (const set of unique) expect(parsed.value.sets.get(set.name)!.entries.size).toBe(set.entries.size);
        totals.sets += unique.length;
        totals.entries += unique.reduce((n, s) => n + s.entries.size, 0);
      }),
      { numRuns: 200 },
    );
    // Guards the generator: most generated entries must be valid, or the property tests little.
    expect(totals.entries).toBeGreaterThan(totals.sets * 3);
  });

  it('reads back every printed element as exactly its key', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...TYPES)
          .chain((type) => fc.tuple(fc.constant(type), keyArb(type, 0xffffffff, { first: 0, last: 65535 }))),
        ([type, key]) => {
          const text = formatElement(type, key);
          expect(parseElement(type, text)).toEqual({ ok: true, value: [key] });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
