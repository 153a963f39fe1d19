// serve-dns is a real DNS server: real dig asks it over UDP and TCP and gets what
// `knetsim dns` answers; large answers are truncated over UDP without EDNS0 and come
// whole over TCP.
import { execFile, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreDnsOf } from '../../src/cli/dns-command';
import { type RunningServer, serveDns } from '../../src/cli/serve-dns-command';
import { presentRecord, type QueryType, resolve } from '../../src/dns';
import { fixtureYaml, kubernetesCorefile, scenarioFrom } from './fixture';

const haveDig = spawnSync('dig', ['-v']).status === 0;
if (!haveDig && process.env.KNETSIM_KERNEL === 'required') throw new Error('dig (dnsutils) is required in CI');

// 40 endpoints behind one headless service: about 2 KB of answer, over 512 bytes.
const big = `apiVersion: v1
kind: Service
metadata: {name: big, namespace: testns}
spec: {clusterIP: None, ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: big-1, namespace: testns, labels: {kubernetes.io/service-name: big}}
addressType: IPv4
endpoints:
${Array.from({ length: 40 }, (_, i) => `- addresses: [172.0.1.${i + 1}]`).join('\n')}
ports: [{name: http, protocol: TCP, port: 80}]
`;

const words = (line: string) => line.trim().split(/\s+/).join(' ');

describe.skipIf(!haveDig)('serve-dns answers real dig', () => {
  const yaml = fixtureYaml(kubernetesCorefile('namespaces testns\npods insecure'), [], big);
  const file = join(tmpdir(), `knetsim-serve-dns-${process.pid}.yaml`);
  const log: string[] = [];
  let server: RunningServer;
  const dns = coreDnsOf(scenarioFrom(yaml));

  beforeAll(async () => {
    writeFileSync(file, yaml);
    server = await serveDns(file, { listen: '127.0.0.1:0' }, (l) => log.push(l));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(file, { force: true });
  });

  // Asynchronous: the server runs in this process and must keep answering.
  const dig = async (...args: string[]) =>
    (
      await promisify(execFile)('dig', [
        `@${server.address}`,
        '-p',
        String(server.port),
        '+time=2',
        '+tries=1',
        ...args,
      ])
    ).stdout;
  const sections = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith(';'))
      .map(words)
      .sort();
  const expected = (name: string, type: QueryType) => {
    const r = resolve(dns, { name, type }, { ip: '127.0.0.1' });
    return [...r.answer, ...r.authority, ...r.additional].map((rr) => words(presentRecord(rr))).sort();
  };

  const questions: [string, QueryType][] = [
    ['svc1.testns.svc.cluster.local.', 'A'],
    ['hdls1.testns.svc.cluster.local.', 'AAAA'],
    ['_http._tcp.hdls1.testns.svc.cluster.local.', 'SRV'],
    ['svc0.testns.svc.cluster.local.', 'A'],
    ['dns-version.cluster.local.', 'TXT'],
    ['10-1-2-3.podns.pod.cluster.local.', 'A'],
  ];
  for (const transport of ['+notcp', '+tcp'])
    for (const [name, type] of questions)
      it(`${name} ${type} over ${transport === '+tcp' ? 'TCP' : 'UDP'}`, async () => {
        const out = await dig(transport, '+noall', '+answer', '+authority', '+additional', name, type);
        expect(sections(out)).toEqual(expected(name, type));
      });

  it('status and flags as CoreDNS sets them', async () => {
    const out = await dig('svc0.testns.svc.cluster.local', 'A');
    expect(out).toMatch(/status: NXDOMAIN/);
    expect(out).toMatch(/flags: qr aa rd;/);
  });

  it('over UDP without EDNS0 a 2 KB answer is truncated (TC); with EDNS0 4096 or over TCP it is whole', async () => {
    const udp = await dig('+noedns', '+ignore', 'big.testns.svc.cluster.local', 'A');
    expect(udp).toMatch(/flags: qr aa tc rd;/);
    const kept = sections(udp).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(40);
    expect(sections(await dig('+bufsize=4096', '+noall', '+answer', 'big.testns.svc.cluster.local', 'A'))).toHaveLength(
      40,
    );
    expect(sections(await dig('+tcp', '+noall', '+answer', 'big.testns.svc.cluster.local', 'A'))).toHaveLength(40);
  });

  it('dig retries a truncated answer over TCP by itself and gets all of it', async () => {
    expect(sections(await dig('+noedns', '+noall', '+answer', 'big.testns.svc.cluster.local', 'A'))).toHaveLength(40);
  });

  it('logs each query as CoreDNS log lines', () => {
    expect(
      log.some((l) => /"A IN svc1\.testns\.svc\.cluster\.local\. udp \d+ false \d+" NOERROR qr,aa,rd \d+/.test(l)),
    ).toBe(true);
    expect(log.some((l) => / tcp \d+ false /.test(l))).toBe(true);
  });
});
