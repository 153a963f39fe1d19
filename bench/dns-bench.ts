// DNS: queries per second of `knetsim serve-dns` measured by dnsperf on loopback, side
// by side in the same run with NSD serving the zone file knetsim exports; and the
// ndots amplification (queries a pod sends per lookup), with and without autopath.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCoreDns, lookupFromPod, zoneFileOf } from '../src/dns';
import { defaultCorefile, loadScenario, type Scenario } from '../src/model';

export interface QpsRow {
  readonly server: string;
  readonly qps: number;
  readonly lost: number;
  readonly latencyMs: number;
}

export interface NdotsRow {
  readonly name: string;
  readonly plain: number;
  readonly getaddrinfo: number;
  readonly autopath: number;
  readonly result: string;
}

export interface DnsBench {
  readonly services: number;
  readonly qps: readonly QpsRow[] | string;
  readonly ndots: readonly NdotsRow[];
}

/** A cluster with `n` ClusterIP Services (2 endpoints each) in 10 namespaces, and two CoreDNS pods. */
function benchScenarioYaml(n: number): string {
  const docs = [
    `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: dns-bench}
spec: {clusterCIDR: 10.244.0.0/16, serviceCIDR: 10.96.0.0/12, dnsServiceIP: 10.96.0.10}`,
    `apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDR: 10.244.1.0/24}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}`,
    `apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec: {clusterIP: 10.96.0.10, ports: [{name: dns, protocol: UDP, port: 53}]}`,
    `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kube-dns-1, namespace: kube-system, labels: {kubernetes.io/service-name: kube-dns}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.2]}, {addresses: [10.244.1.3]}]
ports: [{name: dns, protocol: UDP, port: 53}]`,
  ];
  for (let i = 0; i < n; i++) {
    const ip = `10.97.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: svc-${i}, namespace: ns${i % 10}}
spec: {clusterIP: ${ip}, ports: [{name: http, protocol: TCP, port: 80}]}`);
    docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-${i}-1, namespace: ns${i % 10}, labels: {kubernetes.io/service-name: svc-${i}}}
addressType: IPv4
endpoints: [{addresses: [10.244.${2 + (i % 200)}.${(i % 250) + 1}]}, {addresses: [10.245.${i % 200}.${(i % 250) + 1}]}]
ports: [{name: http, protocol: TCP, port: 8080}]`);
  }
  return `${docs.join('\n---\n')}\n`;
}

function load(yaml: string, file: string): Scenario {
  const r = loadScenario(yaml, file);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  return r.scenario;
}

/** dnsperf's query file: Service A records, SRV records and names that do not exist. */
function queryFile(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const s = (i * 7919) % n;
    const kind = i % 10;
    if (kind < 8) lines.push(`svc-${s}.ns${s % 10}.svc.cluster.local A`);
    else if (kind === 8) lines.push(`_http._tcp.svc-${s}.ns${s % 10}.svc.cluster.local SRV`);
    else lines.push(`nosuch-${s}.ns${s % 10}.svc.cluster.local A`);
  }
  return `${lines.join('\n')}\n`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function dnsperf(port: number, queries: string, seconds: number): Omit<QpsRow, 'server'> {
  const out = execFileSync(
    'dnsperf',
    ['-s', '127.0.0.1', '-p', String(port), '-d', queries, '-l', String(seconds), '-c', '4', '-Q', '2000000'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (process.env.KNETSIM_DNS_BENCH_DEBUG) process.stderr.write(out);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    latencyMs: 1000 * num(/Average Latency \(s\):\s+([\d.]+)/),
  };
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for a server to start');
}

// dig +short prints its timeout message on stdout too: only an address means an answer.
const answers = (port: number) =>
  /^\d+\.\d+\.\d+\.\d+$/m.test(
    spawnSync(
      'dig',
      ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', '+short', 'svc-0.ns0.svc.cluster.local'],
      {
        encoding: 'utf8',
      },
    ).stdout,
  );

/** Resolves when the child has exited, or after `ms` whatever it does. */
function exited(child: ReturnType<typeof spawn>, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function measureQps(root: string, n: number, seconds: number): Promise<QpsRow[] | string> {
  for (const tool of ['dnsperf', 'nsd', 'dig'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return `not measured: ${tool} is not installed (Debian: dnsperf, nsd, dnsutils)`;
  const dir = mkdtempSync(join(tmpdir(), 'knetsim-dns-bench-'));
  const children: ReturnType<typeof spawn>[] = [];
  try {
    const yaml = benchScenarioYaml(n);
    writeFileSync(join(dir, 'cluster.yaml'), yaml);
    writeFileSync(join(dir, 'queries.txt'), queryFile(n));
    const zone = zoneFileOf(buildCoreDns(load(yaml, 'cluster.yaml')))!;
    writeFileSync(join(dir, 'cluster.local.zone'), zone);

    const knetsimPort = await freePort();
    const knetsim = spawn(
      process.execPath,
      [join(root, 'bin', 'knetsim.js'), 'serve-dns', join(dir, 'cluster.yaml'), '--listen', `127.0.0.1:${knetsimPort}`],
      { stdio: 'ignore' },
    );
    children.push(knetsim);
    await waitFor(() => answers(knetsimPort), 30_000);
    const rows: QpsRow[] = [
      { server: 'knetsim serve-dns', ...dnsperf(knetsimPort, join(dir, 'queries.txt'), seconds) },
    ];

    const nsdPort = await freePort();
    writeFileSync(
      join(dir, 'nsd.conf'),
      `server:
  ip-address: 127.0.0.1@${nsdPort}
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  pidfile: "${dir}/nsd.pid"
  xfrdfile: "${dir}/xfrd.state"
  zonelistfile: "${dir}/zone.list"
  server-count: 1
  verbosity: 0
  # Response rate limiting would throttle a benchmark's repeated questions.
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: cluster.local
  zonefile: "${dir}/cluster.local.zone"
`,
    );
    const nsd = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: 'ignore' });
    children.push(nsd);
    await waitFor(() => answers(nsdPort), 30_000);
    rows.push({ server: 'NSD (the exported zone file)', ...dnsperf(nsdPort, join(dir, 'queries.txt'), seconds) });
    return rows;
  } catch (e) {
    return `not measured: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    // NSD writes its state files as it exits: wait for the servers to be gone (a few seconds at most)
    // before removing their directory, and retry rather than crash the whole bench.
    await Promise.all(children.map((c) => exited(c, 5_000)));
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

function ndotsTable(root: string): NdotsRow[] {
  const demo = readFileSync(join(root, 'examples', 'demo.yaml'), 'utf8');
  const plain = load(demo, 'demo.yaml');
  const corefile = defaultCorefile('cluster.local')
    .replace('pods insecure', 'pods verified')
    .replace('    prometheus :9153', '    autopath @kubernetes\n    prometheus :9153');
  const withAutopath: Scenario = { ...plain, cluster: { ...plain.cluster, dns: { ...plain.cluster.dns, corefile } } };
  const client = plain.pods.find((p) => p.namespace === 'default' && p.name === 'client')!;
  const dnsPlain = buildCoreDns(plain);
  const dnsAuto = buildCoreDns(withAutopath);
  const names = [
    'myapp',
    'myapp.default',
    'myapp.default.svc',
    'myapp.default.svc.cluster.local',
    'myapp.default.svc.cluster.local.',
    'www.example.com',
    'www.example.com.',
    'nosuch',
  ];
  return names.map((name) => {
    const a = lookupFromPod(plain, dnsPlain, client, name, ['A']);
    const both = lookupFromPod(plain, dnsPlain, client, name, ['A', 'AAAA']);
    const auto = lookupFromPod(withAutopath, dnsAuto, client, name, ['A']);
    const found = a.final.answer.find((r) => r.type === 'A');
    return {
      name,
      plain: a.queries.length,
      getaddrinfo: both.queries.length,
      autopath: auto.queries.length,
      result: found?.type === 'A' ? found.address : a.final.rcode,
    };
  });
}

export async function dnsBench(root: string, quick: boolean): Promise<DnsBench> {
  const services = quick ? 200 : 2000;
  return { services, qps: await measureQps(root, services, quick ? 2 : 5), ndots: ndotsTable(root) };
}
