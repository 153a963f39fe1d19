// `knetsim trace --across`: each way a packet can take through the cluster,
// with every hop prefixed by the node it happens on.
import type { ClusterPath } from '../engine';
import type { Style } from './render-trace';

function percent(p: number): string {
  return `${Number((100 * p).toPrecision(4))}%`;
}

export function renderClusterWalk(packet: string, paths: readonly ClusterPath[], s: Style): string {
  const out: string[] = [s.bold(`trace ${packet} across the cluster`)];
  paths.forEach((p, k) => {
    out.push('');
    out.push(s.bold(`path ${k + 1} (${percent(p.probability)}): ${p.nodes.join(' -> ')}`));
    const width = Math.max(...p.hops.map((h) => h.node.length));
    p.hops.forEach((h, i) => {
      const stage = h.chain && !h.rule ? `${h.stage} ${h.chain}` : h.stage;
      const where = `${h.node.padEnd(width)}  ${stage.padEnd(22)}`;
      out.push(`${String(i + 1).padStart(3)}  ${where} ${h.rule ?? h.action}`);
      if (h.rule) out.push(`     ${''.padEnd(width + 24)} ${s.dim('->')} ${h.action}`);
    });
    out.push(
      `     ${p.outcome} on ${p.nodes[p.nodes.length - 1]}: ${p.disposition}; ${p.final}${p.endpoint ? ` (endpoint ${p.endpoint})` : ''}${p.masquerade ? ', masqueraded' : ''}`,
    );
  });
  return `${out.join('\n')}\n`;
}
