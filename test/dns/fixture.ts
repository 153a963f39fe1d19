// The CoreDNS unit-test fixture (../shared/examples/dns) with a Corefile of the test's
// choosing, and a compact text form of answers for assertions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildCoreDns, type CoreDns, type DnsResponse, presentRecord, type QueryType, resolve } from '../../src/dns';
import { loadScenario, type Scenario } from '../../src/model';

export const FIXTURE = join(__dirname, '..', '..', '..', 'shared', 'examples', 'dns', 'coredns-unit-serve.yaml');

/** The fixture's YAML with `spec.dns` replaced (corefile and upstream lines). */
export function fixtureYaml(corefile: string, upstream: readonly string[] = [], extraDocs = ''): string {
  const text = readFileSync(FIXTURE, 'utf8');
  const dns = stringify({ corefile, upstream }, { lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  const replaced = text.replace(/ {2}dns:\n(?: {4}.*\n)+/, `  dns:\n${dns}\n`);
  if (replaced === text) throw new Error('fixture: spec.dns not found');
  return extraDocs ? `${replaced}---\n${extraDocs}` : replaced;
}

export function scenarioFrom(yaml: string): Scenario {
  const r = loadScenario(yaml, 'fixture.yaml');
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

export function serverFor(corefile: string, upstream: readonly string[] = [], extraDocs = ''): CoreDns {
  return buildCoreDns(scenarioFrom(fixtureYaml(corefile, upstream, extraDocs)));
}

export function kubernetesCorefile(options: string, zones = 'cluster.local', server = 'cluster.local'): string {
  return `${server} {\n    kubernetes ${zones} {\n${options
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => `        ${l.trim()}`)
    .join('\n')}\n    }\n}\n`;
}

/** `RCODE | answer lines | authority lines | additional lines`, records sorted, SOA by owner and MNAME. */
export function summary(r: DnsResponse): string {
  const lines = (rs: DnsResponse['answer']) =>
    rs
      .map((rr) => (rr.type === 'SOA' ? `${rr.name} SOA ${rr.mname}` : presentRecord(rr).replaceAll('\t', ' ')))
      .sort()
      .join('; ');
  return [r.rcode, lines(r.answer), lines(r.authority), lines(r.additional)].join(' | ');
}

export function ask(dns: CoreDns, name: string, type: QueryType = 'A', clientIP?: string): string {
  return summary(resolve(dns, { name, type }, clientIP ? { ip: clientIP } : {}));
}
