// The NAT targets: DNAT, SNAT, MASQUERADE and REDIRECT. Only the nat table may
// hold them, and each only at the hooks the kernel allows.
import { SERVICE_PORTS, scanIPv4 } from '../../net';
import type { NatRange, ParsedOption, RuleFacts, TargetExtension } from '../extension';
import { scanPort, scanPortNumber } from '../values';

/** A range being read. */
type RangeRead = { -readonly [K in keyof NatRange]: NatRange[K] };

/** "ADDR[-ADDR][:PORT[-PORT]]", the --to-destination / --to-source syntax, read into `into`; false when malformed. */
function readNatRange(text: string, needAddress: boolean, into: RangeRead): boolean {
  const colon = text.indexOf(':');
  const addressEnd = colon < 0 ? text.length : colon;
  into.minAddress = null;
  into.maxAddress = null;
  into.minPort = null;
  into.maxPort = null;
  if (addressEnd > 0) {
    const dash = text.indexOf('-');
    const split = dash >= 0 && dash < addressEnd ? dash : addressEnd;
    const min = scanIPv4(text, 0, split);
    const max = split === addressEnd ? min : scanIPv4(text, split + 1, addressEnd);
    if (min === null || max === null || min > max) return false;
    into.minAddress = min;
    into.maxAddress = max;
  } else if (needAddress) return false;
  if (colon >= 0) {
    const span = scanPortSpan(text, colon + 1, text.length);
    if (span === null) return false;
    into.minPort = span.min;
    into.maxPort = span.max;
  }
  return true;
}

/** The span being read by scanPortSpan (compiling never nests). */
const SPAN = { min: 0, max: 0 };

/**
 * NAT's ports in text[from, to), as libxt_NAT reads them: a service's name for one port (":http",
 * ":http-alt": the whole text is tried as a name first), else PORT or MIN-MAX of numbers; null when
 * malformed or going down. The result is a shared object, read before the next call.
 */
function scanPortSpan(text: string, from: number, to: number): { min: number; max: number } | null {
  const first = text.charCodeAt(from);
  // A kube-proxy DNAT's port is a number: the name look-up (and its slice) is for the rest.
  const named = first >= 48 && first <= 57 ? undefined : SERVICE_PORTS.get(text.slice(from, to));
  if (named !== undefined) {
    SPAN.min = SPAN.max = named;
    return SPAN;
  }
  const dash = text.indexOf('-', from);
  const split = dash < 0 || dash >= to ? to : dash;
  const min = split === to ? scanPort(text, from, to) : scanPortNumber(text, from, split);
  const max = split === to ? min : scanPortNumber(text, split + 1, to);
  if (min === null || max === null || min > max) return null;
  SPAN.min = min;
  SPAN.max = max;
  return SPAN;
}

/** "ADDR[-ADDR][:PORT[-PORT]]" as a range; null when malformed. */
export function parseNatRange(text: string, needAddress: boolean): NatRange | null {
  const range: RangeRead = { minAddress: null, maxAddress: null, minPort: null, maxPort: null };
  return readNatRange(text, needAddress, range) ? range : null;
}

/** The range being read by a NAT target's compile (compiling never nests). */
const RANGE_READ: RangeRead = { minAddress: null, maxAddress: null, minPort: null, maxPort: null };

const NEED_PORT_PROTOCOL = 'need TCP, UDP, SCTP or DCCP with port specification';

function portsOption(
  options: readonly ParsedOption[],
  facts: RuleFacts,
): { minPort: number | null; maxPort: number | null } | string {
  const o = options.find((x) => x.name === '--to-ports');
  if (!o) return { minPort: null, maxPort: null };
  if (!facts.portsAllowed) return NEED_PORT_PROTOCOL;
  const text = o.args[0] ?? '';
  const span = scanPortSpan(text, 0, text.length);
  if (span === null) return `bad port range "${text}"`;
  return { minPort: span.min, maxPort: span.max };
}

function natTarget(name: 'DNAT' | 'SNAT', option: string, hooks: TargetExtension['hooks']): TargetExtension {
  return {
    name,
    tables: ['nat'],
    hooks,
    seldomRepeated: true,
    options: [
      { name: option, args: 1 },
      { name: '--random', args: 0 },
      // Fully random source ports: SNAT's alone (iptables knows no DNAT --random-fully).
      ...(name === 'SNAT' ? [{ name: '--random-fully', args: 0 }] : []),
      { name: '--persistent', args: 0 },
    ],
    compile(options, facts) {
      // Loops rather than find/some with closures, and the range read into scratch: every
      // endpoint of a kube-proxy dump has its own DNAT, compiled here.
      let value: string | null = null;
      let random = false;
      let persistent = false;
      for (let i = 0; i < options.length; i++) {
        const o = options[i]!;
        if (o.name === option) value ??= o.args[0] ?? '';
        else if (o.name === '--random' || o.name === '--random-fully') random = true;
        else if (o.name === '--persistent') persistent = true;
      }
      if (value === null) return `${name} needs ${option}`;
      const r = RANGE_READ;
      if (!readNatRange(value, false, r)) return `bad IP address or range "${value}"`;
      if (r.minPort !== null && !facts.portsAllowed) return NEED_PORT_PROTOCOL;
      const { minAddress, maxAddress, minPort, maxPort } = r;
      return name === 'DNAT'
        ? { kind: 'DNAT', minAddress, maxAddress, minPort, maxPort, random, persistent }
        : { kind: 'SNAT', minAddress, maxAddress, minPort, maxPort, random, persistent };
    },
  };
}

export const dnatTarget = natTarget('DNAT', '--to-destination', ['PREROUTING', 'OUTPUT']);
export const snatTarget = natTarget('SNAT', '--to-source', ['POSTROUTING', 'INPUT']);

export const masqueradeTarget: TargetExtension = {
  name: 'MASQUERADE',
  tables: ['nat'],
  hooks: ['POSTROUTING'],
  options: [
    { name: '--to-ports', args: 1 },
    { name: '--random', args: 0 },
    { name: '--random-fully', args: 0 },
  ],
  compile(options, facts) {
    const ports = portsOption(options, facts);
    if (typeof ports === 'string') return ports;
    return {
      kind: 'MASQUERADE',
      ...ports,
      randomFully: options.some((x) => x.name === '--random-fully'),
      random: options.some((x) => x.name === '--random'),
    };
  },
};

export const redirectTarget: TargetExtension = {
  name: 'REDIRECT',
  tables: ['nat'],
  hooks: ['PREROUTING', 'OUTPUT'],
  options: [
    { name: '--to-ports', args: 1 },
    { name: '--random', args: 0 },
  ],
  compile(options, facts) {
    const ports = portsOption(options, facts);
    if (typeof ports === 'string') return ports;
    return { kind: 'REDIRECT', ...ports };
  },
};
