// The reference examples of ../shared/examples/kube-proxy: what the real
// kube-proxy wrote for these objects, and the packet outcomes its own tests
// expect. Every example must agree, in iptables and nftables mode alike (the nft
// transaction itself is compared in test/kube-proxy/sync-nftables-rules.test.ts).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildScenarioNode, tracePacket } from '../../src/engine';
import { loadScenario, type Scenario } from '../../src/model';
import { parseIPv4 } from '../../src/net';
import { normalizeIptables } from '../helpers/normalize-iptables';

const DIR = join(__dirname, '..', '..', '..', 'shared', 'examples', 'kube-proxy');
const examples = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.yaml')) : [];

interface Flow {
  name: string;
  sourceIP: string;
  destIP: string;
  destPort: number;
  protocol?: 'tcp' | 'udp' | 'sctp';
  expectedEndpoints: string[] | null;
  expectedVerdict: 'ACCEPT' | 'DROP' | 'REJECT';
  masq: boolean;
}

function load(file: string): Scenario {
  const r = loadScenario(readFileSync(join(DIR, file), 'utf8'), file);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

describe.skipIf(examples.length === 0)('kube-proxy reference examples', () => {
  for (const file of examples) {
    const base = file.slice(0, -'.yaml'.length);
    const golden = join(DIR, `${base}.iptables-restore.txt`);
    const flowsFile = join(DIR, `${base}.flows.json`);
    const scenario = load(file);
    const nodeName = scenario.nodes[0]?.name ?? 'node';
    const built = buildScenarioNode(scenario, nodeName);
    if (!built.ok) throw new Error(built.message);
    const node = built.value;

    if (existsSync(golden))
      it(`${base}: rules identical to kube-proxy's`, () => {
        expect(normalizeIptables(node.restore)).toEqual(normalizeIptables(readFileSync(golden, 'utf8')));
      });

    if (existsSync(flowsFile))
      for (const f of JSON.parse(readFileSync(flowsFile, 'utf8')) as Flow[])
        it(`${base}: ${f.name}`, () => {
          const src = parseIPv4(f.sourceIP)!;
          const local = node.node.interfaces.some((i) => i.addresses.some((a) => a.address === src));
          const t = tracePacket(node.node, {
            src,
            dst: parseIPv4(f.destIP)!,
            protocol: f.protocol ?? 'tcp',
            dport: f.destPort,
            origin: local ? { kind: 'local' } : { kind: 'interface', iface: 'eth0' },
          });
          if (f.expectedVerdict !== 'ACCEPT') {
            expect(t.outcome).toBe(f.expectedVerdict);
            return;
          }
          expect(t.outcome).toBe('ACCEPT');
          expect(t.endpoints.map((e) => e.address).sort()).toEqual([...(f.expectedEndpoints ?? [])].sort());
          expect(t.masquerade).toBe(f.masq);
        });
  }
});
