// -m policy: the IPsec policy a packet was (--dir in) or will be (--dir out) handled by
// (xt_policy). knetsim's nodes have no IPsec security associations, so no packet has a
// policy: "--pol none" always matches and "--pol ipsec" never does, whatever the elements
// (--reqid, --spi, --proto, --mode, --tunnel-src/dst, --next) say. The options are checked
// as libxt_policy checks them, and printed as iptables-save prints them.
import { parseIPv4Prefix } from '../../net';
import { type Hook, type MatchExtension, optionOf, type ParsedOption } from '../extension';
import { parseCNumber, parseUint32 } from '../values';

/** IPsec protocols by number, as --proto takes them (a name or its number). */
export const IPSEC_PROTOCOLS: Readonly<Record<string, number>> = { ah: 51, esp: 50, ipcomp: 108 };

/** xt_policy's checkentry: an input policy exists before routing and at input, an output policy after. */
const IN_HOOKS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD'];
const OUT_HOOKS: readonly Hook[] = ['FORWARD', 'OUTPUT', 'POSTROUTING'];

/** An element's options, one element per run of options between --next (at most four). */
export function policyElements(options: readonly ParsedOption[]): ParsedOption[][] {
  const elements: ParsedOption[][] = [[]];
  for (const o of options) {
    if (o.name === '--next') elements.push([]);
    else if (ELEMENT_OPTIONS.includes(o.name)) elements[elements.length - 1]!.push(o);
  }
  return elements;
}

const ELEMENT_OPTIONS = ['--reqid', '--spi', '--proto', '--mode', '--tunnel-src', '--tunnel-dst'];

/** The protocol number --proto names (ah, esp, ipcomp, or one of their numbers); null otherwise. */
export function ipsecProtocol(text: string): number | null {
  const n = IPSEC_PROTOCOLS[text] ?? parseCNumber(text, 255);
  return n !== null && Object.values(IPSEC_PROTOCOLS).includes(n) ? n : null;
}

/** An element's values, as libxt_policy reads each option. */
function checkValues(element: readonly ParsedOption[]): string | null {
  const seen = new Set<string>();
  for (const o of element) {
    if (seen.has(o.name)) return `${o.name} given twice for one element (--next starts another)`;
    seen.add(o.name);
    const value = o.args[0] ?? '';
    if ((o.name === '--reqid' || o.name === '--spi') && parseUint32(value) === null) return `bad ${o.name} "${value}"`;
    if (o.name === '--proto' && ipsecProtocol(value) === null) return 'protocol must be ah/esp/ipcomp';
    if (o.name === '--mode' && value !== 'tunnel' && value !== 'transport')
      return `invalid mode "${value}" (tunnel or transport)`;
    if ((o.name === '--tunnel-src' || o.name === '--tunnel-dst') && parseIPv4Prefix(value) === null)
      return `bad ${o.name} "${value}"`;
  }
  return null;
}

/** libxt_policy's final check of an element of an IPsec policy (number `i`, from 0). */
function checkElement(element: readonly ParsedOption[], i: number, strict: boolean): string | null {
  if (strict && element.length === 0)
    return `empty policy element ${i}. --strict is in effect, but at least one of reqid, spi, tunnel-src, tunnel-dst, proto or mode is required.`;
  // Tunnel addresses need tunnel mode: refused with "--mode transport", "! --mode tunnel", or no
  // --mode at all (the element's mode is then transport, the value 0).
  const mode = element.find((o) => o.name === '--mode');
  const transport = mode === undefined || (mode.args[0] === 'tunnel') === mode.negated;
  if (transport && element.some((o) => o.name === '--tunnel-src' || o.name === '--tunnel-dst'))
    return '--tunnel-src/--tunnel-dst is only valid in tunnel mode';
  return null;
}

export const policyMatch: MatchExtension = {
  name: 'policy',
  options: [
    { name: '--dir', args: 1 },
    { name: '--pol', args: 1 },
    { name: '--strict', args: 0 },
    { name: '--reqid', args: 1, negatable: true, repeatable: true },
    { name: '--spi', args: 1, negatable: true, repeatable: true },
    { name: '--proto', args: 1, negatable: true, repeatable: true },
    { name: '--mode', args: 1, negatable: true, repeatable: true },
    { name: '--tunnel-src', args: 1, negatable: true, repeatable: true },
    { name: '--tunnel-dst', args: 1, negatable: true, repeatable: true },
    { name: '--next', args: 0, repeatable: true },
  ],
  hooksFor(options) {
    const dir = optionOf(options, '--dir')?.args[0];
    return dir === 'in' ? IN_HOOKS : dir === 'out' ? OUT_HOOKS : undefined;
  },
  compile(options) {
    const dir = optionOf(options, '--dir')?.args[0];
    if (dir === undefined) return 'neither --dir in nor --dir out specified';
    if (dir !== 'in' && dir !== 'out') return `invalid dir "${dir}" (in or out)`;
    const pol = optionOf(options, '--pol')?.args[0] ?? 'ipsec';
    if (pol !== 'none' && pol !== 'ipsec') return `invalid policy "${pol}" (none or ipsec)`;
    const strict = options.some((o) => o.name === '--strict');
    const next = options.some((o) => o.name === '--next');
    if (next && !strict) return 'option "--next" also requires "--strict"';
    const elements = policyElements(options);
    if (elements.length > 4) return 'too many policy elements (at most four)';
    for (const element of elements) {
      const problem = checkValues(element);
      if (problem !== null) return problem;
    }
    if (pol === 'none') {
      // A "none" policy has no elements: options given for one are read, then left out.
      if (strict) return 'policy none but --strict given';
      if (next) return 'policy none but policy given';
    } else
      for (let i = 0; i < elements.length; i++) {
        const problem = checkElement(elements[i]!, i, strict);
        if (problem !== null) return problem;
      }
    // No IPsec here: a packet has no policy, which is what "--pol none" asks for.
    return pol === 'none' ? {} : { test: () => false };
  },
};
