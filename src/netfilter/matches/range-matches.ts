// -m iprange (addresses between two, source or destination) and -m length (the
// IP packet's total length between two): ranges given as "A-B" and "MIN:MAX".
import { type IPv4, parseIPv4 } from '../../net';
import type { MatchExtension, NfPacket, ParsedOption } from '../extension';

/** "A-B" or a single address, as libxt_iprange reads it; null when bad or backwards. */
export function parseAddressRange(text: string): { min: IPv4; max: IPv4 } | null {
  const dash = text.indexOf('-');
  const min = parseIPv4(dash < 0 ? text : text.slice(0, dash));
  const max = dash < 0 ? min : parseIPv4(text.slice(dash + 1));
  if (min === null || max === null || min > max) return null;
  return { min, max };
}

export const iprangeMatch: MatchExtension = {
  name: 'iprange',
  options: [
    { name: '--src-range', args: 1, negatable: true },
    { name: '--dst-range', args: 1, negatable: true },
  ],
  compile(options) {
    if (options.length === 0) return 'one of --src-range or --dst-range is required';
    const tests: ((p: NfPacket) => boolean)[] = [];
    for (const o of options) {
      const range = parseAddressRange(o.args[0] ?? '');
      if (!range) return `bad IP range "${o.args[0]}"`;
      const field = o.name === '--src-range' ? 'src' : 'dst';
      tests.push((p) => (p[field] >= range.min && p[field] <= range.max) !== o.negated);
    }
    return { test: tests.length === 1 ? tests[0]! : (p) => tests.every((t) => t(p)) };
  },
};

/** "N", "MIN:MAX", ":MAX" or "MIN:" (open ends 0 and 65535), as libxt_length reads it. */
export function parseLengthRange(option: ParsedOption): { min: number; max: number } | null {
  const text = option.args[0] ?? '';
  const [a, b] = text.split(':');
  const number = (s: string | undefined, open: number) =>
    s === undefined || s === '' ? open : /^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : null;
  const min = number(a, 0);
  const max = b === undefined ? min : number(b, 65535);
  if (min === null || max === null || min > max || text.split(':').length > 2) return null;
  return { min, max };
}

export const lengthMatch: MatchExtension = {
  name: 'length',
  options: [{ name: '--length', args: 1, negatable: true }],
  compile(options) {
    const o = options[0];
    if (!o) return '--length is required';
    const range = parseLengthRange(o);
    if (!range) return `bad --length "${o.args[0]}"`;
    return { test: (p) => (p.length >= range.min && p.length <= range.max) !== o.negated };
  },
};
