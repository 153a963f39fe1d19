// Throw-away network namespaces for the kernel oracle tests. Every name carries
// a prefix unique to the run; namespaces left by crashed runs are removed at
// start; nothing here touches the machine's own interfaces.
import { spawnSync } from 'node:child_process';

export const PREFIX = 'knetsim-';

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], input?: string): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

export function must(cmd: string, args: readonly string[], input?: string): string {
  const r = run(cmd, args, input);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs a command inside a namespace. */
export function inNs(ns: string, cmd: string, args: readonly string[], input?: string): string {
  return must('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

/** What the iptables oracles drive. */
export const IPTABLES_TOOLS = [
  'ip',
  'iptables-restore',
  'iptables-save',
  'xtables-monitor',
  'conntrack',
  'nfacct',
  'python3',
];

/** Why kernel tests needing `tools` cannot run here, or null when they can. */
export function kernelUnavailable(tools: readonly string[] = IPTABLES_TOOLS): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of tools) {
    if (run('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  const probe = `${PREFIX}probe-${process.pid}`;
  const made = run('ip', ['netns', 'add', probe]);
  if (made.status !== 0) return `cannot create a network namespace: ${made.stderr.trim()}`;
  run('ip', ['netns', 'del', probe]);
  return null;
}

/** Deletes namespaces of earlier runs whose process is gone. */
export function removeStale(): void {
  for (const line of must('ip', ['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) run('ip', ['netns', 'del', name]);
  }
}

export class Namespaces {
  private readonly made: string[] = [];
  private readonly base: string;
  private seq = 0;

  constructor() {
    this.base = `${PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 7)}-`;
  }

  create(role: string): string {
    const name = `${this.base}${role}${this.seq++}`;
    must('ip', ['netns', 'add', name]);
    this.made.push(name);
    inNs(name, 'ip', ['link', 'set', 'lo', 'up']);
    return name;
  }

  /** Deletes every namespace this run made (veth pairs go with them). */
  cleanup(): void {
    for (const name of this.made.splice(0).reverse()) run('ip', ['netns', 'del', name]);
  }
}

/**
 * A veth from `node` (its end named `dev`, with `address`) to `peer` (its end `peer0`, with
 * `peerAddress` and a default route via `gateway`), both up. `peerMac` fixes the peer's MAC.
 */
export function vethToPeer(
  node: string,
  dev: string,
  address: string,
  peer: string,
  o: { readonly peerAddress: string; readonly gateway: string; readonly peerMac?: string },
): void {
  inNs(node, 'ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', 'peer0', 'netns', peer]);
  if (o.peerMac !== undefined) inNs(peer, 'ip', ['link', 'set', 'peer0', 'address', o.peerMac]);
  inNs(node, 'ip', ['addr', 'add', address, 'dev', dev]);
  inNs(node, 'ip', ['link', 'set', dev, 'up']);
  inNs(peer, 'ip', ['addr', 'add', o.peerAddress, 'dev', 'peer0']);
  inNs(peer, 'ip', ['link', 'set', 'peer0', 'up']);
  inNs(peer, 'ip', ['route', 'add', 'default', 'via', o.gateway]);
}
