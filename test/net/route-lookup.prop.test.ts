// The route look-up answers from per-length tables built once per route list; it
// must choose exactly the route the kernel's rule does, which is also what a scan
// of every route finds: the local table, then main, then default (the default
// policy rules; a `throw` route passes on to the next table, and a table no rule
// names is never consulted), the longest prefix holding the address, the lowest
// metric among those, the first listed on a tie.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY_RULES,
  formatIPv4,
  lookupRoute,
  maskOf,
  parseIpRoutes,
  type Route,
  routeByPolicy,
} from '../../src/net';

function scan(routes: readonly Route[], dst: number): Route | null {
  for (const table of ['local', 'main', 'default'] as const) {
    let best: Route | null = null;
    for (const r of routes) {
      if (r.table !== table || (dst & maskOf(r.dst.length)) >>> 0 !== r.dst.address) continue;
      if (
        !best ||
        r.dst.length > best.dst.length ||
        (r.dst.length === best.dst.length && (r.metric ?? 0) < (best.metric ?? 0))
      )
        best = r;
    }
    if (best && best.type !== 'throw') return best;
  }
  return null;
}

// Addresses from a small space, so routes overlap and tie often.
const addressArb = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))
  .map(([a, b]) => ((10 << 24) | (a << 8) | b) >>> 0);
const routeLineArb = fc
  .record({
    address: addressArb,
    length: fc.constantFrom(0, 8, 16, 22, 24, 30, 31, 32),
    metric: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
    local: fc.boolean(),
    dev: fc.constantFrom('eth0', 'cni0', 'flannel.1'),
    table: fc.constantFrom('', ' table main', ' table default', ' table 7', ' table 254', ' table 253'),
    kind: fc.constantFrom('', '', '', 'throw ', 'unreachable '),
  })
  .map(({ address, length, metric, local, dev, table, kind }) => {
    const network = formatIPv4((address & maskOf(length)) >>> 0);
    const dst = length === 0 ? 'default' : `${network}/${length}`;
    if (local) return `local ${network} dev ${dev} table local proto kernel scope host src 10.0.0.1`;
    const device = kind === '' ? ` dev ${dev}` : '';
    return `${kind}${dst}${device}${table}${metric === null ? '' : ` metric ${metric}`}`;
  });

describe('route look-up', () => {
  it('chooses what a scan of every route chooses (local, main, default; longest prefix, lowest metric, first on a tie; throw passes on)', () => {
    fc.assert(
      fc.property(
        fc.array(routeLineArb, { maxLength: 20 }),
        fc.array(addressArb, { minLength: 1, maxLength: 10 }),
        (lines, dsts) => {
          const parsed = parseIpRoutes(lines.join('\n'));
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          for (const dst of dsts) expect(lookupRoute(parsed.routes, dst)).toBe(scan(parsed.routes, dst));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the policy look-up under the kernel's default rules chooses what the plain look-up chooses", () => {
    fc.assert(
      fc.property(
        fc.array(routeLineArb, { maxLength: 20 }),
        fc.array(addressArb, { minLength: 1, maxLength: 10 }),
        (lines, dsts) => {
          const parsed = parseIpRoutes(lines.join('\n'));
          if (!parsed.ok) throw new Error(parsed.message);
          for (const dst of dsts) {
            const plain = lookupRoute(parsed.routes, dst);
            const ruled = routeByPolicy(parsed.routes, DEFAULT_POLICY_RULES, {
              dst,
              src: 0,
              mark: 0,
              iif: 'lo',
              oif: null,
              uid: 0,
              protocol: 6,
              sport: 1,
              dport: 2,
            });
            // Unreachable, prohibit and blackhole routes refuse the packet; any other is the route.
            if (plain === null) expect(ruled.kind).toBe('none');
            else if (['unreachable', 'prohibit', 'blackhole'].includes(plain.type)) expect(ruled.kind).toBe('refused');
            else expect(ruled).toMatchObject({ kind: 'route', route: plain });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a more specific route wins over the default, and a lower metric over a higher one of the same prefix', () => {
    const parsed = parseIpRoutes(
      [
        'default via 192.168.1.1 dev eth0',
        '10.244.2.0/24 via 192.168.1.3 dev eth0 metric 100',
        '10.244.2.0/24 via 192.168.1.4 dev eth0 metric 50',
      ].join('\n'),
    );
    if (!parsed.ok) throw new Error(parsed.message);
    expect(formatIPv4(lookupRoute(parsed.routes, 0x0af40205)!.via!)).toBe('192.168.1.4');
    expect(formatIPv4(lookupRoute(parsed.routes, 0x0af40305)!.via!)).toBe('192.168.1.1');
  });
});
