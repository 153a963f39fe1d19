// NFQUEUE hands the packet to a userspace program listening on a netfilter queue
// (an IPS such as Suricata, or nfqws), whose verdict decides it. knetsim runs no
// such program: the packet is taken as accepted by it, which the kernel's reinject
// turns into this table's ACCEPT (the walk goes on at the next table). The hop says
// so, and what the kernel does when nobody listens (drop, or accept with --queue-bypass).
import { optionOf, type ParsedOption, type TargetExtension } from '../extension';
import { parseCNumber } from '../values';

export interface QueueSpec {
  /** The queue, or the first of a balanced range. */
  readonly first: number;
  readonly last: number;
  readonly bypass: boolean;
  readonly cpuFanout: boolean;
}

export function queueSpec(options: readonly ParsedOption[]): QueueSpec | string {
  const num = optionOf(options, '--queue-num');
  const balance = optionOf(options, '--queue-balance');
  if (num && balance) return 'option "--queue-num" cannot be used together with "--queue-balance".';
  const cpuFanout = optionOf(options, '--queue-cpu-fanout') !== undefined;
  if (cpuFanout && !balance) return 'option "--queue-cpu-fanout" also requires "--queue-balance".';
  let first = 0;
  let last = 0;
  if (num) {
    const n = parseCNumber(num.args[0] ?? '', 65535);
    if (n === null) return 'bad value for option "--queue-num", or out of range (0-65535).';
    first = last = n;
  } else if (balance) {
    const [a = '', b] = (balance.args[0] ?? '').split(':');
    const lo = parseCNumber(a, 65535);
    const hi = b === undefined ? null : parseCNumber(b, 65535);
    if (lo === null || hi === null) return 'bad value for option "--queue-balance", or out of range (0-65535).';
    if (lo >= hi) return `${lo} should be less than ${hi}`;
    first = lo;
    last = hi;
  }
  return { first, last, bypass: optionOf(options, '--queue-bypass') !== undefined, cpuFanout };
}

export const nfqueueTarget: TargetExtension = {
  name: 'NFQUEUE',
  options: [
    { name: '--queue-num', args: 1 },
    { name: '--queue-balance', args: 1 },
    { name: '--queue-bypass', args: 0 },
    { name: '--queue-cpu-fanout', args: 0 },
  ],
  compile(options) {
    const q = queueSpec(options);
    if (typeof q === 'string') return q;
    const queue =
      q.first === q.last
        ? `queue ${q.first}`
        : `one of queues ${q.first}-${q.last} (${q.cpuFanout ? 'by the CPU' : 'by a hash of the flow'})`;
    const alone = q.bypass ? 'with --queue-bypass the kernel accepts it' : 'the kernel drops it';
    const text = `to userspace, ${queue}: the program reading it decides; taken as accepted (when none listens, ${alone})`;
    return { kind: 'CONTINUE', apply: () => text, accepts: true };
  },
};

/** The target as libxt_NFQUEUE prints it: one queue or the range, then the flags. */
export function queueText(q: QueueSpec): string {
  const queue = q.first === q.last ? ` --queue-num ${q.first}` : ` --queue-balance ${q.first}:${q.last}`;
  return ` -j NFQUEUE${queue}${q.bypass ? ' --queue-bypass' : ''}${q.cpuFanout ? ' --queue-cpu-fanout' : ''}`;
}
