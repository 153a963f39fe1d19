// The real kernel, measured in the same run: for the same generated rules, how long
// iptables-restore (or nft -f) takes to load them in a network namespace, and what a
// new connection's first packet to the first, middle and last Service costs there
// (sendto on the node itself, less the same burst with no rules). A cost model is
// fitted to those figures against knetsim's counts for the same packets, and knetsim's
// own time per traced packet is set beside the kernel's. Needs root, ip, python3,
// iptables-restore and nft; skipped with the reason otherwise.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tracePacket } from '../src/engine';
import { nodePrelude, syncIptablesRules, syncNftablesRules } from '../src/kube-proxy';
import { parseIPv4 } from '../src/net';
import { type CostModel, type CostSample, fitCostModel } from './cost-model';
import { modeNode } from './mode-nodes';
import type { SuiteResult } from './report';
import { benchSettings, fmt, type SuiteOptions } from './suites';
import { BENCH_NODE, benchWorkload } from './workload';

const SERVICE_CIDR = '10.96.0.0/12';

function sh(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr ?? '').trim()}`);
  return r.stdout;
}

/** Why the kernel cannot be measured here, or null. */
export function kernelMissing(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'python3', 'iptables-restore', 'nft'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  return null;
}

/** A namespace standing in for the node: its address on a veth whose peer drops everything. */
function nodeNamespace(): string {
  const name = `knetsim-${process.pid}-kb${Math.random().toString(36).slice(2, 6)}`;
  sh('ip', ['netns', 'add', name]);
  const x = (...a: string[]) => sh('ip', ['netns', 'exec', name, ...a]);
  x('ip', 'link', 'set', 'lo', 'up');
  x('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
  x('ip', 'addr', 'add', `${BENCH_NODE.ip}/24`, 'dev', 'eth0');
  x('ip', 'link', 'set', 'eth0', 'up');
  x('ip', 'link', 'set', 'peer0', 'up');
  x('ip', 'route', 'add', 'default', 'via', '192.168.122.1', 'dev', 'eth0', 'onlink');
  // A permanent neighbour for the gateway: no packet waits on ARP.
  const mac = /link\/ether (\S+)/.exec(x('ip', 'link', 'show', 'peer0'))![1]!;
  x('ip', 'neigh', 'add', '192.168.122.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
  return name;
}

export interface KernelRow {
  readonly services: number;
  readonly mode: 'iptables' | 'nftables';
  readonly loadMs: number;
  /** Per target (first, middle, last): kernel µs (less no rules), knetsim counts and knetsim µs per trace. */
  readonly targets: readonly {
    kernelMicros: number;
    rules: number;
    sets: number;
    conntrack: number;
    knetsimMicros: number;
  }[];
}

export async function kernelSuite(o: SuiteOptions): Promise<SuiteResult & { costModel?: CostModel }> {
  const missing = kernelMissing();
  const title = 'The real kernel, same rules, same run';
  if (missing)
    return {
      suite: 'kernel',
      title,
      note: `Skipped: ${missing} (run as root with ip, python3, iptables and nft).`,
      tables: [],
    };
  const timer = join(o.root, 'bench', 'kernel-first-packet.py');
  const burst = o.quick ? 1000 : 3000;
  const perPacket = (ns: string, dst: string, firstSport: number) => {
    const runs = [0, 1, 2].map((i) =>
      Number(
        sh('ip', [
          'netns',
          'exec',
          ns,
          'python3',
          timer,
          BENCH_NODE.ip,
          dst,
          '80',
          String(burst),
          String(firstSport + i * burst),
        ]).trim(),
      ),
    );
    return runs.sort((a, b) => a - b)[1]!;
  };
  const rows: KernelRow[] = [];
  const total = o.kernelServices.length * 2;
  let step = 0;
  for (const n of o.kernelServices) {
    const w = benchWorkload({ services: n, endpointsOf: () => 3, nodePortEvery: 4 });
    const settings = benchSettings(w.state);
    const targets = [w.services[0]!, w.services[w.services.length >> 1]!, w.services[w.services.length - 1]!];
    for (const mode of ['iptables', 'nftables'] as const) {
      o.progress.step(`kernel: ${mode}, ${fmt(n)} Services`, step++ / total);
      const sim = modeNode(mode, w.state, settings, SERVICE_CIDR).node;
      const ns = nodeNamespace();
      try {
        const base = targets.map((t, i) => perPacket(ns, t.clusterIP, 1024 + i * 3 * burst));
        const t0 = performance.now();
        if (mode === 'iptables')
          sh(
            'ip',
            ['netns', 'exec', ns, 'iptables-restore', '--noflush'],
            nodePrelude() + syncIptablesRules(w.state, settings).restore,
          );
        else
          sh(
            'ip',
            ['netns', 'exec', ns, 'nft', '-f', '-'],
            syncNftablesRules(w.state, settings, [SERVICE_CIDR]).transaction,
          );
        const loadMs = performance.now() - t0;
        rows.push({
          services: n,
          mode,
          loadMs,
          targets: targets.map((t, i) => {
            const kernelMicros = perPacket(ns, t.clusterIP, 1024 + (i + 3) * 3 * burst) - base[i]!;
            // The same packet in knetsim: locally generated on the node, a new connection.
            const request = {
              src: parseIPv4(BENCH_NODE.ip)!,
              dst: parseIPv4(t.clusterIP)!,
              protocol: 'tcp' as const,
              dport: 80,
              origin: { kind: 'local' as const },
              recordHops: false,
            };
            const c = tracePacket(sim, request).cost;
            // Warmed up first, so the figure is the JIT-compiled walk, not its first runs.
            for (let k = 0; k < 50; k++) tracePacket(sim, { ...request, sport: 10000 + k });
            const reps = 200;
            const s0 = performance.now();
            for (let k = 0; k < reps; k++) tracePacket(sim, { ...request, sport: 20000 + k });
            const knetsimMicros = ((performance.now() - s0) * 1000) / reps;
            return {
              kernelMicros,
              rules: c.rulesEvaluated,
              sets: c.setLookups,
              conntrack: c.conntrackLookups,
              knetsimMicros,
            };
          }),
        });
      } finally {
        spawnSync('ip', ['netns', 'del', ns]);
      }
    }
  }
  const samples: CostSample[] = rows.flatMap((r) =>
    r.targets.map((t) => ({ rules: t.rules, sets: t.sets, conntrack: t.conntrack, micros: t.kernelMicros })),
  );
  const model = fitCostModel(samples) ?? undefined;
  const names = ['first', 'middle', 'last'];
  return {
    suite: 'kernel',
    title,
    note: `At ${o.kernelServices.map((n) => fmt(n)).join(', ')} Services (iptables-nft-restore's load time grows steeply: at 10,000 Services it takes minutes here; \`--services\` chooses). In a network namespace per mode and scale: the load time of the generated rules, and the median of three bursts of ${fmt(burst)} new connections' first packets (TCP SYNs sent on the node, sendto returning once netfilter has run) to the first, middle and last Service, less the same bursts before the rules were loaded. Beside them, what knetsim counts for the same packet and its own time to trace it, and their ratio. The cost model is fitted by least squares to all these points.`,
    tables: [
      {
        caption: 'Load time and first-packet cost',
        columns: ['Services, mode', 'load', ...names.map((p) => `${p}: kernel µs / knetsim rules+sets / knetsim µs`)],
        rows: rows.map((r) => [
          `${fmt(r.services)}, ${r.mode}`,
          `${fmt(r.loadMs, 0)} ms`,
          ...r.targets.map(
            (t) =>
              `${fmt(t.kernelMicros, 1)} / ${fmt(t.rules)}+${t.sets} / ${fmt(t.knetsimMicros, 1)} (×${fmt(t.knetsimMicros / Math.max(t.kernelMicros, 0.01), 1)})`,
          ),
        ]),
      },
      {
        caption:
          'Cost model fitted to the kernel (time = base + per rule + per set/map look-up + per conntrack look-up)',
        columns: ['base', 'per rule', 'per set/map look-up', 'per conntrack look-up', 'RMS error', 'R²', 'points'],
        rows: model
          ? [
              [
                `${fmt(model.baseMicros, 2)} µs`,
                `${fmt(model.perRuleMicros * 1000, 1)} ns`,
                `${fmt(model.perSetMicros * 1000, 1)} ns`,
                `${fmt(model.perConntrackMicros * 1000, 1)} ns`,
                `${fmt(model.rmsErrorMicros, 2)} µs`,
                fmt(model.r2, 3),
                String(model.samples),
              ],
            ]
          : [['not enough points to fit', '-', '-', '-', '-', '-', '-']],
      },
    ],
    data: { rows, model },
    ...(model ? { costModel: model } : {}),
  };
}
