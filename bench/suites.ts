// The bench suites behind `knetsim bench --suite S` and `npm run bench`: each measures
// one question users bring (which proxy mode, which flannel backend, how fast is DNS,
// how fast is knetsim itself, what does the real kernel pay) and returns tables.
import { type TraceRequest, tracePacket } from '../src/engine';
import { type ProxierSettings, syncIptablesRules } from '../src/kube-proxy';
import { parseIPv4 } from '../src/net';
import { compileRuleset, loadIptables, prepareAllChains } from '../src/netfilter';
import { harnessMissing, kernelWire } from './cni-kernel';
import { type CostModel, modeledMicros } from './cost-model';
import { crossNode } from './cross-node';
import { dnsBench } from './dns-bench';
import { modeNode } from './mode-nodes';
import type { Progress } from './progress-bar';
import type { SuiteResult } from './report';
import { type BenchMode, firstAndEstablished, syncCost } from './sync-and-established';
import { wireOverhead } from './wire-overhead';
import { BENCH_SETTINGS, type BenchService, benchWorkload } from './workload';

export interface SuiteOptions {
  readonly quick: boolean;
  /** Service counts to measure at. */
  readonly services: readonly number[];
  /** Service counts for the kernel suite (iptables-nft-restore slows down sharply with size). */
  readonly kernelServices: readonly number[];
  readonly root: string;
  readonly progress: Progress;
  /** A cost model the kernel suite fitted in the same run, if it ran first. */
  readonly costModel?: CostModel;
}

export const MODES: readonly BenchMode[] = ['userspace', 'iptables', 'ipvs', 'nftables'];
const SERVICE_CIDR = '10.96.0.0/12';
const POD = parseIPv4('10.244.1.5')!;

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KiB`;

/** kube-proxy's settings for the bench node (the same for every suite). */
export function benchSettings(_state: ReturnType<typeof benchWorkload>['state']): ProxierSettings {
  return BENCH_SETTINGS;
}

/** A SYN from pod 10.244.1.5 (in on cni0) to the Service's cluster IP; `sample` draws one path. */
export function requestTo(svc: BenchService, recordHops = false, sample?: () => number): TraceRequest {
  return {
    src: POD,
    dst: parseIPv4(svc.clusterIP)!,
    protocol: 'tcp',
    dport: svc.port,
    origin: { kind: 'interface', iface: 'cni0' },
    recordHops,
    ...(sample ? { sample } : {}),
  };
}

/** The proxy modes side by side at each scale. */
export async function modesSuite(o: SuiteOptions): Promise<SuiteResult> {
  const rows: string[][] = [];
  const data: unknown[] = [];
  let step = 0;
  const total = o.services.length * MODES.length;
  for (const n of o.services) {
    const w = benchWorkload({ services: n, endpointsOf: () => 3, nodePortEvery: 4 });
    const settings = benchSettings(w.state);
    const picks = [w.services[0]!, w.services[w.services.length >> 1]!, w.services[w.services.length - 1]!];
    for (const mode of MODES) {
      o.progress.step(`modes: ${mode}, ${fmt(n)} Services`, step++ / total);
      const m = modeNode(mode, w.state, settings, SERVICE_CIDR);
      const costs = picks.map((svc) => firstAndEstablished(m.node, requestTo(svc)));
      const sync = syncCost(mode, w.state, settings, SERVICE_CIDR);
      const show = (c: (typeof costs)[number]['first']) => {
        const parts = [`${fmt(c.rulesEvaluated)} rules`, `${c.setLookups} set`, `${c.ipvsLookups} IPVS`];
        if (c.userSpaceCopies) parts.push(`${c.userSpaceCopies} copies`);
        const modeled = o.costModel
          ? ` ≈ ${fmt(modeledMicros(o.costModel, { rules: c.rulesEvaluated, sets: c.setLookups + c.ipvsLookups, conntrack: c.conntrackLookups }), 1)} µs`
          : '';
        return `${parts.join(' + ')}${modeled}`;
      };
      rows.push([
        `${fmt(n)}, ${mode}`,
        m.installed,
        kb(m.textBytes),
        `${fmt(m.generateMs, 1)} ms`,
        ...costs.map((c) => show(c.first)),
        show(costs[1]!.established),
        `${kb(sync.partialBytes)} in ${fmt(sync.partialMs, 1)} ms (full: ${kb(sync.fullBytes)})`,
      ]);
      data.push({
        services: n,
        mode,
        installed: m.installed,
        textBytes: m.textBytes,
        generateMs: m.generateMs,
        costs,
        sync,
      });
    }
  }
  return {
    suite: 'modes',
    title: 'Proxy modes side by side',
    note: `Services with 3 endpoints each (every 4th a NodePort) on one node, from the real generators. Per mode: what it installs and its size as its tools' text; generation time; what a connection's first packet to the first, middle and last Service costs (iptables grows with position, IPVS and nftables stay flat) and what the next packet of that connection costs once conntrack knows it; and what an incremental sync sends after one endpoint is added to one Service.${o.costModel ? ' "≈ µs" is the kernel-fitted cost model applied to the counts.' : ''}`,
    tables: [
      {
        caption: '',
        columns: [
          'Services, mode',
          'installed',
          'as text',
          'generate',
          'first packet: first Service',
          'middle Service',
          'last Service',
          'established packet (middle)',
          'incremental sync (one endpoint added)',
        ],
        rows,
      },
    ],
    data,
  };
}

/** flannel host-gw against VXLAN: bytes on the wire (knetsim and the kernel) and a cross-node packet. */
export async function cniSuite(o: SuiteOptions): Promise<SuiteResult> {
  o.progress.step('cni: wire overhead', 0);
  const goodput = (payload: number, bytes: number) => `${fmt((100 * payload) / bytes, 1)}%`;
  const wire = wireOverhead([64, 1024, 16 * 1024, 64 * 1024]);
  o.progress.step('cni: a packet across nodes', 0.4);
  const cross = crossNode(o.quick ? 200 : 2_000);
  o.progress.step('cni: the same transfers on the kernel harness', 0.6);
  const missing = harnessMissing();
  const measured = missing ? [] : kernelWire(wire.map((w) => w.payload));
  const onKernel = (backend: 'host-gw' | 'vxlan', payload: number) => {
    const k = measured.find((m) => m.backend === backend && m.payload === payload);
    return k ? `${k.segments} / ${fmt(k.frameBytes)} B` : '-';
  };
  return {
    suite: 'cni',
    title: 'flannel host-gw and VXLAN',
    note: `One direction of a TCP transfer between pods on two nodes (underlay MTU 1500): knetsim pushes each data segment (Linux's timestamp option included) through its MTU check and VXLAN encapsulation and counts frame bytes as an underlay capture would; the kernel harness (test/kernel: the demo's two workers in namespaces, offloads off) carries the same transfer and its data frames are counted on the underlay${missing ? ` (not run here: ${missing})` : ''}. And one SYN walked across two nodes of examples/demo.yaml.`,
    tables: [
      {
        caption: 'Bytes on the wire, knetsim and the kernel',
        columns: [
          'transfer',
          'knetsim segments host-gw / VXLAN',
          'knetsim frame bytes host-gw / VXLAN',
          'kernel host-gw: segments / bytes',
          'kernel VXLAN: segments / bytes',
          'goodput host-gw / VXLAN',
          'VXLAN extra',
        ],
        rows: wire.map((w) => [
          `${fmt(w.payload)} B`,
          `${w.segments.hostGw} / ${w.segments.vxlan}`,
          `${fmt(w.wireBytes.hostGw)} / ${fmt(w.wireBytes.vxlan)}`,
          onKernel('host-gw', w.payload),
          onKernel('vxlan', w.payload),
          `${goodput(w.payload, w.wireBytes.hostGw)} / ${goodput(w.payload, w.wireBytes.vxlan)}`,
          `+${fmt(w.wireBytes.vxlan - w.wireBytes.hostGw)} B`,
        ]),
      },
      {
        caption: 'One SYN from a pod on worker-1 to a pod on worker-2',
        columns: ['backend', 'nodes', 'hops', 'rules evaluated', 'SYN frame on the underlay', 'knetsim walk time'],
        rows: cross.map((c) => [
          c.backend,
          c.nodes,
          String(c.hops),
          String(c.rulesEvaluated),
          `${c.frameBytes} B`,
          `${fmt(c.microsPerPacket, 1)} µs`,
        ]),
      },
    ],
    data: { wire, cross, kernel: measured },
  };
}

/** serve-dns against NSD, and the ndots amplification. */
export async function dnsSuite(o: SuiteOptions): Promise<SuiteResult> {
  o.progress.step('dns: serve-dns and NSD under dnsperf', 0);
  const d = await dnsBench(o.root, o.quick);
  const qps = typeof d.qps === 'string' ? [] : d.qps;
  const ratio =
    qps.length === 2 ? ` knetsim answers at ${fmt((100 * qps[0]!.qps) / qps[1]!.qps, 1)}% of NSD's rate.` : '';
  return {
    suite: 'dns',
    title: 'DNS',
    note: `dnsperf on loopback (4 clients) against knetsim serve-dns and against NSD serving the zone file knetsim exports for the same ${fmt(d.services)} Services, in one run; and the questions a pod sends per lookup (kubeadm's Corefile, ndots:5).${ratio}`,
    tables: [
      {
        caption: 'Queries per second',
        columns: ['server', 'queries/s', 'lost', 'average latency'],
        rows:
          typeof d.qps === 'string'
            ? [[d.qps, '-', '-', '-']]
            : d.qps.map((q) => [q.server, fmt(q.qps), String(q.lost), `${fmt(q.latencyMs, 3)} ms`]),
      },
      {
        caption: 'ndots amplification',
        columns: ['name', 'queries (A)', 'getaddrinfo (A + AAAA)', 'with autopath', 'result'],
        rows: d.ndots.map((n) => [n.name, String(n.plain), String(n.getaddrinfo), String(n.autopath), n.result]),
      },
    ],
    data: d,
  };
}

/** knetsim's own speed: generate + load, and packets traced per second with and without hops. */
export async function engineSuite(o: SuiteOptions): Promise<SuiteResult> {
  const rows: string[][] = [];
  const data: unknown[] = [];
  const packets = o.quick ? 5_000 : 50_000;
  o.services.forEach((n, i) => {
    o.progress.step(`engine: ${fmt(n)} Services`, i / o.services.length);
    const heapBefore = process.memoryUsage().heapUsed;
    const w = benchWorkload({ services: n, endpointsOf: () => 5, nodePortEvery: 4 });
    const settings = benchSettings(w.state);
    const t0 = performance.now();
    const sync = syncIptablesRules(w.state, settings);
    const t1 = performance.now();
    const loaded = loadIptables(sync.restore, 'bench');
    if (!loaded.ok) throw new Error(loaded.message);
    compileRuleset(loaded.state);
    const t2 = performance.now();
    const node = modeNode('iptables', w.state, settings, SERVICE_CIDR).node;
    // Packets are timed in the steady state: every chain prepared (walks prepare each as they first enter it).
    prepareAllChains(node.ruleset);
    const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    const targets = Array.from({ length: packets }, (_, k) => w.services[(k * 7919) % w.services.length]!);
    const pps = (recordHops: boolean) => {
      const requests = targets.map((svc) => requestTo(svc, recordHops));
      const start = performance.now();
      for (const r of requests) tracePacket(node, r);
      return packets / ((performance.now() - start) / 1000);
    };
    const off = pps(false);
    const on = pps(true);
    rows.push([
      fmt(n),
      fmt(sync.filterRules + sync.natRules),
      `${fmt(t1 - t0, 1)} ms`,
      `${fmt(t2 - t1, 1)} ms`,
      fmt(off),
      fmt(on),
      `${fmt(heapMB, 0)} MiB`,
    ]);
    data.push({
      services: n,
      rules: sync.filterRules + sync.natRules,
      generateMs: t1 - t0,
      loadMs: t2 - t1,
      ppsHopsOff: off,
      ppsHopsOn: on,
      heapMB,
    });
  });
  return {
    suite: 'engine',
    title: "knetsim's own speed",
    note: `kube-proxy's iptables rules for Services with 5 endpoints each: generated, then loaded and compiled through the same parser as a user's dump; then ${fmt(packets)} SYNs from a pod to Services spread over the ruleset, every branch followed, with hop recording off and on, every chain prepared beforehand (a walk prepares a chain's rows when it first enters it; 'load + compile' leaves that out, the targets suite reports what it costs); heap growth while building the node.`,
    tables: [
      {
        caption: '',
        columns: [
          'Services',
          'rules',
          'generate',
          'load + compile',
          'packets/s, hops off',
          'packets/s, hops on',
          'heap',
        ],
        rows,
      },
    ],
    data,
  };
}
