// A knetsim node built for real: a namespace holding the node's eth0, cni0 and
// flannel.1 with their addresses and routes, a namespace per local pod behind
// cni0, one for outside clients behind eth0; the rules knetsim generated,
// loaded with iptables-restore; and every packet's way traced by the kernel
// itself (nftables trace, read with xtables-monitor).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ScenarioNode, TraceRequest } from '../../src/engine';
import { ipvsNodePrelude, ipvsSetsRestore, nodePrelude, userspaceJumps } from '../../src/kube-proxy';
import { type L4Protocol, parseIPv4 } from '../../src/net';
import { loadIptables, saveState } from '../../src/netfilter';
import { inNs, must, type Namespaces, run } from './netns';

const SENDER = join(__dirname, 'send-packet.py');
const GATEWAY = '169.254.1.1';
const NODE_LINK = '169.254.1.2';

export interface KernelPacket {
  readonly from: 'pod' | 'node' | 'outside';
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  readonly protocol: Extract<L4Protocol, 'tcp' | 'udp'>;
}

/** The same packet as a knetsim trace request: a pod's enters by cni0, an outside client's by eth0, the node's is local. */
export function traceRequestOf(p: KernelPacket): TraceRequest {
  return {
    src: parseIPv4(p.src)!,
    dst: parseIPv4(p.dst)!,
    protocol: p.protocol,
    sport: p.sport,
    dport: p.dport,
    origin: p.from === 'node' ? { kind: 'local' } : { kind: 'interface', iface: p.from === 'pod' ? 'cni0' : 'eth0' },
  };
}

export interface KernelHop {
  readonly table: string;
  readonly chain: string;
  readonly verdict: string;
  /** The rule as iptables-save prints it, or null for a policy. */
  readonly rule: string | null;
}

export interface KernelResult {
  readonly hops: readonly KernelHop[];
  readonly outcome: 'ACCEPT' | 'DROP' | 'REJECT';
  /** Where conntrack says the connection goes, when it was DNATed. */
  readonly endpoint: string | null;
  readonly masquerade: boolean;
  /** The pod namespace that received the packet, if one did. */
  readonly arrivedAt: string | null;
}

function ipWithin(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  const n = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0);
  const bits = Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (n(ip) & mask) >>> 0 === (n(net!) & mask) >>> 0;
}

export interface NodeTopology {
  readonly node: string;
  /** The outside clients' namespace: eth0's peer, the node's default route, flannel.1's far end. */
  readonly client: string;
  /** Pod IP -> its namespace. */
  readonly pods: Map<string, string>;
  readonly nodeIPs: string[];
}

/**
 * A scenario node's devices in namespaces: eth0 to the clients' namespace (the default
 * route), flannel.1 as a veth there too (packets to other nodes' pods leave by it, not
 * encapsulated), the routes knetsim lists, cni0 with one namespace per local pod that
 * `sinkPod` makes swallow what it receives.
 */
export function nodeTopology(
  ns: Namespaces,
  scenarioNode: ScenarioNode,
  podIPs: readonly string[],
  o: { readonly routeLocalnet: boolean; readonly sinkPod: (pod: string) => void },
): NodeTopology {
  const node = ns.create('node');
  const client = ns.create('client');
  const pods = new Map<string, string>();
  const devices = new Map(scenarioNode.network.devices.map((d) => [d.name, d]));
  const eth0 = devices.get('eth0');
  const nodeIPs = eth0?.addresses.map((a) => a.address) ?? [];
  const n = node;
  const sysctls: [string, string][] = [
    ['net.ipv4.ip_forward', '1'],
    ['net.ipv4.conf.all.rp_filter', '0'],
    ['net.ipv4.conf.default.rp_filter', '0'],
  ];
  // kube-proxy's iptables mode sets route_localnet for localhost NodePorts.
  if (o.routeLocalnet) sysctls.push(['net.ipv4.conf.all.route_localnet', '1']);
  for (const [k, v] of sysctls) inNs(n, 'sysctl', ['-qw', `${k}=${v}`]);
  // eth0 <-> the outside clients' namespace; the node's default route points there.
  must('ip', ['-n', n, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', client]);
  for (const a of eth0?.addresses ?? [])
    inNs(n, 'ip', ['addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', 'eth0']);
  // A link-local address the clients route through, after the node's own so it never becomes the primary.
  inNs(n, 'ip', ['addr', 'add', `${NODE_LINK}/32`, 'dev', 'eth0']);
  inNs(n, 'ip', ['link', 'set', 'eth0', 'up']);
  inNs(n, 'ip', ['route', 'add', 'default', 'via', GATEWAY, 'dev', 'eth0', 'onlink']);
  inNs(client, 'ip', ['addr', 'add', `${GATEWAY}/32`, 'dev', 'up0']);
  inNs(client, 'ip', ['link', 'set', 'up0', 'up']);
  inNs(client, 'ip', ['route', 'add', 'default', 'via', NODE_LINK, 'dev', 'up0', 'onlink']);
  // flannel.1 as a veth into the clients' namespace (which drops what it is not the end of):
  // packets routed to other nodes' pods leave by it, as in knetsim. (No VXLAN encapsulation here.)
  const flannel = devices.get('flannel.1');
  if (flannel) {
    must('ip', ['-n', n, 'link', 'add', 'flannel.1', 'type', 'veth', 'peer', 'name', 'fl0', 'netns', client]);
    inNs(client, 'ip', ['link', 'set', 'fl0', 'up']);
    for (const a of flannel.addresses)
      inNs(n, 'ip', ['addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', 'flannel.1']);
    inNs(n, 'ip', ['link', 'set', 'flannel.1', 'up']);
  }
  for (const route of scenarioNode.network.routes) {
    const m = /^(\S+) via (\S+) dev (flannel\.1|eth0)( onlink)?$/.exec(route);
    if (m && m[1] !== 'default') inNs(n, 'ip', ['route', 'add', m[1]!, 'via', m[2]!, 'dev', m[3]!, 'onlink']);
  }
  // cni0 and one namespace per local pod.
  const cni0 = devices.get('cni0')?.addresses[0];
  if (cni0) {
    inNs(n, 'ip', ['link', 'add', 'cni0', 'type', 'bridge']);
    inNs(n, 'ip', ['addr', 'add', `${cni0.address}/${cni0.prefixLength}`, 'dev', 'cni0']);
    inNs(n, 'ip', ['link', 'set', 'cni0', 'up']);
    const cidr = `${cni0.address}/${cni0.prefixLength}`;
    let k = 0;
    for (const ip of new Set(podIPs)) {
      if (!ipWithin(ip, cidr) || ip === cni0.address) continue;
      const pod = ns.create('pod');
      const veth = `veth${k++}`;
      must('ip', ['-n', n, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
      inNs(n, 'ip', ['link', 'set', veth, 'master', 'cni0', 'up']);
      inNs(n, 'ip', ['link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on']);
      inNs(pod, 'ip', ['addr', 'add', `${ip}/${cni0.prefixLength}`, 'dev', 'eth0']);
      inNs(pod, 'ip', ['link', 'set', 'eth0', 'up']);
      inNs(pod, 'ip', ['route', 'add', 'default', 'via', cni0.address]);
      o.sinkPod(pod);
      pods.set(ip, pod);
    }
  }
  return { node, client, pods, nodeIPs };
}

export class KernelNode {
  readonly node: string;
  private readonly client: string;
  private readonly pods: Map<string, string>;
  private readonly nodeIPs: string[];

  constructor(ns: Namespaces, scenarioNode: ScenarioNode, podIPs: readonly string[], clientIPs: readonly string[]) {
    const t = nodeTopology(ns, scenarioNode, podIPs, {
      // As kube-proxy left it on the simulated node (on unless knetsim knows it off).
      routeLocalnet: scenarioNode.node.routeLocalnet !== false,
      // Each pod drops what it receives, so no replies come back.
      sinkPod: (pod) => inNs(pod, 'iptables', ['-A', 'INPUT', '-j', 'DROP']),
    });
    this.node = t.node;
    this.client = t.client;
    this.pods = t.pods;
    this.nodeIPs = t.nodeIPs;
    for (const ip of new Set(clientIPs)) this.addClientAddress(ip);
    const n = this.node;
    // IPVS mode: the Service addresses on kube-ipvs0 (a bridge with no ports stands in for the
    // dummy device this kernel lacks), and kube-proxy's ipsets, made before the rules that use them.
    const ipvs = scenarioNode.ipvs;
    if (ipvs) {
      inNs(n, 'ip', ['link', 'add', 'kube-ipvs0', 'type', 'bridge']);
      for (const a of ipvs.kubeIpvs0) inNs(n, 'ip', ['addr', 'add', `${a}/32`, 'dev', 'kube-ipvs0']);
      inNs(n, 'ip', ['link', 'set', 'kube-ipvs0', 'up']);
      inNs(n, 'ipset', ['restore'], ipvsSetsRestore(ipvs.sets));
    }
    // The rules: what kubelet and kube-proxy set up at start, then kube-proxy's restore,
    // plus a TRACE rule so the kernel reports every packet's way.
    const restore = scenarioNode.restore;
    for (const name of new Set([...restore.matchAll(/--nfacct-name (\S+)/g)].map((m) => m[1]!)))
      inNs(n, 'nfacct', ['add', name]);
    const startup = ipvs
      ? ipvsNodePrelude()
      : scenarioNode.mode === 'userspace'
        ? nodePrelude([]) + userspaceJumps()
        : nodePrelude();
    inNs(n, 'iptables-restore', ['--noflush'], startup);
    inNs(n, 'iptables-restore', ['--noflush'], restore);
    // flanneld's rules, when the scenario names flannel as its CNI.
    if (scenarioNode.cniRestore) inNs(n, 'iptables-restore', ['--noflush'], scenarioNode.cniRestore);
    inNs(n, 'iptables-restore', ['--noflush'], '*raw\n-A PREROUTING -j TRACE\n-A OUTPUT -j TRACE\nCOMMIT\n');
  }

  private readonly clientAddresses = new Set<string>();

  /** Outside sources live on the clients' namespace, one /32 each. */
  private addClientAddress(ip: string): void {
    if (this.clientAddresses.has(ip) || this.nodeIPs.includes(ip)) return;
    inNs(this.client, 'ip', ['addr', 'add', `${ip}/32`, 'dev', 'up0']);
    this.clientAddresses.add(ip);
  }

  /**
   * What iptables-save prints in the node, less the test's TRACE rules (and the raw table they made,
   * when nothing else is in it), reloaded and printed by knetsim.
   */
  savedRules(): string {
    const saved = inNs(this.node, 'iptables-save', [])
      .replace(/^-A (PREROUTING|OUTPUT) -j TRACE\n/gm, '')
      .replace(
        /^# Generated by [^\n]*\n\*raw\n:PREROUTING ACCEPT \[\d+:\d+\]\n:OUTPUT ACCEPT \[\d+:\d+\]\nCOMMIT\n# Completed[^\n]*\n/m,
        '',
      );
    const loaded = loadIptables(saved, 'kernel iptables-save');
    if (!loaded.ok) throw new Error(loaded.message);
    return saveState(loaded.state);
  }

  /**
   * Sends the packets and returns what the kernel did with each. With `fresh`, xt_recent lists are
   * emptied before each packet (as every knetsim trace starts without affinity); without, all packets
   * go in one burst from one namespace.
   */
  send(packets: readonly KernelPacket[], fresh = true): KernelResult[] {
    // The monitor writes straight to a file (line-buffered), so this synchronous code needs no event loop.
    const traceFile = join(mkdtempSync(join(tmpdir(), 'knetsim-trace-')), 'trace.txt');
    const fd = openSync(traceFile, 'w');
    const monitor: ChildProcess = spawn(
      'ip',
      ['netns', 'exec', this.node, 'stdbuf', '-oL', 'xtables-monitor', '--trace'],
      {
        stdio: ['ignore', fd, 'ignore'],
      },
    );
    closeSync(fd);
    try {
      // Wait until the monitor reports a probe packet, so no test packet goes untraced.
      for (let i = 0; i < 40 && !readFileSync(traceFile, 'utf8').includes('DPORT=9 '); i++) {
        inNs(this.node, 'python3', [SENDER, 'udp', '127.0.0.1', '9', '127.0.0.1', '9']);
        must('sleep', ['0.1']);
      }
      const whereOf = (p: KernelPacket) => {
        const where = p.from === 'node' ? this.node : (this.pods.get(p.src) ?? this.client);
        if (where === this.client) this.addClientAddress(p.src);
        return where;
      };
      if (fresh)
        for (const p of packets) {
          inNs(this.node, 'sh', ['-c', 'for f in /proc/net/xt_recent/*; do [ -e "$f" ] && echo / > "$f"; done; true']);
          inNs(whereOf(p), 'python3', [SENDER, p.protocol, p.src, String(p.sport), p.dst, String(p.dport)]);
        }
      else if (packets.length > 0) {
        const lines = packets.map((p) => `${p.protocol} ${p.src} ${p.sport} ${p.dst} ${p.dport}\n`).join('');
        inNs(whereOf(packets[0]!), 'python3', [SENDER], lines);
      }
      must('sleep', ['0.5']);
    } finally {
      monitor.kill('SIGTERM');
    }
    must('sleep', ['0.2']);
    const traceText = readFileSync(traceFile, 'utf8');
    if (process.env.KNETSIM_KERNEL_DEBUG) writeFileSync(process.env.KNETSIM_KERNEL_DEBUG, traceText);
    rmSync(dirname(traceFile), { recursive: true, force: true });
    const conntrack = run('ip', ['netns', 'exec', this.node, 'conntrack', '-L']).stdout;
    if (process.env.KNETSIM_KERNEL_DEBUG) writeFileSync(`${process.env.KNETSIM_KERNEL_DEBUG}.conntrack`, conntrack);
    const podConntrack = new Map(
      [...this.pods].map(([ip, ns]) => [ip, run('ip', ['netns', 'exec', ns, 'conntrack', '-L']).stdout]),
    );
    return packets.map((p) => this.result(p, traceText, conntrack, podConntrack));
  }

  private result(
    p: KernelPacket,
    traceText: string,
    conntrack: string,
    podConntrack: Map<string, string>,
  ): KernelResult {
    // The kernel prints a PACKET line as the packet enters each hook, then the rules it meets there
    // (TRACE lines with the same id). Ids may change between hooks, so the packet is recognised by
    // its source address and port, which stay as sent until POSTROUTING's source NAT.
    const hops: KernelHop[] = [];
    const packetLines: string[] = [];
    // Other packets' lines interleave (an ICMP error the kernel sends, say), so ids are followed separately.
    const ours = new Map<string, boolean>();
    for (const line of traceText.split('\n')) {
      if (line.startsWith('PACKET:')) {
        const mine = line.includes(` SPORT=${p.sport} `) && line.includes(` SRC=${p.src} `);
        ours.set(line.split(/\s+/)[2] ?? '', mine);
        if (mine) packetLines.push(line);
        continue;
      }
      const m =
        /^ TRACE: \d+ (\S+) (\w+):([^:]+):(rule|policy):(?:0x[0-9a-f]+:)?([A-Z]+|0x[0-9a-f]+)(?::(\S+))?\s*(?:-4 -t \w+ (.*))?$/.exec(
          line,
        );
      if (!m || !ours.get(m[1]!)) continue;
      const [, , table, chain, kind, verdict, , rule] = m;
      if (table === 'raw' && rule?.endsWith('-j TRACE')) continue;
      hops.push({
        table: table!,
        chain: chain!,
        verdict: verdict!,
        rule: kind === 'rule' ? (rule ?? '').trim() : null,
      });
    }
    const dropped = hops.some((h) => h.verdict === 'DROP');
    const rejected = hops.some((h) => h.verdict === 'DROP' && h.rule?.includes('-j REJECT'));
    const outcome = rejected ? 'REJECT' : dropped ? 'DROP' : 'ACCEPT';
    const entry = conntrack.split('\n').find((l) => l.includes(` sport=${p.sport} `) && l.includes(`src=${p.src} `));
    // Without a conntrack entry (the kernel may drop a packet after NAT, before confirming it),
    // the trace itself tells: the last PACKET line carries the rewritten destination.
    const lastLine = packetLines.at(-1) ?? '';
    const dstNow = / DST=(\S+)/.exec(lastLine)?.[1];
    const dportNow = / DPORT=(\d+)/.exec(lastLine)?.[1];
    let endpoint: string | null =
      dstNow && (dstNow !== p.dst || dportNow !== String(p.dport)) ? `${dstNow}:${dportNow}` : null;
    let masquerade = hops.some((h) => h.rule !== null && /-j (MASQUERADE|SNAT)\b/.test(h.rule));
    let seenSport = String(p.sport);
    if (entry) {
      const fields = [...entry.matchAll(/(src|dst|sport|dport)=(\S+)/g)].map((m) => m[2]!);
      // The original tuple (src dst sport dport), then the reply tuple.
      const [, odst, , odport, rsrc, rdst, rsport, rdport] = fields;
      endpoint = rsrc !== odst || rsport !== odport ? `${rsrc}:${rsport}` : null;
      // Masquerading to the address the packet already had changes no tuple: the rule hit counts.
      masquerade ||= rdst !== p.src;
      seenSport = rdport ?? seenSport;
    }
    // A pod received it when its own conntrack saw the (translated) packet.
    let arrivedAt: string | null = null;
    for (const [ip, text] of podConntrack)
      if (text.split('\n').some((l) => l.includes(`dst=${ip} `) && l.includes(` sport=${seenSport} `))) arrivedAt = ip;
    return { hops, outcome, endpoint, masquerade, arrivedAt };
  }
}
