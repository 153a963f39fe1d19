// `npm run bench [-- --quick]`: what loading and tracing cost on a kube-proxy
// node with thousands of Services, and what the kernel would pay per packet.
// Writes bench/RESULTS.md on a full run; --quick runs small samples and only prints.
// Numbers are reported, never asserted.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  ipvsServices,
  makeSimNode,
  nodeFromDumps,
  type SimNode,
  setLookupOf,
  type TraceRequest,
  tracePacket,
} from '../src/engine';
import { parseIpsetSave } from '../src/ipset';
import {
  ipvsNodePrelude,
  ipvsSetsRestore,
  nodePrelude,
  type ProxierSettings,
  syncIptablesRules,
  syncIpvsState,
  syncNftablesRules,
  syncUserspaceState,
} from '../src/kube-proxy';
import { parseIPv4 } from '../src/net';
import {
  applyRestoreScript,
  compileRuleset,
  emptyNetfilterState,
  loadIptables,
  parseRestoreScript,
} from '../src/netfilter';
import { crossNode } from './cross-node';
import { dnsBench } from './dns-bench';
import { wireOverhead } from './wire-overhead';
import { BENCH_NODE, BENCH_ROUTES, type BenchService, benchWorkload } from './workload';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 5;
const PACKETS = quick ? 20_000 : 200_000;
const LINEAR_PACKETS = quick ? 200 : 2_000;
const TARGET_LOAD_MS = 300;
const TARGET_PPS = 500_000;
const TARGET_GENERATE_LOAD_MS = 300;
const POD = parseIPv4('10.244.1.5')!;

const SETTINGS: ProxierSettings = {
  masqueradeMark: '0x4000',
  masqueradeAll: false,
  localDetector: { ifLocal: ['-s', '10.244.0.0/16'], ifNotLocal: ['!', '-s', '10.244.0.0/16'] },
  nodePortCIDRs: [],
  nodePortIPs: [],
  localhostNodePorts: true,
  nfacctCounters: new Set(),
  masqueradeRandomFully: false,
  conntrackTCPLiberal: false,
  nodeIP: BENCH_NODE.ip,
};

const now = () => performance.now();
const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** mulberry32: the same packets on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const progress = (what: string) => process.stderr.isTTY && process.stderr.write(`\r${what}…`.padEnd(60));

// (a) Load: a 10,000-Service ruleset of about 100,000 rules (3 endpoints each).
progress('generating the 10,000-service ruleset');
const big = benchWorkload({ services: 10_000, endpointsOf: (i) => 1 + (i % 5), nodePortEvery: 10 });
const bigText = nodePrelude() + syncIptablesRules(big.state, SETTINGS).restore;
const ruleCount = bigText.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith('-I ')).length;
const loads: { parse: number; apply: number; compile: number; total: number }[] = [];
for (let run = 0; run < RUNS; run++) {
  progress(`loading, run ${run + 1}/${RUNS}`);
  const t0 = now();
  const parsed = parseRestoreScript(bigText);
  const t1 = now();
  if (!parsed.ok) fail(`line ${parsed.error.line}: ${parsed.error.message}`);
  const applied = applyRestoreScript(emptyNetfilterState(), parsed.script, { noflush: true });
  const t2 = now();
  if (!applied.ok) fail(`line ${applied.error.line}: ${applied.error.message}`);
  compileRuleset(applied.state);
  loads.push({ parse: t1 - t0, apply: t2 - t1, compile: now() - t2, total: now() - t0 });
}
const load = {
  parse: median(loads.map((l) => l.parse)),
  apply: median(loads.map((l) => l.apply)),
  compile: median(loads.map((l) => l.compile)),
  total: median(loads.map((l) => l.total)),
};

// (b) Throughput through that node, hop recording off.
const built = nodeFromDumps({
  name: BENCH_NODE.name,
  iptables: { text: bigText, file: 'bench' },
  routes: { text: BENCH_ROUTES, file: 'routes' },
});
if (!built.ok) fail(built.message);
const indexed = built.node;
const parsedOnce = parseRestoreScript(bigText);
const appliedOnce = parsedOnce.ok
  ? applyRestoreScript(emptyNetfilterState(), parsedOnce.script, { noflush: true })
  : null;
if (!appliedOnce?.ok) fail('unreachable');
const linear: SimNode = makeSimNode({ ...indexed, ruleset: compileRuleset(appliedOnce.state, { indexed: false }) });

/** A SYN from the pod to the Service's cluster IP, hop recording off. */
function requestTo(svc: BenchService, sample?: () => number): TraceRequest {
  return {
    src: POD,
    dst: parseIPv4(svc.clusterIP)!,
    protocol: 'tcp',
    dport: svc.port,
    origin: { kind: 'interface', iface: 'cni0' },
    recordHops: false,
    ...(sample ? { sample } : {}),
  };
}

function traceTo(node: SimNode, svc: BenchService, sample?: () => number) {
  return tracePacket(node, requestTo(svc, sample));
}

function throughput(node: SimNode, packets: number, seed: number, sampled: boolean) {
  const pick = random(seed);
  const draw = random(seed + 1);
  const targets = Array.from({ length: packets }, () => big.services[Math.floor(pick() * big.services.length)]!);
  // The requests are made before the clock starts: the bench's own address parsing is not knetsim's cost.
  const requests = targets.map((svc) => requestTo(svc, sampled ? draw : undefined));
  for (let i = 0; i < Math.min(2_000, packets); i++) tracePacket(node, requests[i]!);
  let branches = 0;
  const t0 = now();
  for (let i = 0; i < packets; i++) {
    const r = tracePacket(node, requests[i]!);
    branches += r.branches.length;
    if (r.outcome !== 'ACCEPT') fail(`a packet to ${targets[i]!.name} was ${r.outcome}`);
  }
  const ms = now() - t0;
  return { packets, branches: branches / packets, pps: (packets / ms) * 1000, us: (ms * 1000) / packets };
}
progress('tracing: one path per packet');
const sampled = throughput(indexed, PACKETS, 1, true);
progress('tracing: every branch');
const allBranches = throughput(indexed, PACKETS / 4, 3, false);
progress('tracing: linear walk');
const slow = throughput(linear, LINEAR_PACKETS, 5, false);

// (c) What the kernel pays: rules evaluated for the first, middle and last Service.
const probes = [
  ['first', big.services[0]!],
  ['middle', big.services[big.services.length >> 1]!],
  ['last', big.services[big.services.length - 1]!],
] as const;
const costs = probes.map(([label, svc]) => {
  const a = traceTo(indexed, svc).cost;
  const b = traceTo(linear, svc).cost;
  if (a.rulesEvaluated !== b.rulesEvaluated)
    fail(`${label}: indexed walk counts ${a.rulesEvaluated}, linear ${b.rulesEvaluated}`);
  return { label, svc, ...a };
});

// (d) kube-proxy: generate the rules for 1,000 and 10,000 Services (5 endpoints each, every 4th a NodePort) and load them.
const generation = [1_000, 10_000].map((n) => {
  const w = benchWorkload({ services: n, endpointsOf: () => 5, nodePortEvery: 4 });
  const runs: { generate: number; load: number }[] = [];
  let rules = 0;
  for (let run = 0; run < RUNS; run++) {
    progress(`kube-proxy ${fmt(n)} services, run ${run + 1}/${RUNS}`);
    const t0 = now();
    const sync = syncIptablesRules(w.state, SETTINGS);
    const t1 = now();
    const loaded = loadIptables(sync.restore, 'bench');
    if (!loaded.ok) fail(loaded.message);
    compileRuleset(loaded.state);
    runs.push({ generate: t1 - t0, load: now() - t1 });
    rules = sync.filterRules + sync.natRules;
  }
  const generate = median(runs.map((r) => r.generate));
  const loadMs = median(runs.map((r) => r.load));
  return { n, rules, generate, load: loadMs, total: generate + loadMs };
});
// (e) The proxy modes side by side: what each installs and what a packet costs, as Services grow.
const modeScales = quick ? [1_000] : [1_000, 10_000, 30_000];
const modeRows = modeScales.flatMap((n) => {
  const w = benchWorkload({ services: n, endpointsOf: () => 3, nodePortEvery: 4 });
  const first = w.services[0]!;
  const middle = w.services[w.services.length >> 1]!;
  const last = w.services[w.services.length - 1]!;
  const cost = (node: SimNode, svc: BenchService) => {
    const c = traceTo(node, svc).cost;
    return `${fmt(c.rulesEvaluated, 1)} rules + ${c.setLookups} set + ${c.ipvsLookups} IPVS`;
  };
  progress(`iptables mode, ${fmt(n)} services`);
  let t0 = now();
  const ipt = syncIptablesRules(w.state, SETTINGS);
  const iptGenerate = now() - t0;
  const iptNode = nodeFromDumps({
    name: 'bench',
    iptables: { text: nodePrelude() + ipt.restore, file: 'bench' },
    routes: { text: BENCH_ROUTES, file: 'routes' },
  });
  if (!iptNode.ok) fail(iptNode.message);
  progress(`IPVS mode, ${fmt(n)} services`);
  t0 = now();
  const ipvs = syncIpvsState(w.state, SETTINGS, 'rr');
  const ipvsGenerate = now() - t0;
  const parsedSets = parseIpsetSave(ipvsSetsRestore(ipvs.sets), { source: 'bench' });
  if (!parsedSets.ok) fail(parsedSets.error.message);
  const ipvsNode = nodeFromDumps({
    name: 'bench',
    iptables: { text: ipvsNodePrelude() + ipvs.restore, file: 'bench' },
    routes: { text: BENCH_ROUTES, file: 'routes' },
    sets: setLookupOf(parsedSets.value),
    ipvs: ipvsServices(ipvs),
  });
  if (!ipvsNode.ok) fail(ipvsNode.message);
  progress(`nftables mode, ${fmt(n)} services`);
  t0 = now();
  const nft = syncNftablesRules(w.state, SETTINGS, ['10.96.0.0/12']);
  const nftGenerate = now() - t0;
  const nftNode = nodeFromDumps({
    name: 'bench',
    iptables: { text: nodePrelude([]), file: 'bench' },
    nft: { text: nft.transaction, file: 'bench' },
    routes: { text: BENCH_ROUTES, file: 'routes' },
  });
  if (!nftNode.ok) fail(nftNode.message);
  progress(`userspace mode, ${fmt(n)} services`);
  t0 = now();
  const us = syncUserspaceState(w.state, SETTINGS, { nodeIP: BENCH_NODE.ip, proxyPortRange: [20000, 60000] });
  const usGenerate = now() - t0;
  const usDump = nodeFromDumps({
    name: 'bench',
    iptables: { text: nodePrelude([]) + us.jumps + us.restore, file: 'bench' },
    routes: { text: BENCH_ROUTES, file: 'routes' },
  });
  if (!usDump.ok) fail(usDump.message);
  const usNode = makeSimNode({
    ...usDump.node,
    userspace: us.portals.map((u) => ({
      protocol: 'tcp' as const,
      port: u.proxyPort,
      servicePortName: u.servicePortName,
      endpoints: u.endpoints.map((e) => ({ address: parseIPv4(e.ip)!, port: e.port })),
    })),
  });
  const usCost = (svc: BenchService) => {
    const c = traceTo(usNode, svc).cost;
    return `${fmt(c.rulesEvaluated, 1)} rules + ${c.userSpaceCopies} copies + ${c.contextSwitches} switches`;
  };
  const rulesIn = (text: string) => text.split('\n').filter((l) => l.startsWith('-A ')).length;
  const setEntries = ipvs.sets.reduce((k, set) => k + set.entries.length, 0);
  const realServers = ipvs.virtualServers.reduce((k, v) => k + v.realServers.length, 0);
  return [
    [
      `${fmt(n)} Services, userspace`,
      `${fmt(rulesIn(us.restore))} iptables rules, ${fmt(us.portals.length)} proxy ports`,
      `${fmt(usGenerate, 1)} ms`,
      usCost(first),
      usCost(middle),
      usCost(last),
    ],
    [
      `${fmt(n)} Services, iptables`,
      `${fmt(rulesIn(ipt.restore))} iptables rules`,
      `${fmt(iptGenerate, 1)} ms`,
      cost(iptNode.node, first),
      cost(iptNode.node, middle),
      cost(iptNode.node, last),
    ],
    [
      `${fmt(n)} Services, IPVS`,
      `${fmt(rulesIn(ipvs.restore))} iptables rules, ${fmt(setEntries)} set entries, ${fmt(ipvs.virtualServers.length)} virtual / ${fmt(realServers)} real servers`,
      `${fmt(ipvsGenerate, 1)} ms`,
      cost(ipvsNode.node, first),
      cost(ipvsNode.node, middle),
      cost(ipvsNode.node, last),
    ],
    [
      `${fmt(n)} Services, nftables`,
      `${fmt(nft.rules)} nft rules, ${fmt(nft.chains)} chains, ${fmt(nft.elements)} set and map elements`,
      `${fmt(nftGenerate, 1)} ms`,
      cost(nftNode.node, first),
      cost(nftNode.node, middle),
      cost(nftNode.node, last),
    ],
  ];
});
if (process.stderr.isTTY) process.stderr.write(`\r${''.padEnd(60)}\r`);

const cpuModel =
  /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');
const rows: [string, string, string][] = [
  [
    `load ${fmt(ruleCount)} rules (10,000 Services), median of ${RUNS}`,
    `${fmt(load.total, 1)} ms (parse ${fmt(load.parse)}, apply ${fmt(load.apply)}, compile ${fmt(load.compile)})`,
    `< ${TARGET_LOAD_MS} ms: ${verdict(load.total < TARGET_LOAD_MS)}`,
  ],
  [
    `traced packets/s, one path per packet (${fmt(sampled.packets)} packets)`,
    `${fmt(sampled.pps)} (${fmt(sampled.us, 1)} µs/packet)`,
    `> ${fmt(TARGET_PPS)}: ${verdict(sampled.pps > TARGET_PPS)}`,
  ],
  [
    `traced packets/s, every branch followed (${fmt(allBranches.branches, 2)} branches a packet)`,
    `${fmt(allBranches.pps)} (${fmt(allBranches.us, 1)} µs/packet)`,
    '-',
  ],
  [`traced packets/s, linear walk, every branch`, `${fmt(slow.pps)} (${fmt(slow.us, 1)} µs/packet)`, '-'],
  ...costs.map((c): [string, string, string] => [
    `rules evaluated, ${c.label} service (${c.svc.name}, ${c.svc.endpoints} endpoints)`,
    `${fmt(c.rulesEvaluated, 2)} (min ${c.rulesEvaluatedMin}, max ${c.rulesEvaluatedMax})`,
    '-',
  ]),
  ...generation.map((g): [string, string, string] => [
    `kube-proxy generate + load, ${fmt(g.n)} Services × 5 endpoints (${fmt(g.rules)} rules)`,
    `${fmt(g.total, 1)} ms (generate ${fmt(g.generate, 1)}, load ${fmt(g.load, 1)})`,
    g.n === 10_000 ? `< ${TARGET_GENERATE_LOAD_MS} ms: ${verdict(g.total < TARGET_GENERATE_LOAD_MS)}` : '-',
  ]),
];
const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(width[i]!)).join('  '));
console.log('\nmode | installed | generate | first packet: first / middle / last Service');
for (const r of modeRows) console.log(r.join(' | '));
const goodput = (payload: number, bytes: number) => `${((100 * payload) / bytes).toFixed(1)}%`;
const wireRows = wireOverhead([64, 1024, 16 * 1024, 64 * 1024]).map((w) => [
  `${w.payload} B`,
  `${w.segments.hostGw} / ${w.segments.vxlan}`,
  `${w.wireBytes.hostGw} / ${w.wireBytes.vxlan}`,
  `${goodput(w.payload, w.wireBytes.hostGw)} / ${goodput(w.payload, w.wireBytes.vxlan)}`,
  `+${w.wireBytes.vxlan - w.wireBytes.hostGw} B (${((100 * (w.wireBytes.vxlan - w.wireBytes.hostGw)) / w.wireBytes.hostGw).toFixed(1)}%)`,
]);
const crossRows = crossNode(quick ? 200 : 2_000).map((c) => [
  c.backend,
  c.nodes,
  String(c.hops),
  String(c.rulesEvaluated),
  `${c.frameBytes} B`,
  `${fmt(c.microsPerPacket, 1)} µs`,
]);
console.log('\nbackend | nodes | hops | rules evaluated | SYN frame on the underlay | knetsim walk time');
for (const r of crossRows) console.log(r.join(' | '));
console.log('\ntransfer | segments host-gw / VXLAN | frame bytes host-gw / VXLAN | goodput | VXLAN extra');
for (const r of wireRows) console.log(r.join(' | '));
const dns = await dnsBench(process.env.KNETSIM_ROOT ?? fileURLToPath(new URL('..', import.meta.url)), quick);
const qpsRows =
  typeof dns.qps === 'string'
    ? [[dns.qps, '-', '-', '-']]
    : dns.qps.map((q) => [q.server, fmt(q.qps, 0), String(q.lost), `${fmt(q.latencyMs, 3)} ms`]);
const knetsimQps = typeof dns.qps === 'string' ? undefined : dns.qps[0]?.qps;
const nsdQps = typeof dns.qps === 'string' ? undefined : dns.qps[1]?.qps;
const ndotsRows = dns.ndots.map((n) => [
  `\`${n.name}\``,
  String(n.plain),
  String(n.getaddrinfo),
  String(n.autopath),
  n.result,
]);
console.log(`\nDNS, ${fmt(dns.services)} Services: server | queries/s | lost | average latency`);
for (const r of qpsRows) console.log(r.join(' | '));
console.log('name | queries (A) | getaddrinfo (A+AAAA) | with autopath | result');
for (const r of ndotsRows) console.log(r.join(' | '));
const machine = `${nproc} CPUs (nproc), ${cpuModel}, node ${process.version}, 1-minute load average ${loadavg()[0]!.toFixed(2)}`;
console.log(`\nmachine: ${machine}; ${date}`);
if (quick) console.log('--quick: bench/RESULTS.md left as it is');
else {
  const md = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.ts, bundled with esbuild and run by node); one run on one machine, reported, never asserted.',
    '',
    `- date: ${date}`,
    `- machine: ${machine} (the machine is shared; expect noise of tens of percent)`,
    '- workload (bench/workload.ts): Services on worker-1 built as NodeLocalState data and turned into rules by the real kube-proxy generator (src/kube-proxy), loaded through the same parser as a user dump.',
    "- packets: TCP SYNs from pod 10.244.1.5 (in on cni0) to random Services' ClusterIP:80, hop recording off. 'One path per packet' draws the random statistic matches as the kernel does; 'every branch' follows all of them, as `knetsim trace` does by default.",
    '',
    '| what | result | target |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    '## userspace, iptables, IPVS and nftables modes side by side',
    '',
    "Services with 3 endpoints each (every 4th a NodePort). Cost of a connection's first packet from a pod to the first, middle and last Service: rules evaluated (iptables, or nft), set look-ups (ipset, or nft sets and verdict maps), IPVS virtual-service look-ups. iptables grows with the Service's position; IPVS and nftables (one verdict-map look-up) stay flat.",
    '',
    '| mode | installed | generate | first Service | middle Service | last Service |',
    '|---|---|---|---|---|---|',
    ...modeRows.map((r) => `| ${r.join(' | ')} |`),
    '',
    '## flannel host-gw and VXLAN on the wire',
    '',
    "One direction of a TCP transfer between pods on two nodes, underlay MTU 1500: data segments only (no handshake or ACKs), each pushed through knetsim's MTU check and VXLAN encapsulation; frame bytes as a capture on the underlay counts them (Ethernet header included, no FCS). VXLAN's pod MTU is 1450, so its MSS is 1410 against host-gw's 1460 and every frame carries 50 more bytes. Computed by the model; the same figures measured on the kernel harness and per-packet cost across nodes are not there yet (issue 7).",
    '',
    '| transfer | segments host-gw / VXLAN | frame bytes host-gw / VXLAN | goodput host-gw / VXLAN | VXLAN extra |',
    '|---|---|---|---|---|',
    ...wireRows.map((r) => `| ${r.join(' | ')} |`),
    '',
    "One SYN from a pod on worker-1 to a pod on worker-2 of examples/demo.yaml, walked across both nodes (`trace --across`): hops, rules evaluated on both nodes together, the frame on the underlay, and knetsim's time per walk.",
    '',
    '| backend | nodes | hops | rules evaluated | SYN frame on the underlay | knetsim walk time |',
    '|---|---|---|---|---|---|',
    ...crossRows.map((r) => `| ${r.join(' | ')} |`),
    '',
    '## DNS',
    '',
    `Queries per second measured by dnsperf on loopback (4 clients, as fast as answers come), ${fmt(dns.services)} ClusterIP Services in 10 namespaces; the questions: 80% Service A records, 10% SRV, 10% names that do not exist. knetsim serve-dns (one Node.js process, started through tsx) against NSD (one server process, rate limiting off) serving the zone file \`knetsim dns --zone-file\` exported for the same cluster, in the same run.${knetsimQps !== undefined && nsdQps !== undefined ? ` knetsim answers at ${((100 * knetsimQps) / nsdQps).toFixed(1)}% of NSD's rate.` : ''}`,
    '',
    '| server | queries/s | lost | average latency |',
    '|---|---|---|---|',
    ...qpsRows.map((r) => `| ${r.join(' | ')} |`),
    '',
    "ndots amplification: the questions a pod in `default` (examples/demo.yaml, kubeadm's Corefile, ndots:5) sends for one lookup; getaddrinfo asks A and AAAA for each name; with `autopath @kubernetes` (and `pods verified`) CoreDNS walks the search path itself and answers the first question.",
    '',
    '| name | queries (A only) | getaddrinfo (A + AAAA) | with autopath | result |',
    '|---|---|---|---|---|',
    ...ndotsRows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
  // bin/bench.js runs a bundle from bench/out, so it says where the results go.
  const out = process.env.KNETSIM_BENCH_RESULTS ?? fileURLToPath(new URL('./RESULTS.md', import.meta.url));
  writeFileSync(out, md);
  console.log(`wrote ${out}`);
}
