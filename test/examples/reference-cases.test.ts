// Reference cases: inputs with what the real kube-proxy wrote and its tests expect
// (../shared/examples, and the cases re-expressed from kube-proxy's proxier tests in
// test/upstream). Each case's rules must be identical after kube-proxy's own
// normalisation, each packet must reach what kube-proxy's tracer says, and each IPVS
// node must hold what kube-proxy's IPVS tests assert; each DNS question gets CoreDNS's
// answer (../shared/examples/dns, test/upstream/dns), compared as CoreDNS's tests compare.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ask, coreDnsOf, resultJson } from '../../src/cli/dns-command';
import { rulesJson } from '../../src/cli/rules-command';
import { scenarioRequest } from '../../src/cli/scenario-trace';
import type { QueryType } from '../../src/dns';
import { buildScenarioNode, tracePacket } from '../../src/engine';
import { loadScenario, type Scenario } from '../../src/model';
import { dumpNftTransaction } from '../../src/nftables';
import { normalizeIptables } from '../helpers/normalize-iptables';
import {
  type DnsCase,
  dnsDisagreement,
  flowDisagreement,
  type IpvsExpectation,
  type IpvsNodeView,
  ipvsDisagreements,
  normaliseNftText,
  type ReferenceFlow,
} from '../helpers/reference-cases';

const ROOT = join(__dirname, '..', '..');
const SHARED = join(ROOT, '..', 'shared', 'examples');
const FOLDERS = [
  join(SHARED, 'kube-proxy'),
  join(SHARED, 'ipvs'),
  join(SHARED, 'dns'),
  join(ROOT, 'test', 'upstream'),
].filter(existsSync);

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
const scenarios = FOLDERS.flatMap(walk)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function load(file: string): Scenario {
  const r = loadScenario(readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

describe.skipIf(scenarios.length === 0)('reference cases', () => {
  for (const file of scenarios) {
    const base = file.slice(0, -'.yaml'.length);
    const name = relative(ROOT, base);
    const has = (ext: string) => existsSync(base + ext);
    const read = (ext: string) => readFileSync(base + ext, 'utf8');
    describe(name, () => {
      const scenario = load(file);
      if (has('.dns.json')) {
        const dns = coreDnsOf(scenario);
        const cases = JSON.parse(read('.dns.json')) as DnsCase[];
        it.each(cases.map((c) => [c.name, c] as const))('dns: %s', (_, c) => {
          const asked = ask(scenario, dns, c.qname, [c.qtype as QueryType], c.from);
          expect(dnsDisagreement(c, resultJson(asked))).toBeNull();
        });
      }
      const rulesCompared = ['.iptables-restore.txt', '.nft.txt', '.expected.json', '.flows.json'].some(has);
      if (!rulesCompared) return;
      const nodeName = scenario.nodes[0]?.name ?? 'node';
      const built = buildScenarioNode(scenario, nodeName);
      if (!built.ok) throw new Error(built.message);
      const node = built.value;

      if (has('.iptables-restore.txt'))
        it("iptables rules identical to kube-proxy's", () => {
          expect(normalizeIptables(node.restore)).toEqual(normalizeIptables(read('.iptables-restore.txt')));
        });
      if (has('.nft.txt'))
        it("nft transaction identical to kube-proxy's", () => {
          expect(node.nft).toBeDefined();
          expect(normaliseNftText(dumpNftTransaction(node.nft!.ruleset))).toEqual(normaliseNftText(read('.nft.txt')));
        });
      if (has('.expected.json'))
        it("IPVS state as kube-proxy's test asserts", () => {
          const want = JSON.parse(read('.expected.json')) as IpvsExpectation;
          const got = rulesJson(scenario, nodeName, node) as unknown as IpvsNodeView;
          expect(ipvsDisagreements(want, got)).toEqual([]);
        });
      if (has('.flows.json')) {
        const flows = JSON.parse(read('.flows.json')) as ReferenceFlow[];
        it.each(flows.map((f) => [f.name, f] as const))('flow: %s', (_, f) => {
          const { node: sim, request } = scenarioRequest(
            scenario,
            f.sourceIP,
            `${f.destIP}:${f.destPort}`,
            f.protocol ?? 'tcp',
            nodeName,
          );
          expect(flowDisagreement(f, tracePacket(sim, request))).toBeNull();
        });
      }
    });
  }
});
