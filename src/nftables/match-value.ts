// One value of a packet against one value as written in a rule or a set element:
// addresses against an address, prefix or range; ports against a number or range;
// protocols by name or number; flags against a comma list.
import { type IPv4, PROTOCOL_NUMBERS, parseIPv4, parseIPv4Prefix, prefixContains, SERVICE_PORTS } from '../net';

export type ValueKind = 'addr' | 'port' | 'proto' | 'number' | 'word' | 'flags' | 'ifname' | 'tcpflags' | 'fiboif';

function inRange(text: string, value: number, parse: (t: string) => number | null): boolean | null {
  const dash = text.indexOf('-', 1);
  if (dash < 0) return null;
  const lo = parse(text.slice(0, dash));
  const hi = parse(text.slice(dash + 1));
  if (lo === null || hi === null) return null;
  return value >= lo && value <= hi;
}

const toNumber = (t: string): number | null => {
  const n = Number(t);
  return Number.isFinite(n) && t.trim() !== '' ? n : null;
};

export function matchAddress(text: string, address: IPv4): boolean {
  if (text.includes('/')) {
    const p = parseIPv4Prefix(text);
    return p !== null && prefixContains(p, address);
  }
  const range = inRange(text, address, parseIPv4);
  if (range !== null) return range;
  return parseIPv4(text) === address;
}

/** TCP header flag bits by nft's names. */
export const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ecn: 0x40,
  cwr: 0x80,
};

/**
 * A constant as nft writes one: a number (decimal or 0x hex), or TCP flag names joined by "," or "|",
 * in parentheses or not ("(fin|syn|rst|ack)", "syn,ack"); null when it is neither.
 */
export function constantValue(text: string): number | null {
  const inner = text.startsWith('(') && text.endsWith(')') ? text.slice(1, -1) : text;
  if (/^[a-z]+([|,][a-z]+)*$/.test(inner)) {
    let bits = 0;
    for (const name of inner.split(/[|,]/)) {
      const bit = TCP_FLAG_BITS[name];
      if (bit === undefined) return null;
      bits |= bit;
    }
    return bits;
  }
  const n = Number(inner);
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n >>> 0 : null;
}

export function matchValue(kind: ValueKind, text: string, value: number | string | readonly string[]): boolean {
  switch (kind) {
    case 'addr':
      return matchAddress(text, value as number);
    case 'port': {
      // A name is one service ("http-alt" too); a range is of numbers.
      const named = SERVICE_PORTS.get(text);
      if (named !== undefined) return named === value;
      const range = inRange(text, value as number, toNumber);
      return range !== null ? range : toNumber(text) === value;
    }
    case 'number': {
      const range = inRange(text, value as number, toNumber);
      return range !== null ? range : toNumber(text) === value;
    }
    case 'proto': {
      const n = (PROTOCOL_NUMBERS as Record<string, number>)[text] ?? toNumber(text);
      return n === (PROTOCOL_NUMBERS as Record<string, number>)[value as string];
    }
    case 'flags':
      return text.split(',').some((f) => (value as readonly string[]).includes(f));
    case 'ifname':
      return text.endsWith('*') ? String(value).startsWith(text.slice(0, -1)) : text === value;
    case 'word':
      return text === value;
    case 'tcpflags':
      return constantValue(text) === value;
    case 'fiboif':
      // `oif 0` / `oif missing`: no route; `exists`: some route (the value is the device's name, '' for none).
      if (text === 'exists') return value !== '';
      return text === '0' || text === 'missing' ? value === '' : text === value;
  }
}
