// A real node's `nft list ruleset` where kube-proxy runs in iptables mode through
// iptables-nft (most nodes today): its tables parse, and traces through them reach
// the endpoints kube-proxy's own tests expect, with iptables-nft's `meta random`
// statistic matches followed as branches with their probabilities.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFromDumps, tracePacket } from '../../src/engine';
import type { L4Protocol } from '../../src/net';
import { parseNftList } from '../../src/nftables';
import { ip } from '../helpers/node-from-rules';

const LISTING = readFileSync(join(__dirname, 'fixtures', 'iptables-nft-TestClusterIPGeneral.nft-list.txt'), 'utf8');
const FLOWS = join(__dirname, '..', '..', '..', 'shared', 'examples', 'kube-proxy', 'TestClusterIPGeneral.flows.json');

interface Flow {
  name: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol: L4Protocol;
  expectedEndpoints: string[] | null;
  masq: boolean;
}

describe('an iptables-nft node listing', () => {
  it('parses, and prints back as the kernel listed it (after its comment lines)', () => {
    const r = parseNftList(LISTING);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([...r.value.tables.keys()]).toEqual(['ip mangle', 'ip filter', 'ip nat']);
    expect(r.value.tables.get('ip nat')!.chains.get('KUBE-SVC-TDPTYDRQPCXE6CO7')!.rules[1]!.text).toBe(
      'meta random & 2147483647 < 1073741824 counter packets 0 bytes 0 jump KUBE-SEP-D2IKQNEZGCF5UKSW',
    );
  });
  const node = nodeFromDumps({
    name: 'test-node',
    nft: { text: LISTING, file: 'listing' },
    nodeAddresses: [ip('192.168.0.2')],
  });
  const flows = JSON.parse(readFileSync(FLOWS, 'utf8')) as Flow[];
  for (const f of flows)
    it(`traces as kube-proxy's tests expect: ${f.name}`, () => {
      if (!node.ok) throw new Error(node.message);
      const t = tracePacket(node.node, {
        src: ip(f.sourceIP),
        dst: ip(f.destIP),
        protocol: f.protocol,
        dport: f.destPort,
        origin: { kind: 'interface', iface: 'eth0' },
      });
      expect(t.outcome).toBe('ACCEPT');
      expect(t.endpoints.map((e) => e.address).sort()).toEqual([...(f.expectedEndpoints ?? [])].sort());
      expect(t.masquerade).toBe(f.masq);
      for (const e of t.endpoints) expect(e.probability).toBeCloseTo(1 / t.endpoints.length, 6);
    });
});
