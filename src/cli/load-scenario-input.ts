// Loads a scenario for a command: every problem of the file at once, exit 2;
// warnings go to standard error and the command goes on.
import { formatIssue, loadScenarioFile, type Scenario } from '../model';
import { UserError } from './user-error';

export async function loadScenarioInput(path: string): Promise<Scenario> {
  const result = await loadScenarioFile(path);
  if (!result.ok) throw new UserError(result.issues.map(formatIssue).join('\nknetsim: '));
  for (const w of result.warnings) process.stderr.write(`knetsim: warning: ${formatIssue(w)}\n`);
  return result.scenario;
}

/** The node a command looks at: the one named, the only one, or the first worker. */
export function chooseNode(scenario: Scenario, requested: string | undefined): string {
  if (requested !== undefined) {
    if (scenario.nodes.length > 0 && !scenario.nodes.some((n) => n.name === requested))
      throw new UserError(
        `--node: no node "${requested}" in ${scenario.file} (nodes: ${scenario.nodes.map((n) => n.name).join(', ')})`,
      );
    return requested;
  }
  const worker = scenario.nodes.find((n) => !n.taints.some((t) => t.key.startsWith('node-role.kubernetes.io/')));
  return (worker ?? scenario.nodes[0])?.name ?? 'node';
}

const MODES = ['userspace', 'iptables', 'ipvs', 'nftables'] as const;

/** --mode: the proxy mode to use instead of the Cluster document's. */
export function withMode(scenario: Scenario, mode: string | undefined): Scenario {
  if (mode === undefined) return scenario;
  if (!(MODES as readonly string[]).includes(mode))
    throw new UserError(`--mode: "${mode}" is not one of ${MODES.join(', ')}`);
  const proxy = { ...scenario.cluster.proxy, mode: mode as (typeof MODES)[number] };
  return { ...scenario, cluster: { ...scenario.cluster, proxy } };
}
