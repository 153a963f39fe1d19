// -m recent: named lists of recently seen addresses. kube-proxy's ClientIP
// session affinity is built on it (--set in the endpoint chain, --rcheck in the service chain).
import { parseIPv4 } from '../../net';
import type { FlowState, MatchExtension, NfPacket, ParsedOption } from '../extension';
import { keptText, parseCNumber } from '../values';

type Command = '--set' | '--rcheck' | '--update' | '--remove';

function addressOf(p: NfPacket, dest: boolean, mask: number): number {
  return ((dest ? p.dst : p.src) & mask) >>> 0;
}

function withEntry(flow: FlowState, list: string, address: number, times: readonly number[] | null): void {
  const lists = new Map(flow.recent);
  const entries = new Map(lists.get(list) ?? []);
  if (times === null) entries.delete(address);
  else entries.set(address, times);
  lists.set(list, entries);
  flow.recent = lists;
}

/** The list's name as xt_recent keeps it: DEFAULT when none is given, cut to 199 bytes (its field, less the NUL). */
export function recentListName(options: readonly ParsedOption[]): string {
  const o = options.find((x) => x.name === '--name');
  return o === undefined ? 'DEFAULT' : keptText(o, 199);
}

/** Whether the list is keyed by the destination: --rdest and --rsource set one flag, so the last given wins. */
export function recentDestination(options: readonly ParsedOption[]): boolean {
  for (let k = options.length - 1; k >= 0; k--) {
    const name = options[k]!.name;
    if (name === '--rdest') return true;
    if (name === '--rsource') return false;
  }
  return false;
}

export const recentMatch: MatchExtension = {
  name: 'recent',
  options: [
    { name: '--name', args: 1 },
    { name: '--set', args: 0, negatable: true },
    { name: '--rcheck', args: 0, negatable: true },
    { name: '--update', args: 0, negatable: true },
    { name: '--remove', args: 0, negatable: true },
    { name: '--seconds', args: 1 },
    { name: '--reap', args: 0 },
    { name: '--hitcount', args: 1 },
    { name: '--rttl', args: 0 },
    { name: '--rsource', args: 0 },
    { name: '--rdest', args: 0 },
    { name: '--mask', args: 1 },
  ],
  compile(options) {
    const name = recentListName(options);
    const commands = options.filter((o) => ['--set', '--rcheck', '--update', '--remove'].includes(o.name));
    if (commands.length !== 1) return 'exactly one of --set, --rcheck, --update or --remove is required';
    const command = commands[0]!;
    const secondsText = options.find((o) => o.name === '--seconds')?.args[0];
    // Numbers as xtables reads them (strtoul base 0: "010" is 8).
    const seconds = secondsText === undefined ? null : (parseCNumber(secondsText, 0xffffffff) ?? -1);
    // libxt_recent's ranges and dependencies, with its words.
    if (seconds !== null && seconds < 1) return 'bad value for option "--seconds", or out of range (1-4294967295).';
    if (seconds === null && options.some((o) => o.name === '--reap'))
      return 'option "--reap" also requires "--seconds".';
    const hitText = options.find((o) => o.name === '--hitcount')?.args[0];
    const hitcount = hitText === undefined ? 0 : (parseCNumber(hitText, 0xffffffff) ?? -1);
    if (hitcount < 0) return `bad --hitcount "${hitText}"`;
    const maskText = options.find((o) => o.name === '--mask')?.args[0];
    const mask = maskText === undefined ? 0xffffffff : parseIPv4(maskText);
    if (mask === null) return `bad --mask "${maskText}"`;
    const dest = recentDestination(options);
    const negated = command.negated;
    const kind = command.name as Command;
    // The list change happens while the match is evaluated, as in the kernel, so it is done in test().
    return {
      stateful: true,
      test: (p, env, flow) => {
        const address = addressOf(p, dest, mask);
        const times = flow.recent.get(name)?.get(address) ?? null;
        if (kind === '--set') {
          withEntry(flow, name, address, [...(times ?? []), env.now]);
          return !negated;
        }
        if (times === null) return negated;
        if (kind === '--remove') {
          withEntry(flow, name, address, null);
          return !negated;
        }
        // As xt_recent: with --seconds/--hitcount, count the stamps inside the window.
        let hit = seconds === null && hitcount === 0;
        let hits = 0;
        for (const t of hit ? [] : times) {
          if (seconds !== null && env.now - t > seconds) continue;
          if (hitcount === 0 || ++hits >= hitcount) {
            hit = true;
            break;
          }
        }
        if (kind === '--update') withEntry(flow, name, address, [...times, env.now]);
        return hit !== negated;
      },
    };
  },
};
