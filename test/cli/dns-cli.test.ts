// `knetsim dns` as a user meets it: dig-style text, JSON, the pod's queries, batch
// mode, the zone file, and bad input with exit status 2.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const DEMO = join(ROOT, 'examples', 'demo.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'knetsim-dns-cli-'));

function knetsim(...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'knetsim.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('knetsim dns', () => {
  it('prints the answer as dig does', () => {
    const r = knetsim('dns', DEMO, 'myapp.default.svc.cluster.local');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 0');
    expect(r.stdout).toContain(';; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0');
    expect(r.stdout).toContain(';; ANSWER SECTION:\nmyapp.default.svc.cluster.local.\t30\tIN\tA\t10.96.12.7');
  });

  it('--json, and NXDOMAIN with the SOA for a name that does not exist', () => {
    const r = knetsim('dns', DEMO, 'nosuch.default.svc.cluster.local', '--json');
    const j = JSON.parse(r.stdout);
    expect(j.rcode).toBe('NXDOMAIN');
    expect(j.flags).toEqual(['qr', 'aa', 'rd']);
    expect(j.authority[0]).toMatchObject({ name: 'cluster.local.', type: 'SOA', ttl: 30 });
    expect(j.authority[0].data).toMatch(
      /^ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 30$/,
    );
  });

  it('--from: resolv.conf and every query the pod sent, in order', () => {
    const r = knetsim('dns', DEMO, 'www.example.com', '--from', 'default/client', '--json');
    const j = JSON.parse(r.stdout);
    expect(j.resolvConf).toBe(
      'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    );
    // No --type: A and AAAA for each name, as getaddrinfo asks.
    expect(
      j.queries.map((q: { name: string; type: string; rcode: string }) => `${q.name} ${q.type} ${q.rcode}`),
    ).toEqual([
      'www.example.com.default.svc.cluster.local. A NXDOMAIN',
      'www.example.com.default.svc.cluster.local. AAAA NXDOMAIN',
      'www.example.com.svc.cluster.local. A NXDOMAIN',
      'www.example.com.svc.cluster.local. AAAA NXDOMAIN',
      'www.example.com.cluster.local. A NXDOMAIN',
      'www.example.com.cluster.local. AAAA NXDOMAIN',
      'www.example.com. A NOERROR',
      'www.example.com. AAAA NOERROR',
    ]);
    expect(j.answer).toEqual([{ name: 'www.example.com.', type: 'A', ttl: 300, data: '192.0.2.80' }]);
    // With --type, that type only.
    const a = JSON.parse(
      knetsim('dns', DEMO, 'www.example.com', '--from', 'default/client', '--type', 'A', '--json').stdout,
    );
    expect(a.queries).toHaveLength(4);
    expect(j.flags).toEqual(['qr', 'rd', 'ra']);
  });

  it('refuses a NAME and --batch together (the NAME was silently dropped)', () => {
    const batch = join(tmp, 'one.jsonl');
    writeFileSync(batch, `${JSON.stringify({ name: 'myapp.default', type: 'A' })}\n`);
    const r = knetsim('dns', DEMO, 'www.example.com', '--batch', batch);
    expect([r.status, r.stdout, r.stderr.trim()]).toEqual([
      2,
      '',
      'knetsim: dns: give a NAME or --batch FILE, not both',
    ]);
  });

  it('--batch: one JSON result a line, in order', () => {
    const batch = join(tmp, 'q.jsonl');
    writeFileSync(
      batch,
      `${[
        { name: 'kube-dns.kube-system.svc.cluster.local.', type: 'SRV' },
        { name: '_dns._udp.kube-dns.kube-system.svc.cluster.local.', type: 'SRV' },
        { name: 'myapp', type: 'A', from: 'default/client' },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n')}\n`,
    );
    const r = knetsim('dns', DEMO, '--batch', batch, '--json');
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0].answer.map((a: { data: string }) => a.data).sort()).toEqual([
      '0 33 53 kube-dns.kube-system.svc.cluster.local.',
      '0 33 9153 kube-dns.kube-system.svc.cluster.local.',
    ]);
    expect(lines[1].answer).toEqual([
      {
        name: '_dns._udp.kube-dns.kube-system.svc.cluster.local.',
        type: 'SRV',
        ttl: 30,
        data: '0 100 53 kube-dns.kube-system.svc.cluster.local.',
      },
    ]);
    expect(lines[2].question.name).toBe('myapp.default.svc.cluster.local.');
  });

  it('--zone-file: the cluster zone in standard zone-file form', () => {
    const r = knetsim('dns', DEMO, '--zone-file');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('$ORIGIN cluster.local.');
    expect(r.stdout).toMatch(/^cluster\.local\.\t30\tIN\tSOA\tns\.dns\.cluster\.local\. /m);
    expect(r.stdout).toContain('myapp.default.svc.cluster.local.\t30\tIN\tA\t10.96.12.7');
    expect(r.stdout).toContain(
      '_http._tcp.myapp.default.svc.cluster.local.\t30\tIN\tSRV\t0 100 80 myapp.default.svc.cluster.local.',
    );
  });

  it('bad input: unknown type, malformed name, unknown pod, broken Corefile -> one message, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['dns', DEMO, 'myapp', '--type', 'BOGUS'], /^knetsim: --type: "BOGUS" is not a query type/],
      [['dns', DEMO, 'a..b'], /^knetsim: name: "a\.\.b" has an empty label/],
      [['dns', DEMO, 'myapp', '--from', 'default/nobody'], /^knetsim: --from: no pod "default\/nobody"/],
    ];
    const broken = join(tmp, 'broken.yaml');
    writeFileSync(
      broken,
      'apiVersion: knetsim.io/v1alpha1\nkind: Cluster\nmetadata: {name: b}\nspec:\n  dns:\n    corefile: ".:53 {\\n  kubernetes cluster.local {\\n    pods sometimes\\n  }\\n}\\n"\n',
    );
    cases.push([
      ['dns', broken, 'x'],
      /^knetsim: .*broken\.yaml: Corefile \(cluster\): line 3: pods: wrong value for pods/,
    ]);
    for (const [args, message] of cases) {
      const r = knetsim(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('where the Corefile and the upstream come from', () => {
  it('a kube-system/coredns ConfigMap supplies the Corefile', () => {
    const path = join(tmp, 'configmap.yaml');
    writeFileSync(
      path,
      `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        kubernetes cluster.local {
            ttl 7
        }
    }
`,
    );
    const j = JSON.parse(knetsim('dns', path, 'web.default.svc.cluster.local', '--json').stdout);
    expect(j.answer).toEqual([{ name: 'web.default.svc.cluster.local.', type: 'A', ttl: 7, data: '10.96.0.20' }]);
  });

  it('a bad upstream zone line is bad input naming the line', () => {
    const path = join(tmp, 'upstream.yaml');
    writeFileSync(
      path,
      'apiVersion: knetsim.io/v1alpha1\nkind: Cluster\nmetadata: {name: u}\nspec:\n  dns:\n    upstream: ["www.example.com. 30 IN A 300.1.1.1"]\n',
    );
    const r = knetsim('dns', path, 'www.example.com.');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `knetsim: ${path}: spec.dns.upstream: "www.example.com. 30 IN A 300.1.1.1": "300.1.1.1" is not an IPv4 address\n`,
    );
  });
});

describe('knetsim trace resolves a name first, as the pod would', () => {
  for (const mode of ['iptables', 'ipvs', 'userspace'])
    it(`each query is a datagram to a CoreDNS pod and back (${mode} mode), then the connection`, () => {
      const r = knetsim(
        'trace',
        DEMO,
        '--from',
        'default/client',
        '--to',
        'www.example.com:80',
        '--mode',
        mode,
        '--json',
      );
      expect(r.status, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.dns.nameserver).toBe('10.96.0.10');
      expect(j.dns.address).toBe('192.0.2.80');
      expect(j.dns.queries.map((q: { name: string; rcode: string }) => `${q.name} ${q.rcode}`)).toEqual([
        'www.example.com.default.svc.cluster.local. NXDOMAIN',
        'www.example.com.svc.cluster.local. NXDOMAIN',
        'www.example.com.cluster.local. NXDOMAIN',
        'www.example.com. NOERROR',
      ]);
      for (const q of j.dns.queries) {
        // kube-proxy sends each datagram to one of the two CoreDNS pods, with equal chance.
        const endpoints = q.paths.map((p: { endpoint: string; probability: number }) => [p.endpoint, p.probability]);
        expect(endpoints.sort()).toEqual([
          ['10.244.2.2:53', 0.5],
          ['10.244.3.2:53', 0.5],
        ]);
        expect(q.paths.every((p: { outcome: string }) => p.outcome === 'ACCEPT')).toBe(true);
        expect(q.reply[0].outcome).toBe('ACCEPT');
        expect(q.reply[0].nodes[q.reply[0].nodes.length - 1]).toBe('worker-1');
      }
      expect(j.outcome).toBe('ACCEPT');
    });

  it('a short name with the Service port found from the answer', () => {
    const r = knetsim('trace', DEMO, '--from', 'default/client', '--to', 'myapp', '--json');
    const j = JSON.parse(r.stdout);
    expect(j.dns.queries).toHaveLength(1);
    expect(j.dns.address).toBe('10.96.12.7');
    // Port 80 is myapp's only TCP port; the connection reaches its four pods.
    expect(j.endpoints.map((e: { address: string }) => e.address).sort()).toEqual([
      '10.244.1.3:8080',
      '10.244.1.4:8080',
      '10.244.2.3:8080',
      '10.244.3.3:8080',
    ]);
  });

  it('a name nothing answers: exit 2 naming the queries', () => {
    const r = knetsim('trace', DEMO, '--from', 'default/client', '--to', 'nosuch:80');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'knetsim: --to: default/client cannot resolve "nosuch": 4 queries, the last (nosuch.) NXDOMAIN\n',
    );
  });
});
