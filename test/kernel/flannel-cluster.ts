// The flannel kernel harness: the demo cluster's nodes built in network namespaces on
// one underlay bridge (flannel.1 as flanneld makes it, cni0, pods, and exactly the
// routes, neighbours, FDB entries and rules knetsim generated), an AF_PACKET capture,
// and the frames it sees taken apart. Used by the VXLAN oracle test and the bench.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildScenarioNode, type ScenarioNode, type SimNode } from '../../src/engine';
import { vtepMac } from '../../src/flannel';
import { nodePrelude } from '../../src/kube-proxy';
import { loadScenario, type Scenario } from '../../src/model';
import { inNs, must, type Namespaces } from './netns';

/** Where the project is: vitest knows this file's directory; the bundled bench says it. */
const ROOT = process.env.KNETSIM_ROOT ?? (typeof __dirname === 'string' ? join(__dirname, '..', '..') : process.cwd());
const KERNEL_DIR = join(ROOT, 'test', 'kernel');
export const SENDER = join(KERNEL_DIR, 'send-packet.py');
const CAPTURE = join(KERNEL_DIR, 'capture.py');
export const NODES = ['worker-1', 'worker-2'] as const;
/** A bare SYN as send-packet.py crafts it: IPv4 and TCP headers, no options. */
export const SYN_LENGTH = 40;

export interface Built {
  readonly scenario: Scenario;
  readonly nodes: Map<string, ScenarioNode>;
  readonly sims: Map<string, SimNode>;
  readonly backend: Backend;
}

export type Backend = 'vxlan' | 'host-gw';

/** The demo cluster with this flannel backend, built by knetsim, node by node. */
export function build(
  backend: Backend,
  names: readonly string[] = NODES,
  edit: (yaml: string) => string = (y) => y,
): Built {
  const file = join(ROOT, 'examples', 'demo.yaml');
  const r = loadScenario(edit(readFileSync(file, 'utf8').replace('backend: vxlan', `backend: ${backend}`)), file);
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  const nodes = new Map<string, ScenarioNode>();
  const sims = new Map<string, SimNode>();
  for (const name of names) {
    const b = buildScenarioNode(r.scenario, name);
    if (!b.ok) throw new Error(b.message);
    nodes.set(name, b.value);
    sims.set(name, b.value.node);
  }
  return { scenario: r.scenario, nodes, sims, backend };
}

/** One frame as the capture saw it, VXLAN layers taken apart. */
export interface Frame {
  readonly bytes: number;
  readonly outer: {
    src: string;
    dst: string;
    protocol: number;
    ipLength: number;
    df: boolean;
    sport: number;
    dport: number;
    /** Bytes after the TCP or UDP header (after the IP header for anything else). */
    payload: number;
  };
  readonly vxlan: { flags: number; vni: number; innerDstMac: string; innerSrcMac: string } | null;
  readonly inner: {
    src: string;
    dst: string;
    protocol: number;
    length: number;
    sport: number;
    dport: number;
    payload: number;
  } | null;
}

const ipAt = (b: Buffer, o: number) => [...b.subarray(o, o + 4)].join('.');
const macAt = (b: Buffer, o: number) => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** An IPv4 header at `o` and the ports after it (zero for what has none). */
function ipv4At(b: Buffer, o: number) {
  const ihl = (b[o]! & 0x0f) * 4;
  const protocol = b[o + 9]!;
  const l4 = o + ihl;
  const ports = protocol === 6 || protocol === 17;
  const length = b.readUInt16BE(o + 2);
  const l4Header = protocol === 6 ? (b[l4 + 12]! >> 4) * 4 : protocol === 17 ? 8 : 0;
  return {
    src: ipAt(b, o + 12),
    dst: ipAt(b, o + 16),
    protocol,
    length,
    payload: length - ihl - l4Header,
    df: (b[o + 6]! & 0x40) !== 0,
    l4,
    sport: ports ? b.readUInt16BE(l4) : 0,
    dport: ports ? b.readUInt16BE(l4 + 2) : 0,
  };
}

export function parseFrame(hex: string): Frame | null {
  const b = Buffer.from(hex, 'hex');
  if (b.length < 34 || b.readUInt16BE(12) !== 0x0800) return null;
  const ip = ipv4At(b, 14);
  const outer = {
    src: ip.src,
    dst: ip.dst,
    protocol: ip.protocol,
    ipLength: ip.length,
    df: ip.df,
    sport: ip.sport,
    dport: ip.dport,
    payload: ip.payload,
  };
  if (ip.protocol !== 17 || b.length < ip.l4 + 8 + 8 + 14 + 20)
    return { bytes: b.length, outer, vxlan: null, inner: null };
  const v = ip.l4 + 8;
  const vxlan = {
    flags: b[v]!,
    vni: b.readUIntBE(v + 4, 3),
    innerDstMac: macAt(b, v + 8),
    innerSrcMac: macAt(b, v + 14),
  };
  if (b.readUInt16BE(v + 20) !== 0x0800) return { bytes: b.length, outer, vxlan, inner: null };
  const i = ipv4At(b, v + 22);
  return {
    bytes: b.length,
    outer,
    vxlan,
    inner: {
      src: i.src,
      dst: i.dst,
      protocol: i.protocol,
      length: i.length,
      sport: i.sport,
      dport: i.dport,
      payload: i.payload,
    },
  };
}

/** A capture running in the background, its output going straight to a file (no event loop needed). */
export class Capture {
  private readonly dir = mkdtempSync(join(tmpdir(), 'knetsim-vxlan-'));
  private readonly out = join(this.dir, 'frames.txt');
  private readonly stop = join(this.dir, 'stop');
  private readonly child: ChildProcess;

  constructor(ns: string, iface: string) {
    const fd = openSync(this.out, 'w');
    this.child = spawn('ip', ['netns', 'exec', ns, 'python3', CAPTURE, iface, '20', this.stop], {
      stdio: ['ignore', fd, 'ignore'],
    });
    closeSync(fd);
    for (let i = 0; i < 100 && !this.text().startsWith('ready'); i++) must('sleep', ['0.05']);
    if (!this.text().startsWith('ready')) throw new Error(`capture on ${iface} in ${ns} did not start`);
  }

  private text(): string {
    return readFileSync(this.out, 'utf8');
  }

  /** Stops the capture and returns the frames: [pkttype, hex]. */
  finish(): [number, string][] {
    writeFileSync(this.stop, '');
    for (let i = 0; i < 100 && !this.text().includes('\nend'); i++) must('sleep', ['0.05']);
    this.child.kill('SIGTERM');
    const lines = this.text().split('\n');
    rmSync(this.dir, { recursive: true, force: true });
    return lines
      .map((l) => /^(\d+) ([0-9a-f]+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [Number(m[1]), m[2]!]);
  }
}

export interface Cluster {
  readonly underlay: string;
  /** Per node: its namespace, and the underlay bridge port its eth0 plugs into. */
  readonly node: Map<string, { ns: string; port: string }>;
  /** Pod IP → its namespace. */
  readonly pods: Map<string, string>;
}

/** The two nodes built for real, as flannel and the bridge CNI plugin would leave them. */
export function buildCluster(ns: Namespaces, built: Built, podIPs: ReadonlyMap<string, readonly string[]>): Cluster {
  const underlay = ns.create('ul');
  inNs(underlay, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
  inNs(underlay, 'ip', ['link', 'set', 'br0', 'up']);
  const node = new Map<string, { ns: string; port: string }>();
  const pods = new Map<string, string>();
  let k = 0;
  for (const [name, sn] of built.nodes) {
    const n = ns.create('vx');
    const port = `p${k++}`;
    node.set(name, { ns: n, port });
    for (const s of ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'])
      inNs(n, 'sysctl', ['-qw', s]);
    const devices = new Map(sn.network.devices.map((d) => [d.name, d]));
    const vx = sn.network.vxlan;
    if (built.backend === 'vxlan' && !vx) throw new Error(`${name}: knetsim gives no VXLAN settings`);
    // eth0 on the underlay.
    must('ip', ['-n', underlay, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n]);
    inNs(underlay, 'ip', ['link', 'set', port, 'master', 'br0', 'up']);
    const eth0 = devices.get('eth0');
    for (const a of eth0?.addresses ?? [])
      inNs(n, 'ip', ['addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', 'eth0']);
    if (eth0?.mtu) inNs(n, 'ip', ['link', 'set', 'eth0', 'mtu', String(eth0.mtu)]);
    inNs(n, 'ip', ['link', 'set', 'eth0', 'up']);
    // flannel.1 as flanneld makes it, with the VtepMAC knetsim gives the node (host-gw has none).
    const self = built.scenario.nodes.find((x) => x.name === name)!;
    if (vx) {
      inNs(n, 'ip', [
        'link',
        'add',
        'flannel.1',
        'address',
        vtepMac(self),
        'type',
        'vxlan',
        'id',
        String(vx.vni),
        'local',
        vx.local,
        'dev',
        'eth0',
        'dstport',
        String(vx.port),
        'nolearning',
      ]);
      inNs(n, 'ip', ['link', 'set', 'flannel.1', 'mtu', String(vx.mtu)]);
      for (const a of devices.get('flannel.1')?.addresses ?? [])
        inNs(n, 'ip', ['addr', 'add', `${a.address}/${a.prefixLength}`, 'dev', 'flannel.1']);
      inNs(n, 'ip', ['link', 'set', 'flannel.1', 'up']);
    }
    // cni0 and the pods behind it.
    const cni0 = devices.get('cni0');
    const gw = cni0?.addresses[0];
    if (!gw) throw new Error(`${name}: knetsim gives no cni0 address`);
    inNs(n, 'ip', ['link', 'add', 'cni0', 'type', 'bridge']);
    inNs(n, 'ip', ['addr', 'add', `${gw.address}/${gw.prefixLength}`, 'dev', 'cni0']);
    inNs(n, 'ip', ['link', 'set', 'cni0', 'up']);
    let v = 0;
    for (const ip of podIPs.get(name) ?? []) {
      const pod = ns.create('vp');
      const veth = `veth${v++}`;
      must('ip', ['-n', n, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
      if (cni0?.mtu) {
        inNs(n, 'ip', ['link', 'set', veth, 'mtu', String(cni0.mtu)]);
        inNs(pod, 'ip', ['link', 'set', 'eth0', 'mtu', String(cni0.mtu)]);
      }
      inNs(n, 'ip', ['link', 'set', veth, 'master', 'cni0', 'up']);
      inNs(pod, 'ip', ['addr', 'add', `${ip}/${gw.prefixLength}`, 'dev', 'eth0']);
      inNs(pod, 'ip', ['link', 'set', 'eth0', 'up']);
      inNs(pod, 'ip', ['route', 'add', 'default', 'via', gw.address]);
      pods.set(ip, pod);
    }
    // Exactly the routes, neighbours and FDB entries knetsim generated (the local table is the kernel's own).
    for (const route of sn.network.routes)
      if (!route.includes(' table local')) inNs(n, 'ip', ['route', 'replace', ...route.split(' ')]);
    for (const line of sn.network.neighbours) {
      const m = /^(\S+) dev (\S+) lladdr (\S+) PERMANENT$/.exec(line);
      if (!m) throw new Error(`unexpected neighbour line: ${line}`);
      inNs(n, 'ip', ['neigh', 'replace', m[1]!, 'dev', m[2]!, 'lladdr', m[3]!, 'nud', 'permanent']);
    }
    for (const line of sn.network.fdb) inNs(n, 'bridge', ['fdb', 'append', ...line.split(' ')]);
    // What kubelet and kube-proxy set up at start, then kube-proxy's rules, then flanneld's.
    inNs(n, 'iptables-restore', ['--noflush'], nodePrelude());
    inNs(n, 'iptables-restore', ['--noflush'], sn.restore);
    if (sn.cniRestore) inNs(n, 'iptables-restore', ['--noflush'], sn.cniRestore);
  }
  return { underlay, node, pods };
}

/** The packet a frame carries: VXLAN's inner one, or the frame's own for host-gw. */
export const carried = (f: Frame) => (f.vxlan ? f.inner : f.outer.protocol === 6 ? f.outer : null);
