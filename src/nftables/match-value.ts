// One value of a packet against one value as written in a rule or a set element:
// addresses against an address, prefix or range; ports against a number or range;
// protocols by name or number; flags against a comma list.
import { type IPv4, PROTOCOL_NUMBERS, parseIPv4, parseIPv4Prefix, prefixContains, SERVICE_PORTS } from '../net';

export type ValueKind =
  | 'addr'
  | 'port'
  | 'proto'
  | 'number'
  | 'word'
  | 'flags'
  | 'ifname'
  | 'tcpflags'
  | 'fiboif'
  | 'dscp'
  | 'ecn'
  | 'icmptype'
  | 'icmpcode';

/** nft's names for DSCP values (its dscp type; nft 1.0.6 took each), by the six-bit value. */
export const DSCP_NAMES: ReadonlyMap<string, number> = new Map([
  ['cs0', 0x00],
  ['be', 0x00],
  ['df', 0x00],
  ['lephb', 0x01],
  ['cs1', 0x08],
  ['af11', 0x0a],
  ['af12', 0x0c],
  ['af13', 0x0e],
  ['cs2', 0x10],
  ['af21', 0x12],
  ['af22', 0x14],
  ['af23', 0x16],
  ['cs3', 0x18],
  ['af31', 0x1a],
  ['af32', 0x1c],
  ['af33', 0x1e],
  ['cs4', 0x20],
  ['af41', 0x22],
  ['af42', 0x24],
  ['af43', 0x26],
  ['cs5', 0x28],
  ['va', 0x2c],
  ['ef', 0x2e],
  ['cs6', 0x30],
  ['cs7', 0x38],
]);

/** nft's names for the two ECN bits (its ecn type). */
export const ECN_NAMES: ReadonlyMap<string, number> = new Map([
  ['not-ect', 0],
  ['ect1', 1],
  ['ect0', 2],
  ['ce', 3],
]);

/** nft's names for ICMP types (its icmp_type). */
export const ICMP_TYPE_NAMES: ReadonlyMap<string, number> = new Map([
  ['echo-reply', 0],
  ['destination-unreachable', 3],
  ['source-quench', 4],
  ['redirect', 5],
  ['echo-request', 8],
  ['router-advertisement', 9],
  ['router-solicitation', 10],
  ['time-exceeded', 11],
  ['parameter-problem', 12],
  ['timestamp-request', 13],
  ['timestamp-reply', 14],
  ['info-request', 15],
  ['info-reply', 16],
  ['address-mask-request', 17],
  ['address-mask-reply', 18],
]);

/** nft's names for ICMP codes (its icmp_code). */
export const ICMP_CODE_NAMES: ReadonlyMap<string, number> = new Map([
  ['net-unreachable', 0],
  ['host-unreachable', 1],
  ['prot-unreachable', 2],
  ['port-unreachable', 3],
  ['frag-needed', 4],
  ['net-prohibited', 9],
  ['host-prohibited', 10],
  ['admin-prohibited', 13],
]);

/** A DSCP or ECN value as nft writes one: a name of the type, or a number. */
export function namedValue(names: ReadonlyMap<string, number>, text: string): number | null {
  return names.get(text) ?? toNumber(text);
}

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

const NAMES_OF: Readonly<Record<'dscp' | 'ecn' | 'icmptype' | 'icmpcode', ReadonlyMap<string, number>>> = {
  dscp: DSCP_NAMES,
  ecn: ECN_NAMES,
  icmptype: ICMP_TYPE_NAMES,
  icmpcode: ICMP_CODE_NAMES,
};

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
    case 'dscp':
    case 'ecn':
    case 'icmptype':
    case 'icmpcode': {
      const names = NAMES_OF[kind];
      const range = inRange(text, value as number, (t) => namedValue(names, t));
      return range !== null ? range : namedValue(names, text) === value;
    }
    case 'fiboif':
      // `oif 0` / `oif missing`: no route; `exists`: some route (the value is the device's name, '' for none).
      if (text === 'exists') return value !== '';
      return text === '0' || text === 'missing' ? value === '' : text === value;
  }
}
