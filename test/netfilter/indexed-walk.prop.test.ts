// The chain index must be invisible: for random rulesets and packets, the
// indexed walk gives exactly the branches, hops and rule counts of a plain walk.
// So must preparing chains as walks first enter them rather than all up front.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeSimNode, type SimNode, tracePacket } from '../../src/engine';
import { parseIPv4 } from '../../src/net';
import { compileRuleset, loadIptables, prepareAllChains } from '../../src/netfilter';

const DSTS = ['10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.0.4', '192.168.0.2'];
const PORTS = [53, 80, 443, 8080];

const ruleArb = (chainIndex: number, chains: number) =>
  fc
    .record({
      dst: fc.option(
        fc.oneof(fc.constantFrom(...DSTS), fc.constant('10.96.0.0/30'), fc.constantFrom(...DSTS.map((d) => `! ${d}`))),
        { nil: null },
      ),
      proto: fc.option(fc.constantFrom('tcp', 'udp'), { nil: null }),
      port: fc.option(fc.constantFrom(...PORTS), { nil: null }),
      statistic: fc.option(fc.constantFrom('0.5000000000', '0.2500000000', '0.3333333333'), { nil: null }),
      recentSet: fc.boolean(),
      mark: fc.boolean(),
      target: fc.oneof(
        fc.constantFrom('ACCEPT', 'DROP', 'RETURN', 'MARK', 'NONE', 'DNAT'),
        chainIndex + 1 < chains
          ? fc.integer({ min: chainIndex + 1, max: chains - 1 }).map((c) => `C${c}`)
          : fc.constant('RETURN'),
      ),
    })
    .map((r) => {
      const parts: string[] = [];
      if (r.dst) parts.push(r.dst.startsWith('!') ? `! -d ${r.dst.slice(2)}` : `-d ${r.dst}`);
      const proto = r.proto ?? (r.port !== null || r.target === 'DNAT' ? 'tcp' : null);
      if (proto) parts.push(`-p ${proto}`);
      if (r.recentSet) parts.push('-m recent --name R --set');
      if (r.statistic) parts.push(`-m statistic --mode random --probability ${r.statistic}`);
      if (proto && r.port !== null) parts.push(`-m ${proto} --dport ${r.port}`);
      if (r.mark) parts.push('-m mark --mark 0x1/0x1');
      if (r.target === 'MARK') parts.push('-j MARK --or-mark 0x1');
      else if (r.target === 'DNAT') parts.push('-j DNAT --to-destination 10.244.9.9:80');
      else if (r.target !== 'NONE') parts.push(`-j ${r.target}`);
      return parts.join(' ');
    });

const rulesetArb = fc.integer({ min: 1, max: 4 }).chain((chains) =>
  fc
    .tuple(...Array.from({ length: chains }, (_, c) => fc.array(ruleArb(c, chains), { minLength: 0, maxLength: 25 })))
    .map((perChain) => {
      const lines = ['*nat'];
      for (let c = 1; c < chains; c++) lines.push(`:C${c} - [0:0]`);
      perChain.forEach((rules, c) => {
        const chain = c === 0 ? 'PREROUTING' : `C${c}`;
        for (const r of rules) lines.push(`-A ${chain} ${r}`.trimEnd());
      });
      lines.push('COMMIT', '');
      return lines.join('\n');
    }),
);

function node(text: string, indexed: boolean, preparedUpFront = false): SimNode {
  const loaded = loadIptables(text, 'prop');
  if (!loaded.ok) throw new Error(`${loaded.message}\n${text}`);
  const ruleset = compileRuleset(loaded.state, { indexed, indexThreshold: 1 });
  if (preparedUpFront) prepareAllChains(ruleset);
  return makeSimNode({
    name: 'n',
    interfaces: [{ name: 'eth0', addresses: [{ address: parseIPv4('192.168.0.2')!, prefixLength: 24 }] }],
    routes: [],
    ruleset,
    sets: null,
    defaultInterface: 'eth0',
  });
}

const requestArb = fc
  .record({
    dst: fc.constantFrom(...DSTS, '10.96.0.9'),
    port: fc.constantFrom(...PORTS),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const),
  })
  .map(({ dst, port, protocol }) => ({
    src: parseIPv4('203.0.113.7')!,
    dst: parseIPv4(dst)!,
    protocol,
    dport: port,
    origin: { kind: 'interface' as const, iface: 'eth0' },
  }));

describe('indexed evaluation', () => {
  it('gives exactly the result and the cost of linear evaluation', () => {
    fc.assert(
      fc.property(
        rulesetArb,
        fc.constantFrom(...DSTS, '10.96.0.9'),
        fc.constantFrom(...PORTS),
        fc.constantFrom('tcp' as const, 'udp' as const),
        (text, dst, port, protocol) => {
          const request = {
            src: parseIPv4('203.0.113.7')!,
            dst: parseIPv4(dst)!,
            protocol,
            dport: port,
            origin: { kind: 'interface' as const, iface: 'eth0' },
          };
          const linear = tracePacket(node(text, false), request);
          const indexed = tracePacket(node(text, true), request);
          expect(indexed).toEqual(linear);
        },
      ),
      { numRuns: 300, seed: 20261122 },
    );
  });

  it('gives the same results whether chains are prepared as walks enter them or all up front', () => {
    fc.assert(
      fc.property(
        rulesetArb,
        fc.boolean(),
        fc.array(requestArb, { minLength: 1, maxLength: 6 }),
        (text, indexed, requests) => {
          // One node each, packet after packet: the lazy node prepares chains between (and during) traces.
          const lazy = node(text, indexed);
          const upFront = node(text, indexed, true);
          for (const request of requests) expect(tracePacket(lazy, request)).toEqual(tracePacket(upFront, request));
        },
      ),
      { numRuns: 200, seed: 20261207 },
    );
  });
});
