// The DNS part of a trace: each question the pod's resolver sent, where kube-proxy's
// rules took the datagram, and how the answer came back.
import type { ClusterPath, DnsLookupWalk } from '../engine';

function where(p: ClusterPath): string {
  const last = p.nodes[p.nodes.length - 1] ?? '?';
  const to = p.endpoint ?? p.exit?.dst ?? p.final;
  return `${p.outcome === 'ACCEPT' ? to : `${p.outcome} (${p.disposition})`} on ${last}`;
}

export function renderDnsWalk(dns: DnsLookupWalk, from: string): string {
  const lines = [
    `DNS: ${from} asks ${dns.nameserver}:53, ${dns.queries.length} quer${dns.queries.length === 1 ? 'y' : 'ies'}:`,
  ];
  dns.queries.forEach((q, i) => {
    lines.push(`  ${i + 1}. ${q.name} ${q.type} -> ${q.rcode}${q.answers.length ? ` ${q.answers.join(', ')}` : ''}`);
    if (q.paths.length === 0) {
      lines.push('     (asked outside the cluster: the node resolver)');
      return;
    }
    const ways = q.paths.map((p) => `${where(p)} (${(100 * p.probability).toFixed(1)}%)`).join(', ');
    lines.push(`     udp :${q.sport} -> ${dns.nameserver}:53: ${ways}`);
    const back = q.replies[0];
    if (back)
      lines.push(`     answer back: ${back.outcome} (${back.disposition}) on ${back.nodes[back.nodes.length - 1]}`);
  });
  lines.push(dns.address ? `  resolved: ${dns.address}` : '  not resolved', '');
  return `${lines.join('\n')}\n`;
}

/** A compact JSON form: per query, the name, result, and where the datagram could go. */
export function dnsWalkJson(dns: DnsLookupWalk): unknown {
  const brief = (p: ClusterPath) => ({
    probability: p.probability,
    outcome: p.outcome,
    endpoint: p.endpoint,
    nodes: p.nodes,
    disposition: p.disposition,
  });
  return {
    nameserver: dns.nameserver,
    address: dns.address ?? null,
    queries: dns.queries.map((q) => ({
      name: q.name,
      type: q.type,
      rcode: q.rcode,
      answers: q.answers,
      sport: q.sport,
      paths: q.paths.map(brief),
      reply: q.replies.map(brief),
    })),
  };
}
