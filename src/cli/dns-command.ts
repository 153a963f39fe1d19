// `knetsim dns SCENARIO NAME [--type T] [--from ns/pod] [--json]`, `--batch FILE`,
// `--zone-file`: CoreDNS's answer from the scenario, printed as dig prints it.
import {
  buildCoreDns,
  type CoreDns,
  CorefileError,
  type DnsResponse,
  flagList,
  lookupFromPod,
  nameProblem,
  type PodLookup,
  QUERY_TYPES,
  type QueryType,
  recordJson,
  resolvConfText,
  resolve,
  ZoneLineError,
  zoneFileOf,
} from '../dns';
import type { Scenario } from '../model';
import { loadScenarioInput } from './load-scenario-input';
import { readInput } from './read-input';
import { renderDig } from './render-dig';
import { UserError } from './user-error';

export interface DnsOptions {
  type?: string;
  from?: string;
  json?: boolean;
  batch?: string;
  zoneFile?: boolean | string;
}

/** The server built from the scenario's Corefile and upstream lines; problems in them are bad input. */
export function coreDnsOf(scenario: Scenario): CoreDns {
  try {
    return buildCoreDns(scenario);
  } catch (e) {
    if (e instanceof CorefileError)
      throw new UserError(`${scenario.file}: Corefile (${scenario.cluster.dns.corefileSource}): ${e.message}`);
    if (e instanceof ZoneLineError) throw new UserError(`${scenario.file}: spec.dns.upstream: ${e.message}`);
    throw e;
  }
}

function queryType(text: string | undefined): QueryType {
  const t = (text ?? 'A').toUpperCase();
  if (!(QUERY_TYPES as readonly string[]).includes(t))
    throw new UserError(`--type: "${text}" is not a query type (${QUERY_TYPES.join(', ')})`);
  return t as QueryType;
}

function checkName(name: string): void {
  const problem = nameProblem(name);
  if (problem) throw new UserError(`name: ${problem}`);
}

export interface Asked {
  readonly response: DnsResponse;
  readonly server: string;
  readonly lookup?: PodLookup;
}

/**
 * One question. From a pod, `types` are what its resolver asks for each name it tries:
 * one type, or A and AAAA as getaddrinfo does when no type is given.
 */
export function ask(
  scenario: Scenario,
  dns: CoreDns,
  name: string,
  types: readonly QueryType[],
  from: string | undefined,
): Asked {
  const type = types[0]!;
  checkName(name);
  if (from === undefined) {
    return {
      response: resolve(dns, { name, type }),
      server: `${scenario.cluster.dnsServiceIP}#53 (CoreDNS ${dns.localIPs[0]})`,
    };
  }
  const slash = from.indexOf('/');
  const pod = scenario.pods.find((p) => `${p.namespace}/${p.name}` === from || p.podIPs.includes(from));
  if (!pod)
    throw new UserError(
      `--from: no pod "${from}" in ${scenario.file}${slash < 0 ? ' (give namespace/name or a pod IP)' : ''}`,
    );
  const lookup = lookupFromPod(scenario, dns, pod, name, types);
  return { response: lookup.final, server: `${lookup.nameserver}#53`, lookup };
}

export function resultJson(a: Asked): Record<string, unknown> {
  const r = a.response;
  return {
    rcode: r.rcode,
    flags: flagList(r.flags),
    question: { name: r.question.name, type: r.question.type },
    answer: r.answer.map(recordJson),
    authority: r.authority.map(recordJson),
    additional: r.additional.map(recordJson),
    ...(a.lookup
      ? {
          resolvConf: resolvConfText(a.lookup.resolvConf),
          queries: a.lookup.queries.map((q) => ({
            name: q.name,
            type: q.type,
            rcode: q.response.rcode,
            answers: q.response.answer.length,
          })),
        }
      : {}),
  };
}

function renderLookup(a: Asked): string {
  if (!a.lookup) return renderDig(a.response, a.server);
  const l = a.lookup;
  const lines = [
    '; resolv.conf',
    ...resolvConfText(l.resolvConf)
      .trimEnd()
      .split('\n')
      .map((x) => `; ${x}`),
    `; ${l.queries.length} quer${l.queries.length === 1 ? 'y' : 'ies'} sent:`,
    ...l.queries.map(
      (q, i) =>
        `;  ${i + 1}. ${q.name} ${q.type} -> ${q.response.rcode}${q.response.answer.length ? `, ${q.response.answer.length} answer${q.response.answer.length > 1 ? 's' : ''}` : ''}`,
    ),
    '',
  ];
  return `${lines.join('\n')}${renderDig(a.response, a.server)}`;
}

export async function runDns(
  scenarioPath: string,
  name: string | undefined,
  o: DnsOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  const scenario = await loadScenarioInput(scenarioPath);
  const dns = coreDnsOf(scenario);
  if (o.zoneFile !== undefined && o.zoneFile !== false) {
    const zone = typeof o.zoneFile === 'string' ? o.zoneFile : undefined;
    const text = zoneFileOf(dns, zone);
    if (text === undefined)
      throw new UserError(
        `--zone-file: no kubernetes block in the Corefile is authoritative for ${zone ?? scenario.cluster.dnsDomain}`,
      );
    out.write(text);
    return;
  }
  if (o.batch) {
    if (name !== undefined) throw new UserError('dns: give a NAME or --batch FILE, not both');
    const results: string[] = [];
    readInput(o.batch)
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        let item: { name?: unknown; type?: unknown; from?: unknown };
        try {
          item = JSON.parse(line) as typeof item;
        } catch {
          throw new UserError(`${o.batch}: line ${i + 1}: not a JSON object`);
        }
        if (typeof item.name !== 'string') throw new UserError(`${o.batch}: line ${i + 1}: "name" must be a string`);
        try {
          const type = queryType(typeof item.type === 'string' ? item.type : undefined);
          const from = typeof item.from === 'string' ? item.from : undefined;
          results.push(JSON.stringify(resultJson(ask(scenario, dns, item.name, [type], from))));
        } catch (e) {
          if (e instanceof UserError) throw new UserError(`${o.batch}: line ${i + 1}: ${e.message}`);
          throw e;
        }
      });
    out.write(results.map((r) => `${r}\n`).join(''));
    return;
  }
  if (name === undefined) throw new UserError('dns: give a NAME (or --batch FILE, or --zone-file)');
  // From a pod without --type: getaddrinfo's A and AAAA for each name the resolver tries.
  const types: QueryType[] = o.type === undefined && o.from !== undefined ? ['A', 'AAAA'] : [queryType(o.type)];
  const asked = ask(scenario, dns, name, types, o.from);
  out.write(o.json ? `${JSON.stringify(resultJson(asked), null, 2)}\n` : renderLookup(asked));
}
