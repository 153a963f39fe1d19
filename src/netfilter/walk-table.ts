// Walks a packet through one table's chains at one hook, as ipt_do_table does:
// rules in order, jumps and gotos on a stack, RETURN and chain ends popping it,
// the base chain's policy at the bottom. A random match splits the walk in two
// flows, each carrying its probability, so every outcome is followed.

import { formatIPv4 } from '../net';
import { canonicalRuleText } from './canonical-form';
import {
  ACCEPTED,
  ACTION_SHIFT,
  ActionKind,
  ANY,
  CHAIN_WORDS,
  type CompiledChain,
  type CompiledTable,
  DROPPED,
  GOTO,
  MATCH,
  NOT_PLAIN_DNAT,
  nextCandidate,
  OTHER_SHIFT,
  PROTOCOL_NEGATED,
  PROTOCOL_SHIFT,
  plainDnatVerdict,
  prepareChain,
  protocolCode,
  RULE_WORDS,
  SRC_SHIFT,
  type TableVerdict,
  W_ACTION,
  W_DST_MASK,
  W_DST_NET,
  W_FLAGS,
  W_JUMP,
  W_SRC_MASK,
  W_SRC_NET,
  W_STEPS,
} from './compiled-ruleset';
import type { FlowState, Hook, MatchEnv, NfPacket, TableName, TargetAction } from './extension';
import { printRuleItems } from './restore-script';
import type { Rule } from './rule';

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

export interface WalkResult<F extends TableFlow = TableFlow> {
  readonly flow: F;
  readonly verdict: TableVerdict;
}

/**
 * The walk's stack as numbers, two a chain: its id and the position of the next rule to look
 * at. One stack serves every walk (walks never nest: no match or target walks a table), so a
 * walk allocates none; a forked flow waiting its turn keeps a copy of the frames it resumes from.
 */
let STACK = new Int32Array(64);

/**
 * Forked flows waiting to be walked, for every walk alike (walks never nest): a walk that forks
 * nothing allocates no list. A walk starts with it empty (one cut short by an exception may
 * have left flows in it).
 */
const PENDING: Pending<TableFlow>[] = [];

/**
 * A copy of a flow that goes its own way from here. Its packet, and the packet's view of its
 * connection, are its own: the pipeline updates a flow's view in place.
 */
export function forkFlow<F extends TableFlow>(flow: F, probability: number): F {
  const ct = flow.packet.ct;
  return {
    ...flow,
    packet: { ...flow.packet, ct: ct === null ? null : { ...ct } },
    probability,
    hops: flow.hops ? [...flow.hops] : null,
    state: { ...flow.state },
  };
}

export function ruleText(chain: string, rule: Rule): string {
  return `-A ${chain}${printRuleItems(rule)}`;
}

export function describeAction(action: TargetAction): string {
  switch (action.kind) {
    case 'DNAT':
    case 'SNAT': {
      const r = action;
      const fmt = (a: number | null) => (a === null ? '' : formatIPv4(a));
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

/**
 * Walks one flow and returns its verdict (the flow is the one given). A random match followed
 * both ways forks the flow: the forks are walked too, and each fork with its verdict is appended
 * to `forks`, in the order they end. A sampled packet forks nothing, and nothing is allocated for
 * forks it does not have.
 */
export function walkFlow<F extends TableFlow>(
  table: CompiledTable,
  hook: Hook,
  /** The hook's base chain: its policy decides when the stack runs out. */
  base: CompiledChain,
  flow: F,
  env: MatchEnv,
  /** Draws random matches instead of following both outcomes (one packet, as the kernel would). */
  sample: (() => number) | undefined,
  forks: WalkResult<F>[],
): TableVerdict {
  if (table.prepared[base.id] === 0) prepareChain(table, base.id);
  STACK[0] = base.id;
  STACK[1] = 0;
  if (PENDING.length !== 0) PENDING.length = 0;
  const verdict = walkFrom(table, hook, base, flow, 2, env, sample);
  while (PENDING.length > 0) {
    const job = PENDING.pop()!;
    if (job.frames.length > STACK.length) STACK = new Int32Array(job.frames.length * 2);
    STACK.set(job.frames);
    // Every job was forked from this walk's flow: they are F's.
    const fork = job.flow as F;
    forks.push({ flow: fork, verdict: walkFrom(table, hook, base, fork, job.frames.length, env, sample) });
  }
  return verdict;
}

function basePolicy<F extends TableFlow>(
  table: CompiledTable,
  hook: Hook,
  chain: CompiledChain,
  flow: F,
  always: boolean,
): TableVerdict {
  const policy = chain.policy ?? 'ACCEPT';
  if (flow.hops && (always || chain.ruleCount > 0 || policy !== 'ACCEPT'))
    flow.hops.push({
      table: table.name,
      hook,
      chain: chain.name,
      ruleNumber: null,
      rule: null,
      action: `policy ${policy}`,
    });
  return policy === 'ACCEPT' ? ACCEPTED : DROPPED;
}

function ruleHop(
  table: CompiledTable,
  hook: Hook,
  chainId: number,
  position: number,
  action: string,
  probability: number | undefined,
): RuleHop {
  const chain = table.chainList[chainId]!;
  const rule = table.sources[chain.start + position]!;
  return {
    table: table.name,
    hook,
    chain: chain.name,
    ruleNumber: position + 1,
    rule: ruleText(chain.name, rule),
    saved: canonicalRuleText(chain.name, rule),
    action,
    ...(probability !== undefined ? { probability } : {}),
  };
}

interface Pending<F extends TableFlow> {
  flow: F;
  /** The stack it resumes from. */
  frames: Int32Array;
}

function walkFrom<F extends TableFlow>(
  table: CompiledTable,
  hook: Hook,
  /**
   * The hook's built-in chain: its policy decides when the stack runs out, even in a chain
   * reached by -g from it (the kernel's underflow is the hook's policy rule).
   */
  base: CompiledChain,
  flow: F,
  /** How many numbers of STACK are the walk's frames. */
  depth: number,
  env: MatchEnv,
  sample: (() => number) | undefined,
): TableVerdict {
  const p = flow.packet;
  let stack = STACK;
  let sp = depth;
  const words = table.words;
  const chainWords = table.chainWords;
  // No match or target of a walk changes the protocol.
  const protocol = protocolCode(p.protocol);
  for (;;) {
    const top = sp - 2;
    const chainId = stack[top]!;
    const from = stack[top + 1]!;
    const start = chainWords[chainId * CHAIN_WORDS]!;
    const packed = chainWords[chainId * CHAIN_WORDS + 1]!;
    const count = packed >>> 1;
    let branchProbability: number | undefined;
    const pos = from >= count ? -1 : (packed & 1) === 1 ? nextCandidate(table.chainList[chainId]!, from, p) : from;
    if (pos < 0) {
      flow.rulesEvaluated += count - from;
      sp = top;
      if (top === 0) return basePolicy(table, hook, base, flow, chainId !== base.id);
      if (flow.hops)
        flow.hops.push({
          table: table.name,
          hook,
          chain: table.chainList[chainId]!.name,
          ruleNumber: null,
          rule: null,
          action: 'RETURN (end of chain)',
        });
      continue;
    }
    // Rules the index skipped are rules the kernel evaluated and found not matching.
    flow.rulesEvaluated += pos - from + 1;
    stack[top + 1] = pos + 1;
    // The IP header part (ip_packet_match): the order of the checks does not matter, none has effects.
    const at = (start + pos) * RULE_WORDS;
    const flags = words[at + W_FLAGS]!;
    const dstMode = flags & 3;
    if (dstMode !== ANY && ((p.dst & words[at + W_DST_MASK]!) === words[at + W_DST_NET]!) !== (dstMode === MATCH))
      continue;
    const srcMode = (flags >>> SRC_SHIFT) & 3;
    if (srcMode !== ANY && ((p.src & words[at + W_SRC_MASK]!) === words[at + W_SRC_NET]!) !== (srcMode === MATCH))
      continue;
    const ruleProtocol = (flags >>> PROTOCOL_SHIFT) & 7;
    if (ruleProtocol !== 0 && (protocol === ruleProtocol) === ((flags & PROTOCOL_NEGATED) !== 0)) continue;
    const other = flags >>> OTHER_SHIFT;
    if (other !== 0 && !table.others[other - 1]!(p)) continue;
    const stepsId = words[at + W_STEPS]!;
    let matched = true;
    if (stepsId !== 0) {
      const steps = table.stepLists[stepsId]!;
      for (let m = 0; m < steps.length; m++) {
        const match = steps[m]!;
        if (match.probability !== null) {
          const nth = match.nth;
          const counters = env.ruleStates;
          if (nth !== null && counters !== undefined) {
            // A sampled packet: the rule's own counter decides, as xt_statistic counts (from every - packet).
            const key = `${table.name}/${(at / RULE_WORDS) | 0}`;
            const last = nth.every - 1;
            const count = (counters.get(key) as number | undefined) ?? last - nth.packet;
            const next = count === last ? 0 : count + 1;
            counters.set(key, next);
            if ((next === 0) === nth.invert) {
              matched = false;
              break;
            }
            continue;
          }
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
            PENDING.push({ flow: missed, frames: stack.slice(0, sp) });
            flow.probability *= chance;
            branchProbability = (branchProbability ?? 1) * chance;
          }
          continue;
        }
        const perRule = match.perRule;
        if (perRule !== null) {
          // What the rule saw before decides (its state as loaded in a full trace).
          const states = env.ruleStates;
          const key = states === undefined ? '' : `${table.name}/${(at / RULE_WORDS) | 0}/${m}`;
          const r = perRule.test(p, states?.has(key) ? states.get(key) : perRule.initial);
          states?.set(key, r.next);
          if (!r.pass) {
            matched = false;
            break;
          }
          continue;
        }
        if (match.test && !match.test(p, env, flow.state)) {
          matched = false;
          break;
        }
        if (match.effect) match.effect(p, env, flow.state);
      }
    }
    if (!matched) continue;
    const jump = words[at + W_JUMP]!;
    if (jump !== 0) {
      const next = jump - 1;
      if (table.prepared[next] === 0) prepareChain(table, next);
      const goto = (flags & GOTO) !== 0;
      if (flow.hops) {
        const name = table.chainList[next]!.name;
        flow.hops.push(ruleHop(table, hook, chainId, pos, goto ? `goto ${name}` : name, branchProbability));
      }
      if (goto) {
        stack[top] = next;
        stack[top + 1] = 0;
      } else {
        if (sp + 2 > stack.length) {
          const grown = new Int32Array(stack.length * 2);
          grown.set(stack);
          STACK = grown;
          stack = grown;
        }
        stack[sp] = next;
        stack[sp + 1] = 0;
        sp += 2;
      }
      continue;
    }
    switch ((flags >>> ACTION_SHIFT) & 7) {
      case ActionKind.None:
        if (flow.hops) flow.hops.push(ruleHop(table, hook, chainId, pos, 'no target (counted)', branchProbability));
        continue;
      case ActionKind.Accept:
        if (flow.hops) flow.hops.push(ruleHop(table, hook, chainId, pos, 'ACCEPT', branchProbability));
        return ACCEPTED;
      case ActionKind.Drop:
        if (flow.hops) flow.hops.push(ruleHop(table, hook, chainId, pos, 'DROP', branchProbability));
        return DROPPED;
      case ActionKind.Return:
        if (flow.hops) flow.hops.push(ruleHop(table, hook, chainId, pos, 'RETURN', branchProbability));
        sp = top;
        if (top === 0) return basePolicy(table, hook, base, flow, true);
        continue;
      case ActionKind.Reject:
      case ActionKind.Nat: {
        const id = words[at + W_ACTION]!;
        if (flow.hops)
          flow.hops.push(ruleHop(table, hook, chainId, pos, describeAction(table.actions[id]!), branchProbability));
        return table.build.plainDnat[2 * id + 1] !== NOT_PLAIN_DNAT ? plainDnatVerdict(table, id) : table.verdicts[id]!;
      }
      case ActionKind.Notrack:
        flow.notrack = true;
        if (flow.hops)
          flow.hops.push(ruleHop(table, hook, chainId, pos, 'NOTRACK (connection not tracked)', branchProbability));
        continue;
      case ActionKind.Continue: {
        const action = table.actions[words[at + W_ACTION]!]! as Extract<TargetAction, { kind: 'CONTINUE' }>;
        const detail = action.apply(p, flow.state);
        if (flow.hops) flow.hops.push(ruleHop(table, hook, chainId, pos, detail, branchProbability));
        if (action.accepts) return ACCEPTED;
        continue;
      }
    }
  }
}
