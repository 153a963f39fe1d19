// The real kernel as the oracle for flannel's VXLAN: two of the demo's nodes
// built in network namespaces on one underlay bridge, with flannel.1 made as
// flanneld makes it and exactly the routes, neighbours, FDB entries and
// kube-proxy rules knetsim generated; a pod's packet to another node's pod (and
// to a Service whose endpoint is there) captured on the underlay, and the frame
// the kernel put on the wire compared with knetsim's `flannel.1 encap` hop.
// The same suite runs again for flannel's host-gw backend (no flannel.1, routes
// via the other node's eth0): there the wire carries the plain routed packet,
// compared with knetsim's `underlay` hop.
// Needs root, ip, bridge, iptables-restore and python3; KNETSIM_KERNEL=required
// makes their absence a failure, KNETSIM_KERNEL=off skips.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterPath, makeSimNode, seededRandom, walkCluster, walkReply } from '../../src/engine';
import { vtepMac } from '../../src/flannel';
import { parseIPv4 } from '../../src/net';
import { applyRestoreScript, compileRuleset, parseRestoreScript } from '../../src/netfilter';
import {
  type Built,
  build,
  buildCluster,
  Capture,
  type Cluster,
  carried,
  type Frame,
  parseFrame,
  SENDER,
  SYN_LENGTH,
} from './flannel-cluster';
import { kernelGate } from './kernel-gate';
import { IPTABLES_TOOLS, inNs, must, Namespaces, removeStale } from './netns';

const why = kernelGate('VXLAN kernel tests', [...IPTABLES_TOOLS, 'bridge']);

/** knetsim's encapsulation hop, taken apart. */
function encapOf(path: ClusterPath) {
  const hop = path.hops.find((h) => h.stage === 'flannel.1 encap');
  if (!hop) return null;
  const m =
    /^VXLAN VNI (\d+) to (\S+): outer udp (\S+):(\d+) -> (\S+):(\d+) \((\d+) bytes, (\d+)-byte frame on (\S+)\), inner (\w+) (\S+):(\d+) -> (\S+):(\d+) \((\d+) bytes\)$/.exec(
      hop.action,
    );
  if (!m) throw new Error(`unexpected encap hop: ${hop.action}`);
  return {
    vni: Number(m[1]),
    mac: m[2]!,
    outer: { src: m[3]!, sport: Number(m[4]), dst: m[5]!, dport: Number(m[6]), ipLength: Number(m[7]) },
    frameBytes: Number(m[8]),
    device: m[9]!,
    inner: {
      protocol: m[10]!,
      src: m[11]!,
      sport: Number(m[12]),
      dst: m[13]!,
      dport: Number(m[14]),
      length: Number(m[15]),
    },
  };
}

/** The kernel's frame and knetsim's hop: every field knetsim can know, and the source port's range. */
function expectSameEncap(frame: Frame, path: ClusterPath, localMac: string): void {
  const e = encapOf(path);
  expect(e, 'knetsim has a flannel.1 encap hop').not.toBeNull();
  const want = e!;
  expect(frame.vxlan, 'the frame is VXLAN').not.toBeNull();
  expect(frame.inner, 'the frame carries IPv4').not.toBeNull();
  expect({
    outerSrc: frame.outer.src,
    outerDst: frame.outer.dst,
    outerDport: frame.outer.dport,
    outerIpLength: frame.outer.ipLength,
    frameBytes: frame.bytes,
    vni: frame.vxlan!.vni,
    innerDstMac: frame.vxlan!.innerDstMac,
    inner: `${frame.inner!.protocol === 6 ? 'tcp' : frame.inner!.protocol === 17 ? 'udp' : frame.inner!.protocol} ${frame.inner!.src}:${frame.inner!.sport} -> ${frame.inner!.dst}:${frame.inner!.dport}`,
    innerLength: frame.inner!.length,
  }).toEqual({
    outerSrc: want.outer.src,
    outerDst: want.outer.dst,
    outerDport: want.outer.dport,
    outerIpLength: want.outer.ipLength,
    frameBytes: want.frameBytes,
    vni: want.vni,
    innerDstMac: want.mac,
    inner: `${want.inner.protocol} ${want.inner.src}:${want.inner.sport} -> ${want.inner.dst}:${want.inner.dport}`,
    innerLength: want.inner.length,
  });
  // The VXLAN header's I flag; the inner frame comes from this node's VTEP; no DF on the outer header
  // (the device's `df unset` default, as knetsim says); the source port is a hash in the kernel's default range.
  expect(frame.vxlan!.flags).toBe(0x08);
  expect(frame.vxlan!.innerSrcMac).toBe(localMac);
  expect(frame.outer.df).toBe(false);
  expect(frame.outer.sport).toBeGreaterThanOrEqual(32768);
  expect(frame.outer.sport).toBeLessThanOrEqual(60999);
  expect(want.outer.sport).toBeGreaterThanOrEqual(32768);
  expect(want.outer.sport).toBeLessThanOrEqual(60999);
}

/** host-gw: the kernel's frame is the plain routed packet, and knetsim's `underlay` hop names it. */
function expectSameRouted(frame: Frame, path: ClusterPath, src: string, dst: string): void {
  expect(path.nodes).toEqual(['worker-1', 'worker-2']);
  expect({ src: frame.outer.src, dst: frame.outer.dst }).toEqual({ src, dst });
  expect(
    path.hops.some((h) => h.stage === 'flannel.1 encap'),
    'no flannel.1 encap hop',
  ).toBe(false);
  expect(frame.vxlan, 'the frame is not VXLAN').toBeNull();
  expect(frame.outer.protocol).toBe(6);
  expect(frame.outer.ipLength).toBe(SYN_LENGTH);
  expect(frame.bytes).toBe(SYN_LENGTH + 14);
  const underlay = path.hops.filter((h) => h.stage === 'underlay').map((h) => h.action);
  expect(underlay).toContain(
    `worker-1 eth0 -> worker-2 eth0: tcp ${frame.outer.src}:${frame.outer.sport} -> ${frame.outer.dst}:${frame.outer.dport}`,
  );
}

for (const backend of ['vxlan', 'host-gw'] as const)
  describe.skipIf(why !== null)(`flannel ${backend}: the kernel agrees with knetsim`, () => {
    const ns = new Namespaces();
    let built: Built;
    let cluster: Cluster;
    let client = '';
    let server = '';
    let service = { ip: '', port: 0 };

    beforeAll(() => {
      removeStale();
      built = build(backend);
      // The demo's client pod on worker-1, and a myapp pod on worker-2 (an endpoint of the myapp Service).
      const cidr = built.nodes.get('worker-1')!.network.devices.find((d) => d.name === 'cni0')!.addresses[0]!;
      const onWorker1 = (ip: string) =>
        ip.split('.').slice(0, 3).join('.') === cidr.address.split('.').slice(0, 3).join('.');
      client =
        built.scenario.pods.find((p) => p.name === 'client')?.podIPs.find(onWorker1) ??
        built.scenario.pods.flatMap((p) => p.podIPs).find(onWorker1)!;
      const w1 = built.nodes.get('worker-1')!;
      const svc = w1.localState.servicePorts.find(
        (s) => s.serviceName === 'myapp' && s.protocol === 'TCP' && s.endpoints.some((e) => e.nodeName === 'worker-2'),
      );
      if (!svc) throw new Error('the demo has no TCP Service with an endpoint on worker-2');
      const ep = svc.endpoints.find((e) => e.nodeName === 'worker-2')!;
      server = ep.ip;
      service = { ip: svc.clusterIP!, port: svc.port };
      cluster = buildCluster(
        ns,
        built,
        new Map([
          ['worker-1', [client]],
          ['worker-2', [server]],
        ]),
      );
    }, 30_000);

    afterAll(() => ns.cleanup());

    /** Sends SYNs from the client pod, capturing on worker-1's underlay port and in the server pod. */
    function send(dst: string, dport: number, sports: readonly number[]) {
      const wire = new Capture(cluster.underlay, cluster.node.get('worker-1')!.port);
      let far: Capture | null = null;
      let onWire: [number, string][] = [];
      let inPod: [number, string][] = [];
      try {
        far = new Capture(cluster.pods.get(server)!, 'eth0');
        const lines = sports.map((s) => `tcp ${client} ${s} ${dst} ${dport}\n`).join('');
        inNs(cluster.pods.get(client)!, 'python3', [SENDER], lines);
        must('sleep', ['0.3']);
      } finally {
        onWire = wire.finish();
        inPod = far?.finish() ?? [];
      }
      const frames = onWire
        .filter(([type]) => type !== 4) // as received from worker-1 (not PACKET_OUTGOING towards it)
        .map(([, hex]) => parseFrame(hex))
        .filter((f): f is Frame => f !== null && carried(f)?.src === client);
      const delivered = inPod.map(([, hex]) => parseFrame(hex)).filter((f): f is Frame => f !== null);
      return { frames, delivered };
    }

    function expectSame(frame: Frame, path: ClusterPath): void {
      if (backend === 'vxlan')
        expectSameEncap(frame, path, vtepMac(built.scenario.nodes.find((n) => n.name === 'worker-1')!));
      else expectSameRouted(frame, path, client, server);
    }

    function knetsim(dst: string, dport: number, sport: number): ClusterPath[] {
      return walkCluster(built.sims, 'worker-1', {
        src: parseIPv4(client)!,
        dst: parseIPv4(dst)!,
        protocol: 'tcp',
        sport,
        dport,
        length: SYN_LENGTH,
        origin: { kind: 'interface', iface: 'cni0' },
      });
    }

    it('builds the routes knetsim lists', () => {
      for (const [name, sn] of built.nodes) {
        const kernel = inNs(cluster.node.get(name)!.ns, 'ip', ['-4', 'route', 'show'])
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .sort();
        const knet = sn.network.routes.filter((r) => !r.includes(' table local')).sort();
        expect(kernel, name).toEqual(knet);
      }
    });

    it('pod to pod across nodes: the frame on the underlay is the one knetsim encapsulates', () => {
      const sport = 40000;
      const { frames, delivered } = send(server, 8080, [sport]);
      const paths = knetsim(server, 8080, sport);
      expect(paths).toHaveLength(1);
      const path = paths[0]!;
      expect(path.outcome).toBe('ACCEPT');
      expect(path.nodes).toEqual(['worker-1', 'worker-2']);
      expect(frames, 'frames from worker-1 carrying the SYN').toHaveLength(1);
      expectSame(frames[0]!, path);
      // Delivered into the far pod, decapsulated, as knetsim's last node says.
      const exit = path.exit!;
      const got = delivered.find((f) => f.outer.src === client && f.outer.sport === sport);
      expect(got, 'the SYN reached the pod on worker-2').toBeDefined();
      expect(`${got!.outer.dst}:${got!.outer.dport}`).toBe(`${exit.dst}:${exit.dport}`);
      expect(got!.outer.src).toBe(exit.src);
      expect(path.disposition).toContain(server);
    });

    it.skipIf(backend !== 'vxlan')(
      "a node rule dropping UDP 8472 in OUTPUT stops the VXLAN datagram: nothing leaves, as knetsim's trace says",
      () => {
        const rule = ['OUTPUT', '-p', 'udp', '-m', 'udp', '--dport', '8472', '-j', 'DROP'];
        const w1 = cluster.node.get('worker-1')!.ns;
        const sport = 40100;
        inNs(w1, 'iptables', ['-I', ...rule]);
        let sent: ReturnType<typeof send>;
        try {
          sent = send(server, 8080, [sport]);
        } finally {
          inNs(w1, 'iptables', ['-D', ...rule]);
        }
        expect(sent.frames, 'frames from worker-1 carrying the SYN').toHaveLength(0);
        expect(sent.delivered.filter((f) => f.outer.src === client && f.outer.sport === sport)).toHaveLength(0);
        // knetsim's worker-1 with the same rule on top of its own.
        const extra = parseRestoreScript(`*filter\n-I ${rule.join(' ')}\nCOMMIT\n`);
        if (!extra.ok) throw new Error(extra.error.message);
        const applied = applyRestoreScript(built.nodes.get('worker-1')!.netfilter, extra.script, { noflush: true });
        if (!applied.ok) throw new Error(applied.error.message);
        const sims = new Map(built.sims);
        sims.set('worker-1', makeSimNode({ ...built.sims.get('worker-1')!, ruleset: compileRuleset(applied.state) }));
        const paths = walkCluster(sims, 'worker-1', {
          src: parseIPv4(client)!,
          dst: parseIPv4(server)!,
          protocol: 'tcp',
          sport,
          dport: 8080,
          length: SYN_LENGTH,
          origin: { kind: 'interface', iface: 'cni0' },
        });
        expect(paths.map((p) => [p.outcome, p.nodes])).toEqual([['DROP', ['worker-1']]]);
        expect(paths[0]!.disposition).toMatch(/^the VXLAN datagram udp .*:8472 dropped in filter\/OUTPUT$/);
      },
    );

    it('pod to a Service whose chosen endpoint is on the other node', () => {
      // The kernel picks endpoints at random: send a burst of SYNs, compare those that went to worker-2.
      const sports = Array.from({ length: 40 }, (_, i) => 41000 + i);
      const { frames, delivered } = send(service.ip, service.port, sports);
      const toServer = frames.filter((f) => carried(f)!.dst === server);
      expect(toServer.length, 'some SYNs were DNATed to the endpoint on worker-2').toBeGreaterThan(0);
      for (const frame of toServer) {
        const sport = carried(frame)!.sport;
        const paths = knetsim(service.ip, service.port, sport).filter(
          (p) => p.nodes.at(-1) === 'worker-2' && p.endpoint?.startsWith(`${server}:`),
        );
        expect(paths, `knetsim's path to ${server} for sport ${sport}`).toHaveLength(1);
        const path = paths[0]!;
        expect(path.outcome).toBe('ACCEPT');
        expectSame(frame, path);
        const exit = path.exit!;
        const got = delivered.find((f) => f.outer.src === exit.src && f.outer.sport === exit.sport);
        expect(got, `the SYN from port ${sport} reached the pod on worker-2`).toBeDefined();
        expect(`${got!.outer.dst}:${got!.outer.dport}`).toBe(`${exit.dst}:${exit.dport}`);
      }
    });
  });

// An outside client sends to the NodePort of a node that has no endpoint of its own (the
// control plane): with externalTrafficPolicy Cluster the node source-NATs the SYN to itself
// and sends it on to the endpoint's node (VXLAN or routed), and the endpoint's answer comes
// back through both nodes' conntrack to the client; with Local the node drops it.
const ENTRY = 'control-plane';
const OUTSIDE = '192.168.122.200';
const ALL_NODES = ['control-plane', 'worker-1', 'worker-2', 'worker-3'];

for (const backend of ['vxlan', 'host-gw'] as const)
  for (const policy of ['Cluster', 'Local'] as const)
    describe.skipIf(why !== null)(
      `flannel ${backend}: NodePort with externalTrafficPolicy ${policy} across nodes`,
      () => {
        const ns = new Namespaces();
        const setPolicy = (yaml: string) =>
          policy === 'Cluster'
            ? yaml
            : yaml.replace('  type: NodePort\n', '  type: NodePort\n  externalTrafficPolicy: Local\n');
        let built: Built;
        let cluster: Cluster;
        let client = '';
        let nodeIP = '';
        let nodePort = 0;
        const endpoints = new Map<string, string>();

        beforeAll(() => {
          removeStale();
          built = build(backend, ALL_NODES, setPolicy);
          const entry = built.nodes.get(ENTRY)!;
          const svc = entry.localState.servicePorts.find((s) => s.serviceName === 'myapp-nodeport' && s.nodePort);
          if (!svc) throw new Error('the demo has no myapp-nodeport Service');
          expect(svc.externalTrafficPolicy).toBe(policy);
          nodePort = svc.nodePort!;
          nodeIP = entry.localState.node.internalIPs[0]!;
          for (const e of svc.endpoints) endpoints.set(e.ip, e.nodeName!);
          const podIPs = new Map<string, string[]>();
          for (const [ip, node] of endpoints) podIPs.set(node, [...(podIPs.get(node) ?? []), ip]);
          cluster = buildCluster(ns, built, podIPs);
          // The client: one more host on the underlay.
          client = ns.create('cl');
          must('ip', [
            '-n',
            cluster.underlay,
            'link',
            'add',
            'pcl',
            'type',
            'veth',
            'peer',
            'name',
            'eth0',
            'netns',
            client,
          ]);
          inNs(cluster.underlay, 'ip', ['link', 'set', 'pcl', 'master', 'br0', 'up']);
          inNs(client, 'ip', ['addr', 'add', `${OUTSIDE}/24`, 'dev', 'eth0']);
          inNs(client, 'ip', ['link', 'set', 'eth0', 'up']);
        }, 60_000);

        afterAll(() => ns.cleanup());

        function request(sport: number) {
          return {
            src: parseIPv4(OUTSIDE)!,
            dst: parseIPv4(nodeIP)!,
            protocol: 'tcp' as const,
            sport,
            dport: nodePort,
            length: SYN_LENGTH,
            origin: { kind: 'interface' as const, iface: 'eth0' },
          };
        }

        /** SYNs from the client; what the entry node puts on the underlay, and what comes back to the client. */
        function send(sports: readonly number[]) {
          const wire = new Capture(cluster.underlay, cluster.node.get(ENTRY)!.port);
          let back: Capture | null = null;
          let onWire: [number, string][] = [];
          let atClient: [number, string][] = [];
          try {
            back = new Capture(client, 'eth0');
            const lines = sports.map((p) => `tcp ${OUTSIDE} ${p} ${nodeIP} ${nodePort}\n`).join('');
            inNs(client, 'python3', [SENDER], lines);
            must('sleep', ['0.5']);
          } finally {
            onWire = wire.finish();
            atClient = back?.finish() ?? [];
          }
          const forwarded = onWire
            .filter(([type]) => type !== 4)
            .map(([, hex]) => parseFrame(hex))
            .filter((f): f is Frame => f !== null && carried(f) !== null && endpoints.has(carried(f)!.dst));
          const replies = atClient
            .filter(([type]) => type !== 4)
            .map(([, hex]) => parseFrame(hex))
            .filter((f): f is Frame => f !== null && f.outer.dst === OUTSIDE && f.outer.protocol === 6);
          return { forwarded, replies };
        }

        if (policy === 'Local')
          it('the node has no local endpoint: knetsim drops the SYN, and nothing leaves the node', () => {
            const paths = walkCluster(built.sims, ENTRY, request(43000));
            expect(paths.map((p) => p.outcome)).toEqual(['DROP']);
            expect(paths[0]!.nodes).toEqual([ENTRY]);
            const { forwarded, replies } = send([43000]);
            expect(forwarded).toEqual([]);
            expect(replies).toEqual([]);
          });
        else
          it("each forwarded SYN is knetsim's: SNAT to the entry node, DNAT to the endpoint, on the wire as knetsim puts it; the answer comes back from the NodePort", () => {
            const sports = Array.from({ length: 24 }, (_, i) => 43100 + i);
            const { forwarded, replies } = send(sports);
            expect(forwarded.length, 'SYNs the entry node sent on to an endpoint').toBe(sports.length);
            const seen = new Set<string>();
            for (const frame of forwarded) {
              const inner = carried(frame)!;
              const sport = sports.find((p) => p === inner.sport) ?? inner.sport;
              const paths = walkCluster(built.sims, ENTRY, request(sport)).filter((p) =>
                p.endpoint?.startsWith(`${inner.dst}:`),
              );
              expect(paths, `knetsim's path to ${inner.dst} for sport ${sport}`).toHaveLength(1);
              const path = paths[0]!;
              expect(path.outcome).toBe('ACCEPT');
              expect(path.masquerade).toBe(true);
              expect(path.nodes).toEqual([ENTRY, endpoints.get(inner.dst)!]);
              if (backend === 'vxlan')
                expectSameEncap(frame, path, vtepMac(built.scenario.nodes.find((n) => n.name === ENTRY)!));
              else {
                const underlay = path.hops.filter((h) => h.stage === 'underlay').map((h) => h.action);
                expect(
                  underlay.some((a) => a.includes(`tcp ${inner.src}:${inner.sport} -> ${inner.dst}:${inner.dport}`)),
                ).toBe(true);
              }
              seen.add(inner.dst);
            }
            // The kernel spread them over more than one endpoint, as knetsim's branches say it may.
            expect(seen.size).toBeGreaterThan(1);
            // Every SYN was answered (the pod has no listener: RST), from the NodePort the client asked.
            for (const p of sports) {
              const r = replies.find((f) => f.outer.dport === p);
              expect(r, `an answer to the SYN from port ${p}`).toBeDefined();
              expect(`${r!.outer.src}:${r!.outer.sport}`).toBe(`${nodeIP}:${nodePort}`);
            }
            // knetsim's reply walk for one connection ends at the client with the same addresses.
            const [forward] = walkCluster(built.sims, ENTRY, {
              ...request(43100),
              commit: true,
              sample: seededRandom(7),
            });
            const back = walkReply(built.sims, forward!);
            expect(back).toHaveLength(1);
            expect(back[0]!.outcome).toBe('ACCEPT');
            expect(back[0]!.nodes).toEqual([endpoints.get(forward!.endpoint!.split(':')[0]!)!, ENTRY]);
            expect(back[0]!.exit).toMatchObject({ src: nodeIP, sport: nodePort, dst: OUTSIDE, dport: 43100 });
          });
      },
    );
