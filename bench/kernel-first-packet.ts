// `npx tsx bench/kernel-first-packet.ts [--scales 1000,10000,30000]` (root, ip, nft,
// iptables-restore, python3): the real kernel's cost for a new connection's first packet
// to a Service, in iptables mode and in nftables mode, as Services grow. A namespace per
// run holds kube-proxy's rules for the bench workload (3 endpoints a Service); SYNs to
// the first, middle and last Service leave through LOCAL_OUT, each a new connection, and
// the time sendto takes (netfilter runs inside it) less the same burst with no rules is
// the rules' cost. Reported, never asserted; the machine is shared, so expect noise.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodePrelude, type ProxierSettings, syncIptablesRules, syncNftablesRules } from '../src/kube-proxy';
import { BENCH_NODE, benchWorkload } from './workload';

const SCALES = (process.argv.find((a) => a.startsWith('--scales='))?.split('=')[1] ?? '1000,10000')
  .split(',')
  .map(Number);
const PACKETS = 3000;
const TIMER = fileURLToPath(new URL('./kernel-first-packet.py', import.meta.url));
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

function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function namespace(): string {
  const name = `knetsim-${process.pid}-fp${Math.random().toString(36).slice(2, 6)}`;
  sh('ip', ['netns', 'add', name]);
  const x = (...a: string[]) => sh('ip', ['netns', 'exec', name, ...a]);
  x('ip', 'link', 'set', 'lo', 'up');
  x('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0');
  x('ip', 'addr', 'add', `${BENCH_NODE.ip}/24`, 'dev', 'eth0');
  x('ip', 'link', 'set', 'eth0', 'up');
  x('ip', 'link', 'set', 'peer0', 'up');
  x('ip', 'route', 'add', 'default', 'via', '192.168.122.1', 'dev', 'eth0', 'onlink');
  // A permanent neighbour for the gateway: no packet waits on ARP (the peer end drops them all).
  const mac = /link\/ether (\S+)/.exec(x('ip', 'link', 'show', 'peer0'))![1]!;
  x('ip', 'neigh', 'add', '192.168.122.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
  return name;
}

/** Microseconds per first packet to a Service's cluster IP, median of three bursts (source ports from firstSport on, all distinct). */
function perPacket(ns: string, dst: string, firstSport: number): number {
  const runs = [0, 1, 2].map((i) =>
    Number(
      sh('ip', [
        'netns',
        'exec',
        ns,
        'python3',
        TIMER,
        BENCH_NODE.ip,
        dst,
        '80',
        String(PACKETS),
        String(firstSport + i * PACKETS),
      ]).trim(),
    ),
  );
  return runs.sort((a, b) => a - b)[1]!;
}

console.log('mode | Services | load s | µs per first packet, first / middle / last Service (less no rules)');
for (const n of SCALES) {
  const w = benchWorkload({ services: n, endpointsOf: () => 3, nodePortEvery: 4 });
  const targets = [w.services[0]!, w.services[w.services.length >> 1]!, w.services[w.services.length - 1]!];
  for (const mode of ['iptables', 'nftables'] as const) {
    const ns = namespace();
    try {
      const base = targets.map((t, i) => perPacket(ns, t.clusterIP, 1024 + i * 3 * PACKETS));
      const t0 = performance.now();
      if (mode === 'iptables')
        sh(
          'ip',
          ['netns', 'exec', ns, 'iptables-restore', '--noflush'],
          nodePrelude() + syncIptablesRules(w.state, SETTINGS).restore,
        );
      else
        sh(
          'ip',
          ['netns', 'exec', ns, 'nft', '-f', '-'],
          syncNftablesRules(w.state, SETTINGS, ['10.96.0.0/12']).transaction,
        );
      const load = (performance.now() - t0) / 1000;
      const cost = targets.map((t, i) => perPacket(ns, t.clusterIP, 1024 + (i + 3) * 3 * PACKETS) - base[i]!);
      console.log(`${mode} | ${n} | ${load.toFixed(1)} | ${cost.map((c) => c.toFixed(1)).join(' / ')}`);
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }
}
