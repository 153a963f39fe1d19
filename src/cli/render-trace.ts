// Renders a trace for people: numbered hops with the stage, the rule as its
// iptables-save line and what it did; then outcome, endpoints, cost, the reply.
import type { TraceBranch, TraceHop, TraceResult } from '../engine';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  good(s: string): string;
  bad(s: string): string;
}

const ansi = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;
export const COLOUR: Style = { bold: ansi('1'), dim: ansi('2'), good: ansi('32'), bad: ansi('31') };
export const PLAIN: Style = { bold: (s) => s, dim: (s) => s, good: (s) => s, bad: (s) => s };

export function styleFor(stream: NodeJS.WriteStream): Style {
  return stream.isTTY && !process.env.NO_COLOR ? COLOUR : PLAIN;
}

/** Six significant digits: enough to show the kernel's 31-bit probabilities without float noise. */
function percent(p: number): string {
  return `${Number((p * 100).toPrecision(6))}%`;
}

function hopLines(hop: TraceHop, n: number, s: Style): string[] {
  const num = String(n).padStart(3);
  if (!hop.rule) {
    const where = hop.chain ? `${hop.stage} ${hop.chain}` : hop.stage;
    return [`${num}  ${s.bold(where.padEnd(22))} ${hop.action}`];
  }
  const chance =
    hop.probability !== undefined ? s.dim(` (taken with probability ${Number(hop.probability.toPrecision(10))})`) : '';
  return [
    `${num}  ${s.bold(hop.stage.padEnd(22))} ${hop.rule}`,
    `     ${''.padEnd(22)} ${s.dim('->')} ${hop.action}${chance}`,
  ];
}

function samePrefix(a: readonly TraceHop[], b: readonly TraceHop[]): number {
  let i = 0;
  while (i < a.length && i < b.length && JSON.stringify(a[i]) === JSON.stringify(b[i])) i++;
  return i;
}

function outcomeText(outcome: string, s: Style): string {
  return outcome === 'ACCEPT' ? s.good(outcome) : s.bad(outcome);
}

function branchSummary(b: TraceBranch, s: Style): string {
  const to = b.endpoint ? ` to ${b.endpoint}` : '';
  return `${outcomeText(b.outcome, s)}${to}${b.masquerade ? ', masqueraded' : ''}: ${b.disposition}`;
}

export function renderTrace(t: TraceResult, s: Style): string {
  const out: string[] = [s.bold(`trace ${t.packet} on ${t.node}`)];
  const first = t.branches[0]!;
  first.hops.forEach((h, i) => {
    out.push(...hopLines(h, i + 1, s));
  });
  if (t.branches.length > 1) out.push(`     branch 1 (${percent(first.probability)}): ${branchSummary(first, s)}`);
  t.branches.slice(1).forEach((b, k) => {
    const from = samePrefix(first.hops, b.hops);
    out.push(s.bold(`  branch ${k + 2} (${percent(b.probability)}), same as branch 1 up to hop ${from}:`));
    // Print where this branch differs; runs of hops it shares with branch 1 collapse to one line.
    let sameFrom = -1;
    const flush = (upTo: number) => {
      if (sameFrom >= 0) out.push(s.dim(`     hops ${sameFrom + 1}-${upTo}: as in branch 1`));
      sameFrom = -1;
    };
    b.hops.forEach((h, i) => {
      if (i < from) return;
      if (JSON.stringify(h) === JSON.stringify(first.hops[i])) {
        if (sameFrom < 0) sameFrom = i;
        return;
      }
      flush(i);
      out.push(...hopLines(h, i + 1, s));
    });
    flush(b.hops.length);
    out.push(`     branch ${k + 2}: ${branchSummary(b, s)}`);
  });
  out.push('');
  out.push(`outcome:     ${outcomeText(t.outcome, s)}`);
  out.push(
    `endpoints:   ${t.endpoints.length ? t.endpoints.map((e) => `${e.address} (${percent(e.probability)})`).join(', ') : '(not DNATed)'}`,
  );
  out.push(`masquerade:  ${t.masquerade ? 'yes' : 'no'}`);
  const c = t.cost;
  const range =
    c.rulesEvaluatedMin === c.rulesEvaluatedMax ? '' : ` (${c.rulesEvaluatedMin}-${c.rulesEvaluatedMax} by branch)`;
  const extra = [
    c.ipvsLookups ? `${c.ipvsLookups} IPVS look-ups` : '',
    c.userSpaceCopies
      ? `${c.userSpaceCopies} copies to and from user space, ${c.contextSwitches} context switches`
      : '',
  ].filter(Boolean);
  out.push(
    `cost:        ${Number(c.rulesEvaluated.toFixed(2))} rules evaluated${range}, ${c.conntrackLookups} conntrack look-ups, ${c.setLookups} set look-ups${extra.map((e) => `, ${e}`).join('')}`,
  );
  if (first.reply) out.push(`reply:       ${first.reply.sent}  =>  client sees ${first.reply.received}`);
  return `${out.join('\n')}\n`;
}
