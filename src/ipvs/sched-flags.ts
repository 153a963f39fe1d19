// The scheduler flags' names as ipvsadm 1.31 prints and parses them (-b / the "(...)" in -Ln):
// sh and mh name theirs, every other scheduler has flag-1..3.

import type { SchedulerName, ServiceFlags } from './virtual-server';

type SchedBit = 'sched1' | 'sched2' | 'sched3';

function namesFor(scheduler: SchedulerName): Readonly<Record<SchedBit, string | null>> {
  if (scheduler === 'sh') return { sched1: 'sh-fallback', sched2: 'sh-port', sched3: null };
  if (scheduler === 'mh') return { sched1: 'mh-fallback', sched2: 'mh-port', sched3: null };
  return { sched1: 'flag-1', sched2: 'flag-2', sched3: 'flag-3' };
}

export function hasSchedFlags(flags: ServiceFlags): boolean {
  return flags.sched1 || flags.sched2 || flags.sched3;
}

/** print_sched_flags: the set flags' names joined with commas (sh/mh print no name for bit 3). */
export function formatSchedFlags(scheduler: SchedulerName, flags: ServiceFlags): string {
  const names = namesFor(scheduler);
  return (['sched1', 'sched2', 'sched3'] as const)
    .filter((bit) => flags[bit] && names[bit] !== null)
    .map((bit) => names[bit])
    .join(',');
}

/**
 * parse_sched_flags: flag-1..3 always; the sh- and mh- names only with their scheduler. Returns the bits or
 * the offending name.
 */
export function parseSchedFlags(
  scheduler: SchedulerName,
  text: string,
): { readonly bits: Pick<ServiceFlags, SchedBit> } | { readonly error: string } {
  const bits = { sched1: false, sched2: false, sched3: false };
  for (const name of text.split(',')) {
    const generic = /^flag-([123])$/.exec(name);
    if (generic) {
      bits[`sched${generic[1]}` as SchedBit] = true;
      continue;
    }
    const named = /^(sh|mh)-(fallback|port)$/.exec(name);
    if (!named) return { error: `invalid scheduler flag "${name}"` };
    if (named[1] !== scheduler) return { error: `${name} only applies to the ${named[1]} scheduler` };
    bits[named[2] === 'fallback' ? 'sched1' : 'sched2'] = true;
  }
  return { bits };
}
