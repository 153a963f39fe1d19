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

describe('what a listing cannot say, and tables a routed IPv4 packet never meets', () => {
  const listing = (body: string) =>
    `table ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n${body}\n\t}\n}\n`;
  it('refuses an iptables extension nft printed as a comment, which cuts the rule short', () => {
    // As nft 1.0.6 with xtables support listed kube-proxy IPVS mode's iptables-nft tables (checked in a netns).
    const r = parseNftList(listing('\t\t # match-set KUBE-LOOP-BACK dst,dst,src counter packets 0 bytes 0 masquerade'));
    expect(r).toMatchObject({ ok: false });
    if (r.ok) return;
    expect(r.message).toContain(
      '"# match-set KUBE-LOOP-BACK dst,dst,src counter packets 0 bytes 0 masquerade": nft lists',
    );
    expect(r.message).toContain("give the node's iptables-save with --rules");
    const tproxy = parseNftList(
      listing(
        '\t\tmeta l4proto tcp meta mark 0x95a40200 counter packets 0 bytes 0 # TPROXY redirect 127.0.0.1:42133 mark 0x200/0xffffffff',
      ),
    );
    expect(tproxy.ok).toBe(false);
    // `nft -a`'s handles and a user's own words are comments too, and harmless.
    expect(parseNftList(listing('\t\tip saddr 10.0.0.0/8 masquerade # handle 7')).ok).toBe(true);
    expect(parseNftList(listing('\t\t# masquerade what leaves\n\t\tip saddr 10.0.0.0/8 masquerade')).ok).toBe(true);
  });
  it('a table of the ip6, bridge or arp family does not see a routed IPv4 packet', () => {
    // Docker's ip6tables leaves `table ip6 filter` with FORWARD's policy drop; the kernel forwards IPv4 regardless.
    const text = [
      'table ip6 filter {',
      '\tchain FORWARD {',
      '\t\ttype filter hook forward priority filter; policy drop;',
      '\t}',
      '}',
      'table bridge b {',
      '\tchain forward {',
      '\t\ttype filter hook forward priority 0; policy drop;',
      '\t}',
      '}',
      'table arp a {',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy drop;',
      '\t}',
      '}',
    ].join('\n');
    const built = nodeFromDumps({ name: 'n', nft: { text, file: 'listing' }, nodeAddresses: [ip('192.168.0.2')] });
    if (!built.ok) throw new Error(built.message);
    for (const dst of ['8.8.8.8', '192.168.0.2']) {
      const t = tracePacket(built.node, {
        src: ip('10.244.1.5'),
        dst: ip(dst),
        protocol: 'tcp',
        dport: 443,
        origin: { kind: 'interface', iface: 'eth0' },
      });
      expect(t.outcome).toBe('ACCEPT');
    }
  });
});

describe('nft masquerade on a node with no address to take', () => {
  it('drops the packet, as the MASQUERADE target does', () => {
    const text =
      'table ip t {\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\tip saddr 10.244.0.0/16 masquerade\n\t}\n}\n';
    const built = nodeFromDumps({ name: 'n', nft: { text, file: 'listing' } });
    if (!built.ok) throw new Error(built.message);
    const t = tracePacket(built.node, {
      src: ip('10.244.1.5'),
      dst: ip('8.8.8.8'),
      protocol: 'tcp',
      dport: 443,
      origin: { kind: 'interface', iface: 'eth0' },
    });
    expect(t.outcome).toBe('DROP');
    expect(t.branches[0]!.disposition).toContain('masquerade found no address');
  });
});
