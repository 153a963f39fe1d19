// CoreDNS's own kubernetes-plugin cases (../shared/examples/dns): every question gets
// the rcode and the records CoreDNS gives, compared as CoreDNS's tests compare them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCoreDns, type QueryType, recordJson, resolve } from '../../src/dns';
import { loadScenario } from '../../src/model';

const DIR = join(__dirname, '..', '..', '..', 'shared', 'examples', 'dns');
const scenarios = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.yaml')) : [];

interface WantRecord {
  name: string;
  type: string;
  ttl: number | null;
  data: string;
}
interface Case {
  name: string;
  qname: string;
  qtype: QueryType;
  expectedRcode: string;
  answer?: WantRecord[];
  authority?: WantRecord[];
  extra?: WantRecord[];
}

function key(rr: WantRecord): string {
  let data = rr.data.trim();
  if (rr.type === 'SOA') data = data.split(/\s+/)[0]!;
  if (['CNAME', 'PTR', 'NS', 'SRV', 'SOA'].includes(rr.type)) data = data.toLowerCase();
  if (rr.type === 'TXT') data = data.replace(/^"|"$/g, '');
  return `${rr.name} ${rr.type} ${data}`;
}

const sorted = (rs: readonly WantRecord[], withTtl: (i: number) => boolean) =>
  rs
    .map((r) => ({ k: key(r), ttl: r.ttl }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x, i) => (withTtl(i) ? `${x.k} ttl=${x.ttl}` : x.k));

describe.skipIf(scenarios.length === 0)('CoreDNS reference cases', () => {
  for (const file of scenarios) {
    const loaded = loadScenario(readFileSync(join(DIR, file), 'utf8'), file);
    if (!loaded.ok) throw new Error(loaded.issues.map((i) => i.message).join('\n'));
    const dns = buildCoreDns(loaded.scenario);
    const cases = JSON.parse(readFileSync(join(DIR, file.replace(/\.yaml$/, '.dns.json')), 'utf8')) as Case[];
    for (const c of cases)
      it(`${file}: ${c.name}`, () => {
        const r = resolve(dns, { name: c.qname, type: c.qtype });
        expect(r.rcode).toBe(c.expectedRcode);
        for (const [want, got] of [
          [c.answer ?? [], r.answer],
          [c.authority ?? [], r.authority],
          [c.extra ?? [], r.additional],
        ] as const) {
          const w = sorted(want, () => false);
          const wantTtl = sorted(want, () => true);
          const g = got.map(recordJson);
          expect(sorted(g, () => false)).toEqual(w);
          // TTLs where the case gives them.
          const gotTtl = sorted(g, () => true);
          wantTtl.forEach((line, i) => {
            if (!line.endsWith('ttl=null')) expect(gotTtl[i]).toBe(line);
          });
        }
      });
  }
});
