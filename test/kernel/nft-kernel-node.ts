// kube-proxy's nftables mode on the real kernel: a node namespace (eth0, cni0 with a
// namespace per local pod, flannel.1 and the routes knetsim gives it) loaded with
// kube-proxy's nft transaction and a trace table (`meta nftrace set 1` ahead of every
// hook); each packet's way is read from `nft monitor trace`. Affinity sets are emptied
// before each packet, as every knetsim trace starts without affinity.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScenarioNode, TraceResult } from '../../src/engine';
import { type KernelPacket, nodeTopology } from './kernel-node';
import { inNs, must, type Namespaces } from './netns';

const SENDER = join(__dirname, 'send-packet.py');
const TRACE_TABLE = [
  'add table ip knetsim-trace',
  'add chain ip knetsim-trace pre { type filter hook prerouting priority -500 ; }',
  'add chain ip knetsim-trace out { type filter hook output priority -500 ; }',
  'add rule ip knetsim-trace pre meta nftrace set 1',
  'add rule ip knetsim-trace out meta nftrace set 1',
].join('\n');

export interface KernelWay {
  /** `CHAIN RULE` of every kube-proxy rule the kernel reports as matched, in order. */
  readonly rules: string[];
  readonly outcome: 'ACCEPT' | 'DROP' | 'REJECT';
  readonly endpoint: string | null;
  readonly masquerade: boolean;
}

/** The node of an nftables-mode scenario, built in namespaces. */
export class NftKernelNode {
  readonly node: string;
  private readonly client: string;
  private readonly pods: Map<string, string>;
  private readonly clientAddresses = new Set<string>();
  private readonly nodeIPs: string[];

  constructor(
    ns: Namespaces,
    private readonly sn: ScenarioNode,
    podIPs: readonly string[],
  ) {
    const t = nodeTopology(ns, sn, podIPs, {
      routeLocalnet: false,
      // The pod swallows what it receives, so no reply muddies the trace.
      sinkPod: (pod) =>
        inNs(
          pod,
          'nft',
          ['-f', '-'],
          'add table ip sink\nadd chain ip sink in { type filter hook input priority 0 ; policy drop ; }\n',
        ),
    });
    this.node = t.node;
    this.client = t.client;
    this.pods = t.pods;
    this.nodeIPs = t.nodeIPs;
    inNs(this.node, 'nft', ['-f', '-'], sn.nft!.transaction);
    inNs(this.node, 'nft', ['-f', '-'], TRACE_TABLE);
  }

  private addClientAddress(ip: string): void {
    if (this.clientAddresses.has(ip) || this.nodeIPs.includes(ip)) return;
    inNs(this.client, 'ip', ['addr', 'add', `${ip}/32`, 'dev', 'up0']);
    this.clientAddresses.add(ip);
  }

  send(packets: readonly KernelPacket[]): KernelWay[] {
    const dir = mkdtempSync(join(tmpdir(), 'knetsim-nfttrace-'));
    const traceFile = join(dir, 'trace.txt');
    const fd = openSync(traceFile, 'w');
    const monitor: ChildProcess = spawn(
      'ip',
      ['netns', 'exec', this.node, 'stdbuf', '-oL', 'nft', 'monitor', 'trace'],
      {
        stdio: ['ignore', fd, 'ignore'],
      },
    );
    closeSync(fd);
    const affinity = [...this.sn.nft!.ruleset.tables.values()].flatMap((t) =>
      [...t.sets.keys()].filter((s) => s.startsWith('affinity-')),
    );
    try {
      for (let i = 0; i < 40 && !readFileSync(traceFile, 'utf8').includes('udp dport 9 '); i++) {
        inNs(this.node, 'python3', [SENDER, 'udp', '127.0.0.1', '9', '127.0.0.1', '9']);
        must('sleep', ['0.1']);
      }
      for (const p of packets) {
        if (affinity.length)
          inNs(this.node, 'nft', ['-f', '-'], affinity.map((s) => `flush set ip kube-proxy ${s}\n`).join(''));
        const where = p.from === 'node' ? this.node : (this.pods.get(p.src) ?? this.client);
        if (where === this.client) this.addClientAddress(p.src);
        inNs(where, 'python3', [SENDER, p.protocol, p.src, String(p.sport), p.dst, String(p.dport)]);
      }
      must('sleep', ['0.5']);
    } finally {
      monitor.kill('SIGTERM');
    }
    must('sleep', ['0.2']);
    const text = readFileSync(traceFile, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    return packets.map((p) => wayOf(p, text));
  }
}

/** One packet's lines of `nft monitor trace`: its trace ids are those whose first packet line is its tuple. */
function wayOf(p: KernelPacket, text: string): KernelWay {
  const ids = new Set<string>();
  const rules: string[] = [];
  let outcome: KernelWay['outcome'] = 'ACCEPT';
  let endpoint: string | null = null;
  let masquerade = false;
  for (const line of text.split('\n')) {
    const m = /^trace id (\S+) ip (\S+) (\S+) (packet|rule|policy) ?(.*)$/.exec(line.trimEnd());
    if (!m) continue;
    const [, id, table, chain, kind, rest] = m;
    if (kind === 'packet') {
      if (rest!.includes(` ip saddr ${p.src} `) && rest!.includes(` ${p.protocol} sport ${p.sport} `)) ids.add(id!);
      continue;
    }
    if (!ids.has(id!) || table !== 'kube-proxy') continue;
    if (kind === 'policy') {
      if (rest!.startsWith('drop')) outcome = 'DROP';
      continue;
    }
    const r = /^(.*) \(verdict (\S+)(?: \S+)?\)$/.exec(rest!);
    const rule = r ? r[1]! : rest!;
    rules.push(`${chain} ${rule}`);
    if (r?.[2] === 'drop') outcome = / reject( |$)/.test(` ${rule}`) ? 'REJECT' : 'DROP';
    const dnat = /\bdnat to (\S+)/.exec(rule);
    if (dnat) endpoint = dnat[1]!;
    if (/\bmasquerade\b/.test(rule)) masquerade = true;
  }
  return { rules, outcome, endpoint, masquerade };
}

/** The kernel's matched rules must be, in order, among a branch's nft rule hops. */
export function agrees(t: TraceResult, k: KernelWay): string | null {
  const views = t.branches.map((b) => {
    const rules = b.hops
      .filter((h) => h.stage.startsWith('nft ip kube-proxy '))
      .map((h) => `${h.stage.slice('nft ip kube-proxy '.length)} ${h.action.replace(/^\[\d+\] /, '')}`);
    return { b, rules };
  });
  for (const { b, rules } of views) {
    let i = 0;
    for (const line of rules) if (i < k.rules.length && line.startsWith(`${k.rules[i]}: `)) i++;
    if (i < k.rules.length) continue;
    const outcome = b.outcome === 'NO_ROUTE' ? 'ACCEPT' : b.outcome;
    if (outcome !== k.outcome) continue;
    if (k.outcome === 'ACCEPT' && (b.endpoint !== k.endpoint || b.masquerade !== k.masquerade)) continue;
    return null;
  }
  return [
    `kernel: ${k.outcome} endpoint=${k.endpoint} masquerade=${k.masquerade}`,
    ...k.rules.map((r) => `  ${r}`),
    ...views.map(
      ({ b, rules }) =>
        `knetsim branch: ${b.outcome} endpoint=${b.endpoint} masquerade=${b.masquerade}\n${rules.map((r) => `  ${r}`).join('\n')}`,
    ),
  ].join('\n');
}
