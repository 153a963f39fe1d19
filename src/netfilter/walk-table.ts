// Walks a packet through one table's chains at one hook, as ipt_do_table does:
// rules in order, jumps and gotos on a stack, RETURN and chain ends popping it,
// the base chain's policy at the bottom. A random match splits the walk in two
// flows, each carrying its probability, so every outcome is followed.

import { canonicalRuleText } from './canonical-form';
import {
  type CompiledChain,
  type CompiledRule,
  type CompiledTable,
  headerMatches,
  nextCandidate,
} from './compiled-ruleset';
import type { FlowState, Hook, MatchEnv, NfPacket, TableName, TargetAction } from './extension';
import { printRuleItems } from './restore-script';

export interface RuleHop {
  readonly table: TableName;
  readonly hook: Hook;
  readonly chain: string;
  /** 1-based rule number in its chain; null for a policy or a chain's end. */
  readonly ruleNumber: number | null;
  /** The rule as `-A CHAIN ...`, as it was written, or null. */
  readonly rule: string | null;
  /** The same rule as iptables-save prints it once loaded (the kernel's canonical form). */
  readonly saved?: string;
  /** What happened: the chain jumped to, a verdict, a NAT or mark change, "policy ACCEPT", "RETURN". */
  readonly action: string;
  /** For a rule that matched through a random match: the chance it did. */
  readonly probability?: number;
}

/** A step of a trace that is not a rule: conntrack, routing, delivery. */
export interface StageHop {
  readonly stage: string;
  readonly action: string;
}

export type Hop = RuleHop | StageHop;

/** A packet's walk in progress; forked flows are copies (callers may add fields of their own). */
export interface TableFlow {
  packet: NfPacket;
  probability: number;
  /** Null when hop recording is off (benchmarks): only counts are kept. */
  hops: Hop[] | null;
  rulesEvaluated: number;
  state: FlowState;
  notrack: boolean;
}

export type TableVerdict =
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP' }
  | { readonly kind: 'REJECT'; readonly rejectWith: string }
  | {
      readonly kind: 'NAT';
      readonly action: Extract<TargetAction, { kind: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'REDIRECT' }>;
      readonly rule: CompiledRule;
    };

export interface WalkResult<F extends TableFlow = TableFlow> {
  readonly flow: F;
  readonly verdict: TableVerdict;
}

interface Frame {
  chain: CompiledChain;
  next: number;
}

export function forkFlow<F extends TableFlow>(flow: F, probability: number): F {
  return {
    ...flow,
    packet: { ...flow.packet },
    probability,
    hops: flow.hops ? [...flow.hops] : null,
    state: { ...flow.state },
  };
}

export function ruleText(rule: CompiledRule): string {
  return `-A ${rule.chain}${printRuleItems(rule.rule)}`;
}

export function describeAction(action: TargetAction): string {
  switch (action.kind) {
    case 'DNAT':
    case 'SNAT': {
      const r = action.range;
      const fmt = (a: number | null) =>
        a === null ? '' : `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
      const addr = r.minAddress === r.maxAddress ? fmt(r.minAddress) : `${fmt(r.minAddress)}-${fmt(r.maxAddress)}`;
      const port = r.minPort === null ? '' : r.minPort === r.maxPort ? `:${r.minPort}` : `:${r.minPort}-${r.maxPort}`;
      return `${action.kind} to ${addr}${port}`;
    }
    case 'MASQUERADE':
      return `MASQUERADE${action.randomFully ? ' (random-fully)' : ''}`;
    case 'REDIRECT':
      return `REDIRECT to port ${action.minPort ?? '(same)'}`;
    case 'REJECT':
      return `REJECT with ${action.rejectWith}`;
    case 'CONTINUE':
      return 'continue';
    default:
      return action.kind;
  }
}

/** Walks one flow; forks are walked too, so the result lists every outcome with its probability. */
export function walkTable<F extends TableFlow>(
  table: CompiledTable,
  hook: Hook,
  flow: F,
  env: MatchEnv,
  /** Draws random matches instead of following both outcomes (one packet, as the kernel would). */
  sample?: () => number,
  /** The hook's base chain, when the caller has it at hand. */
  start?: CompiledChain,
): WalkResult<F>[] {
  const base = start ?? table.chains.get(hook);
  if (!base) return [{ flow, verdict: ACCEPTED }];
  const results: WalkResult<F>[] = [];
  const pending: Pending<F>[] = [{ flow, stack: [{ chain: base, next: 0 }] }];
  while (pending.length > 0) {
    const job = pending.pop()!;
    results.push(walkFrom(table, hook, job.flow, job.stack, env, pending, sample));
  }
  return results;
}

// Verdicts without details are shared: a walk with hops off should allocate as little as it can.
const ACCEPTED: TableVerdict = { kind: 'ACCEPT' };
const DROPPED: TableVerdict = { kind: 'DROP' };

/** The base chain's policy decides; it is recorded when it is news (rules ran, or it is not ACCEPT). */
function basePolicy<F extends TableFlow>(
  table: CompiledTable,
  hook: Hook,
  chain: CompiledChain,
  flow: F,
  always: boolean,
): WalkResult<F> {
  const policy = chain.policy ?? 'ACCEPT';
  if (flow.hops && (always || chain.rules.length > 0 || policy !== 'ACCEPT'))
    flow.hops.push({
      table: table.name,
      hook,
      chain: chain.name,
      ruleNumber: null,
      rule: null,
      action: `policy ${policy}`,
    });
  return { flow, verdict: policy === 'ACCEPT' ? ACCEPTED : DROPPED };
}

function ruleHop(
  table: CompiledTable,
  hook: Hook,
  rule: CompiledRule,
  action: string,
  probability: number | undefined,
): RuleHop {
  return {
    table: table.name,
    hook,
    chain: rule.chain,
    ruleNumber: rule.number,
    rule: ruleText(rule),
    saved: canonicalRuleText(rule.chain, rule.rule),
    action,
    ...(probability !== undefined ? { probability } : {}),
  };
}

interface Pending<F extends TableFlow> {
  flow: F;
  stack: Frame[];
}

function walkFrom<F extends TableFlow>(
  table: CompiledTable,
  hook: Hook,
  flow: F,
  stack: Frame[],
  env: MatchEnv,
  pending: Pending<F>[],
  sample: (() => number) | undefined,
): WalkResult<F> {
  const p = flow.packet;
  for (;;) {
    const frame = stack[stack.length - 1]!;
    const chain = frame.chain;
    let branchProbability: number | undefined;
    const pos = nextCandidate(chain, frame.next, p);
    if (pos < 0) {
      flow.rulesEvaluated += chain.rules.length - frame.next;
      stack.pop();
      if (stack.length === 0) return basePolicy(table, hook, chain, flow, false);
      if (flow.hops)
        flow.hops.push({
          table: table.name,
          hook,
          chain: chain.name,
          ruleNumber: null,
          rule: null,
          action: 'RETURN (end of chain)',
        });
      continue;
    }
    // Rules the index skipped are rules the kernel evaluated and found not matching.
    flow.rulesEvaluated += pos - frame.next + 1;
    frame.next = pos + 1;
    const rule = chain.rules[pos]!;
    if (!headerMatches(rule, p)) continue;
    let matched = true;
    for (let m = 0; m < rule.matches.length; m++) {
      const match = rule.matches[m]!;
      if (match.probability !== null) {
        const chance = match.probability;
        if (chance <= 0) {
          matched = false;
          break;
        }
        if (chance < 1 && sample) {
          // One packet: the kernel draws, and so do we.
          if (sample() >= chance) {
            flow.probability *= 1 - chance;
            matched = false;
            break;
          }
          flow.probability *= chance;
          branchProbability = (branchProbability ?? 1) * chance;
        } else if (chance < 1) {
          // Split: the copy goes on as if the rule did not match; this flow takes the match.
          const missed = forkFlow(flow, flow.probability * (1 - chance));
          pending.push({ flow: missed, stack: stack.map((f) => ({ ...f })) });
          flow.probability *= chance;
          branchProbability = (branchProbability ?? 1) * chance;
        }
        continue;
      }
      if (match.test && !match.test(p, env, flow.state)) {
        matched = false;
        break;
      }
      if (match.effect) match.effect(p, env, flow.state);
    }
    if (!matched) continue;
    // Jumps and actions are read from the rule itself; the target object is looked at only to report it.
    const next = rule.jumpTo;
    if (next !== null) {
      if (flow.hops) {
        const chainName = next.name;
        flow.hops.push(ruleHop(table, hook, rule, rule.goto ? `goto ${chainName}` : chainName, branchProbability));
      }
      if (rule.goto) stack[stack.length - 1] = { chain: next, next: 0 };
      else stack.push({ chain: next, next: 0 });
      continue;
    }
    const action = rule.action;
    if (action === null) {
      if (flow.hops) flow.hops.push(ruleHop(table, hook, rule, 'no target (counted)', branchProbability));
      continue;
    }
    switch (action.kind) {
      case 'ACCEPT':
      case 'DROP':
        if (flow.hops) flow.hops.push(ruleHop(table, hook, rule, action.kind, branchProbability));
        return { flow, verdict: action.kind === 'ACCEPT' ? ACCEPTED : DROPPED };
      case 'REJECT':
        if (flow.hops) flow.hops.push(ruleHop(table, hook, rule, describeAction(action), branchProbability));
        return { flow, verdict: { kind: 'REJECT', rejectWith: action.rejectWith } };
      case 'RETURN':
        if (flow.hops) flow.hops.push(ruleHop(table, hook, rule, 'RETURN', branchProbability));
        stack.pop();
        if (stack.length === 0) return basePolicy(table, hook, chain, flow, true);
        continue;
      case 'DNAT':
      case 'SNAT':
      case 'MASQUERADE':
      case 'REDIRECT':
        if (flow.hops) flow.hops.push(ruleHop(table, hook, rule, describeAction(action), branchProbability));
        return { flow, verdict: { kind: 'NAT', action, rule } };
      case 'NOTRACK':
        flow.notrack = true;
        if (flow.hops)
          flow.hops.push(ruleHop(table, hook, rule, 'NOTRACK (connection not tracked)', branchProbability));
        continue;
      case 'CONTINUE':
        {
          const detail = action.apply(p);
          if (flow.hops) flow.hops.push(ruleHop(table, hook, rule, detail, branchProbability));
        }
        continue;
    }
  }
}
