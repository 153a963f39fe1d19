// How iptables-save prints a rule once the kernel holds it: the IP header
// fields in fixed order (-s -d -i -o -p -f, addresses with their prefix
// length), every match with -m and its options in the extension's own order
// and number format, then the target. This is the form a user's dump has.
import { formatIPv4, ipProtocolNumber, parseCDouble, parseIPv4, parseIPv4Prefix } from '../net';
import type { ParsedOption } from './extension';
import { ADDR_TYPES } from './matches/addrtype-match';
import { type ConnbytesSpec, connbytesSpec, connbytesText } from './matches/connbytes-match';
import { type ConnlimitSpec, connlimitSpec, connlimitText } from './matches/connlimit-match';
import { HASHLIMIT_MODES, hashlimitUpTo } from './matches/hashlimit-match';
import { parseIcmpType } from './matches/icmp-match';
import { dscpValue, ecnText, parseTosValue } from './matches/ip-header-matches';
import { parseMac } from './matches/mac-match';
import { parseOwnerIds } from './matches/owner-match';
import { IPSEC_PROTOCOLS, ipsecProtocol, policyElements } from './matches/policy-match';
import { quotaOf } from './matches/quota-match';
import { parseAddressRange, parseLengthRange } from './matches/range-matches';
import { recentDestination, recentListName } from './matches/recent-match';
import { quantizedProbability } from './matches/statistic-match';
import { type StringSpec, stringPatternText, stringSpec } from './matches/string-match';
import { type TimeSpec, timeSpec, timeText } from './matches/time-match';
import type { Rule, RuleHeader, RuleMatch, RuleTarget } from './rule';
import { classText, parseClass, tosOperation } from './targets/ip-header-targets';
import { ctZone, LOG_PREFIX_BYTES, logLevel, NFLOG_PREFIX_BYTES } from './targets/log-targets';
import { connmarkOf, xmarkOf } from './targets/mark-targets';
import { type QueueSpec, queueSpec, queueText } from './targets/nfqueue-target';
import { type SetTargetSpec, setTargetSpec, setTargetText } from './targets/set-target';
import { tproxySpec } from './targets/tproxy-target';
import { saveString } from './tokenize';
import { hex, hexByte, keptText, parseCNumber, parseMarkMask, parsePortRange, parseUint32 } from './values';

const opt = (options: readonly ParsedOption[], ...names: string[]) => options.find((o) => names.includes(o.name));
const neg = (o: ParsedOption) => (o.negated ? ' !' : '');

function prefixText(p: { address: number; length: number }): string {
  return `${formatIPv4(p.address)}/${p.length}`;
}

/** A condition the kernel keeps as none: -s/-d of length 0 and -i/-o "+" match every packet, and are not printed. */
const noAddress = (c: { length: number; negated: boolean }) => c.length === 0 && !c.negated;
const anyInterface = (c: { name: string; negated: boolean }) => c.name === '+' && !c.negated;

function headerText(h: RuleHeader): string {
  let out = '';
  if (h.src && !noAddress(h.src)) out += `${h.src.negated ? ' !' : ''} -s ${prefixText(h.src)}`;
  if (h.dst && !noAddress(h.dst)) out += `${h.dst.negated ? ' !' : ''} -d ${prefixText(h.dst)}`;
  if (h.inIface && !anyInterface(h.inIface)) out += `${h.inIface.negated ? ' !' : ''} -i ${h.inIface.name}`;
  if (h.outIface && !anyInterface(h.outIface)) out += `${h.outIface.negated ? ' !' : ''} -o ${h.outIface.name}`;
  if (h.protocol) out += `${h.protocol.negated ? ' !' : ''} -p ${h.protocol.name}`;
  if (h.fragment) out += `${h.fragment.negated ? ' !' : ''} -f`;
  return out;
}

/** A port option as libxt_tcp/udp print it; the whole range (0:65535) is no condition and is left out. */
function portOption(x: ParsedOption, name: string): string {
  const text = portText(x.args[0]!);
  return text === '0:65535' && !x.negated ? '' : `${neg(x)} ${name} ${text}`;
}

/**
 * libxt_limit's and libxt_hashlimit's units: the rate is kept as a period in 1/SCALE of a second
 * (limit: 10,000; hashlimit revision 3: 1,000,000), and printed in the largest unit that keeps it whole.
 */
const LIMIT_SCALE = 10000;
const RATE_UNITS: ReadonlyArray<readonly [string, number]> = [
  ['day', 24 * 60 * 60],
  ['hour', 60 * 60],
  ['min', 60],
  ['sec', 1],
];

/**
 * "N/unit" (unit: any word starting with s, m, h or d; /sec when none) as iptables-save prints the
 * rate, and the printed unit's length in ms (libxt_hashlimit prints --hashlimit-htable-expire when it differs).
 */
export function rateText(text: string, scale: number): { text: string; unitMs: number } {
  const [count, unit = 'sec'] = text.split('/');
  const mult = scale * (RATE_UNITS.find(([name]) => name[0] === unit[0]?.toLowerCase())?.[1] ?? 1);
  const period = Math.floor(mult / Number(count));
  if (period === 0) return { text: 'inf', unitMs: 0 };
  let i = 1;
  for (; i < RATE_UNITS.length; i++) {
    const m = RATE_UNITS[i]![1] * scale;
    if (period > m || Math.floor(m / period) < m % period) break;
  }
  const [name, seconds] = RATE_UNITS[i - 1]!;
  return { text: `${Math.floor((seconds * scale) / period)}/${name}`, unitMs: seconds * 1000 };
}

/** The ms of a rate's unit as written ("5/min": 60000; none: a second). */
const RATE_UNIT_MS = new Map(RATE_UNITS.map(([name, seconds]) => [name[0]!, seconds * 1000]));

function writtenUnit(text: string): string {
  return (text.split('/')[1] ?? 's')[0]!.toLowerCase();
}

function limitRateText(text: string): string {
  return rateText(text, LIMIT_SCALE).text;
}

const TCP_FLAG_ORDER = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];

/** A --tcp-flags list as libxt_tcp prints it: flags in the kernel's bit order, ALL spelt out, NONE for none. */
function tcpFlagList(text: string): string {
  const named = new Set(text.toUpperCase().split(','));
  const flags = named.has('ALL') ? TCP_FLAG_ORDER : TCP_FLAG_ORDER.filter((f) => named.has(f));
  return flags.length === 0 ? 'NONE' : flags.join(',');
}

/** The bytes of a comment the kernel keeps (XT_MAX_COMMENT_LEN, less its NUL); iptables cuts a longer one. */
const COMMENT_BYTES = 255;

/**
 * A conntrack address option as libxt_conntrack prints it: the address as given (host bits kept), then
 * the prefix length unless it is 32 (a dotted mask shows as its length).
 */
function ctAddressText(text: string): string {
  const slash = text.indexOf('/');
  const address = parseIPv4(slash < 0 ? text : text.slice(0, slash))!;
  const length = parseIPv4Prefix(text)!.length;
  return `${formatIPv4(address)}${length === 32 ? '' : `/${length}`}`;
}

/** Ports as xtables prints them: "80", or "80:90" for a range. */
function portText(text: string): string {
  const r = parsePortRange(text)!;
  return r.min === r.max ? String(r.min) : `${r.min}:${r.max}`;
}

const CT_TUPLE_OPTIONS = [
  '--ctorigsrc',
  '--ctorigdst',
  '--ctreplsrc',
  '--ctrepldst',
  '--ctorigsrcport',
  '--ctorigdstport',
  '--ctreplsrcport',
  '--ctrepldstport',
];
const CT_STATE_ORDER = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
const CT_STATUS_ORDER = ['NONE', 'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];

function ordered(list: string, order: readonly string[]): string {
  const items = new Set(list.toUpperCase().split(','));
  return order.filter((s) => items.has(s)).join(',');
}

function matchText(m: RuleMatch): string {
  const o = m.options;
  const each = (names: string[], render: (x: ParsedOption) => string) =>
    names
      .map((n) => opt(o, n))
      .filter((x): x is ParsedOption => x !== undefined)
      .map(render)
      .join('');
  switch (m.module) {
    case 'tcp':
    case 'udp':
    case 'sctp':
      return (
        each(['--sport', '--source-port'], (x) => portOption(x, '--sport')) +
        each(['--dport', '--destination-port'], (x) => portOption(x, '--dport')) +
        each(['--tcp-option'], (x) => `${neg(x)} --tcp-option ${parseCNumber(x.args[0]!, 255)}`) +
        each(['--syn'], (x) => `${neg(x)} --tcp-flags FIN,SYN,RST,ACK SYN`) +
        each(['--chunk-types'], (x) => `${neg(x)} --chunk-types ${x.args[0]} ${x.args[1]!.toUpperCase()}`) +
        each(['--tcp-flags'], (x) => {
          // A mask of no flags tests nothing: libxt_tcp prints flags only when the mask has some (or "!").
          const mask = tcpFlagList(x.args[0]!);
          return mask === 'NONE' && !x.negated ? '' : `${neg(x)} --tcp-flags ${mask} ${tcpFlagList(x.args[1]!)}`;
        })
      );
    case 'comment':
      return ` --comment ${saveString(keptText(o[0], COMMENT_BYTES))}`;
    case 'mark':
    case 'connmark': {
      const x = o[0]!;
      const mm = parseMarkMask(x.args[0]!)!;
      return `${neg(x)} --mark ${hex(mm.value)}${mm.mask === 0xffffffff ? '' : `/${hex(mm.mask)}`}`;
    }
    case 'conntrack':
      // libxt_conntrack's order: state, protocol (as a number), the four addresses, the four ports, status, expiry, direction.
      return (
        each(['--ctstate'], (x) => `${neg(x)} --ctstate ${ordered(x.args[0]!, CT_STATE_ORDER)}`) +
        each(['--ctproto'], (x) => `${neg(x)} --ctproto ${ipProtocolNumber(x.args[0]!)}`) +
        each(
          CT_TUPLE_OPTIONS,
          (x) => `${neg(x)} ${x.name} ${x.name.endsWith('port') ? portText(x.args[0]!) : ctAddressText(x.args[0]!)}`,
        ) +
        each(['--ctstatus'], (x) => `${neg(x)} --ctstatus ${ordered(x.args[0]!, CT_STATUS_ORDER)}`) +
        each(['--ctexpire'], (x) => `${neg(x)} --ctexpire ${x.args[0]}`) +
        each(['--ctdir'], (x) => ` --ctdir ${x.args[0]!.toUpperCase()}`)
      );
    case 'physdev':
      // libxt_physdev's order: in, then out, then bridged; each "is" test before the name test of its side.
      return (
        each(['--physdev-is-in'], (x) => `${neg(x)} --physdev-is-in`) +
        each(['--physdev-in'], (x) => `${neg(x)} --physdev-in ${x.args[0]}`) +
        each(['--physdev-is-out'], (x) => `${neg(x)} --physdev-is-out`) +
        each(['--physdev-out'], (x) => `${neg(x)} --physdev-out ${x.args[0]}`) +
        each(['--physdev-is-bridged'], (x) => `${neg(x)} --physdev-is-bridged`)
      );
    case 'state':
      return `${neg(o[0]!)} --state ${ordered(o[0]!.args[0]!, CT_STATE_ORDER)}`;
    case 'addrtype':
      return (
        each(['--src-type'], (x) => `${neg(x)} --src-type ${ordered(x.args[0]!, ADDR_TYPES)}`) +
        each(['--dst-type'], (x) => `${neg(x)} --dst-type ${ordered(x.args[0]!, ADDR_TYPES)}`) +
        each(['--limit-iface-in'], () => ' --limit-iface-in') +
        each(['--limit-iface-out'], () => ' --limit-iface-out')
      );
    case 'statistic': {
      const mode = opt(o, '--mode')?.args[0];
      if (mode === 'random') {
        const p = opt(o, '--probability')!;
        return ` --mode random${neg(p)} --probability ${quantizedProbability(parseCDouble(p.args[0]!) ?? 0).toFixed(11)}`;
      }
      const every = opt(o, '--every')!;
      return ` --mode nth${neg(every)} --every ${every.args[0]} --packet ${opt(o, '--packet')?.args[0] ?? '0'}`;
    }
    case 'recent': {
      const command = opt(o, '--set', '--rcheck', '--update', '--remove')!;
      const seconds = opt(o, '--seconds');
      const hitcount = opt(o, '--hitcount');
      const hits = hitcount ? parseCNumber(hitcount.args[0]!, 0xffffffff) : 0;
      return (
        `${neg(command)} ${command.name}` +
        // libxt_recent prints the seconds as a signed int (4294967295 shows as -1).
        (seconds ? ` --seconds ${parseCNumber(seconds.args[0]!, 0xffffffff)! | 0}` : '') +
        (opt(o, '--reap') ? ' --reap' : '') +
        (hits !== 0 ? ` --hitcount ${hits}` : '') +
        (opt(o, '--rttl') ? ' --rttl' : '') +
        ` --name ${recentListName(o)}` +
        ` --mask ${opt(o, '--mask')?.args[0] ?? '255.255.255.255'}` +
        (recentDestination(o) ? ' --rdest' : ' --rsource')
      );
    }
    case 'set':
      // Counters are updated unless "!" says not to: libxt_set prints only the negated forms.
      return o
        .filter((x) => x.negated || (x.name !== '--update-counters' && x.name !== '--update-subcounters'))
        .map((x) => `${neg(x)} ${x.name}${x.args.length ? ` ${x.args.join(' ')}` : ''}`)
        .join('');
    case 'multiport': {
      const x = o[0]!;
      const name = x.name.startsWith('--s') ? '--sports' : x.name === '--ports' ? '--ports' : '--dports';
      return `${neg(x)} ${name} ${x.args[0]!.split(',').map(portText).join(',')}`;
    }
    case 'iprange': {
      const range = (x: ParsedOption) => {
        const r = parseAddressRange(x.args[0]!)!;
        return `${formatIPv4(r.min)}-${formatIPv4(r.max)}`;
      };
      return (
        each(['--src-range'], (x) => `${neg(x)} --src-range ${range(x)}`) +
        each(['--dst-range'], (x) => `${neg(x)} --dst-range ${range(x)}`)
      );
    }
    case 'length': {
      const x = o[0]!;
      const r = parseLengthRange(x)!;
      return `${neg(x)} --length ${r.min === r.max ? r.min : `${r.min}:${r.max}`}`;
    }
    case 'rpfilter':
      return ['--loose', '--validmark', '--accept-local', '--invert']
        .filter((name) => opt(o, name))
        .map((name) => ` ${name}`)
        .join('');
    case 'pkttype': {
      const x = o[0]!;
      return `${neg(x)} --pkt-type ${x.args[0] === 'host' ? 'unicast' : x.args[0]}`;
    }
    case 'nfacct':
      // libxt_nfacct prints the option, then the name through xtables_save_string, which adds its own space.
      return ` --nfacct-name  ${o[0]?.args[0]}`;
    case 'icmp': {
      // Names print as numbers: TYPE (any code) or TYPE/CODE; "any" stays.
      const x = o[0];
      if (!x) return '';
      const t = parseIcmpType(x.args[0]!)!;
      // Type 255 is the kernel's "any" (whatever code was given with it).
      const text = t.type === -1 || t.type === 255 ? 'any' : t.code === null ? `${t.type}` : `${t.type}/${t.code}`;
      return `${neg(x)} --icmp-type ${text}`;
    }
    case 'owner': {
      const ids = (x: ParsedOption) => {
        const r = parseOwnerIds(x);
        return typeof r === 'string' ? x.args[0] : r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
      };
      // libxt_owner's order: socket, user, group, supplementary groups.
      return (
        each(['--socket-exists'], (x) => `${neg(x)} --socket-exists`) +
        each(['--uid-owner'], (x) => `${neg(x)} --uid-owner ${ids(x)}`) +
        each(['--gid-owner'], (x) => `${neg(x)} --gid-owner ${ids(x)}`) +
        each(['--suppl-groups'], () => ' --suppl-groups')
      );
    }
    case 'policy': {
      const pol = opt(o, '--pol')?.args[0] ?? 'ipsec';
      let out = ` --dir ${opt(o, '--dir')?.args[0]} --pol ${pol}`;
      // A "none" policy keeps no elements; an IPsec one prints each in libxt_policy's order.
      if (pol === 'none') return out;
      if (opt(o, '--strict')) out += ' --strict';
      const element = (e: readonly ParsedOption[]) => {
        const field = (name: string, render: (text: string) => string) => {
          const x = e.find((y) => y.name === name);
          return x ? `${neg(x)} ${name} ${render(x.args[0]!)}` : '';
        };
        const address = (text: string) => {
          const slash = text.indexOf('/');
          const prefix = parseIPv4Prefix(text)!;
          const given = parseIPv4(slash < 0 ? text : text.slice(0, slash))!;
          return `${formatIPv4(given)}${prefix.length === 32 ? '' : `/${prefix.length}`}`;
        };
        const protoName = (text: string) =>
          Object.entries(IPSEC_PROTOCOLS).find(([, n]) => n === ipsecProtocol(text))![0];
        return (
          field('--reqid', (t) => `${parseUint32(t)}`) +
          field('--spi', (t) => hex(parseUint32(t)!)) +
          field('--proto', protoName) +
          field('--mode', (t) => t) +
          field('--tunnel-dst', address) +
          field('--tunnel-src', address)
        );
      };
      return out + policyElements(o).map(element).join(' --next');
    }
    case 'limit': {
      const rate = opt(o, '--limit')?.args[0] ?? '3/hour';
      const burst = opt(o, '--limit-burst')?.args[0];
      const burstValue = burst === undefined ? 5 : parseCNumber(burst, 10000);
      return ` --limit ${limitRateText(rate)}${burstValue !== 5 ? ` --limit-burst ${burstValue}` : ''}`;
    }
    case 'hashlimit': {
      // libxt_hashlimit (revision 3): the rate in its scale of 1/1,000,000 s, burst, mode in its order,
      // name, table sizes when set, the expiry when it is not the printed rate's unit, masks below 32.
      const limit = opt(o, '--hashlimit', '--hashlimit-upto', '--hashlimit-above')!;
      const rate = rateText(limit.args[0]!, 1_000_000);
      const num = (name: string) => {
        const x = opt(o, name);
        return x === undefined ? undefined : parseCNumber(x.args[0]!, 0xffffffff)!;
      };
      const modes = new Set((opt(o, '--hashlimit-mode')?.args[0] ?? '').split(','));
      const mode = HASHLIMIT_MODES.filter((m) => modes.has(m)).join(',');
      const size = num('--hashlimit-htable-size');
      const max = num('--hashlimit-htable-max');
      const gc = num('--hashlimit-htable-gcinterval');
      // Unset, the expiry is the written rate's unit (libxt_hashlimit's default), which may differ from the printed one.
      const expire = num('--hashlimit-htable-expire') ?? RATE_UNIT_MS.get(writtenUnit(limit.args[0]!)) ?? 1000;
      const srcmask = num('--hashlimit-srcmask');
      const dstmask = num('--hashlimit-dstmask');
      return (
        ` --hashlimit-${hashlimitUpTo(o) ? 'upto' : 'above'} ${rate.text}` +
        ` --hashlimit-burst ${num('--hashlimit-burst') ?? 5}` +
        (mode ? ` --hashlimit-mode ${mode}` : '') +
        ` --hashlimit-name ${opt(o, '--hashlimit-name')!.args[0]}` +
        (size ? ` --hashlimit-htable-size ${size}` : '') +
        (max ? ` --hashlimit-htable-max ${max}` : '') +
        (gc !== undefined && gc !== 1000 ? ` --hashlimit-htable-gcinterval ${gc}` : '') +
        (expire !== rate.unitMs ? ` --hashlimit-htable-expire ${expire}` : '') +
        (srcmask !== undefined && srcmask !== 32 ? ` --hashlimit-srcmask ${srcmask}` : '') +
        (dstmask !== undefined && dstmask !== 32 ? ` --hashlimit-dstmask ${dstmask}` : '')
      );
    }
    case 'ttl': {
      // --ttl is --ttl-eq; the value in decimal.
      const x = o[0]!;
      return `${neg(x)} ${x.name === '--ttl' ? '--ttl-eq' : x.name} ${parseCNumber(x.args[0]!, 255)}`;
    }
    case 'tos': {
      // libxt_tos (revision 1): the value and its mask, names as the numbers they stand for.
      const x = o[0]!;
      const tos = parseTosValue(x.args[0]!) as { value: number; mask: number };
      return `${neg(x)} --tos ${hexByte(tos.value)}/${hexByte(tos.mask)}`;
    }
    case 'dscp': {
      const dscp = dscpValue(o, '--dscp', '--dscp-class') as { value: number; negated: boolean };
      return `${dscp.negated ? ' !' : ''} --dscp ${hexByte(dscp.value)}`;
    }
    case 'ecn':
      return ecnText(o);
    case 'helper':
      return `${neg(o[0]!)} --helper ${saveString(o[0]!.args[0]!)}`;
    case 'time':
      return timeText(timeSpec(o) as TimeSpec);
    case 'quota': {
      const q = quotaOf(o) as { bytes: bigint; negated: boolean };
      return `${q.negated ? ' !' : ''} --quota ${q.bytes}`;
    }
    case 'connlimit':
      return connlimitText(connlimitSpec(o) as ConnlimitSpec);
    case 'mac':
      return `${neg(o[0]!)} --mac-source ${parseMac(o[0]!.args[0]!)}`;
    case 'connbytes':
      return connbytesText(connbytesSpec(o) as ConnbytesSpec);
    case 'string': {
      // libxt_string: the pattern, the algorithm, the window where it is not the default, then --icase.
      const spec = stringSpec(o) as StringSpec;
      return (
        `${spec.negated ? ' !' : ''}${stringPatternText(spec)} --algo ${spec.algo}` +
        `${spec.from !== 0 ? ` --from ${spec.from}` : ''}${spec.to !== 65535 ? ` --to ${spec.to}` : ''}` +
        `${spec.icase ? ' --icase' : ''}`
      );
    }
    case 'socket':
      // libxt_socket's order, whatever the rule's.
      return ['--transparent', '--nowildcard', '--restore-skmark']
        .filter((name) => opt(o, name))
        .map((name) => ` ${name}`)
        .join('');
    default:
      return o.map((x) => `${neg(x)} ${x.name}${x.args.length ? ` ${x.args.join(' ')}` : ''}`).join('');
  }
}

function targetText(t: RuleTarget): string {
  if (t.kind === 'none') return '';
  if (t.kind === 'jump') return ` -j ${t.chain}`;
  if (t.kind === 'goto') return ` -g ${t.chain}`;
  const o = t.options;
  const a = t.action;
  switch (a.kind) {
    case 'REJECT':
      return ` -j REJECT --reject-with ${a.rejectWith}`;
    case 'DNAT':
    case 'SNAT': {
      // The range as the kernel keeps it: a range of one address or port prints as that one, ports in decimal.
      const name = a.kind === 'DNAT' ? '--to-destination' : '--to-source';
      const span = (min: string, max: string) => (min === max ? min : `${min}-${max}`);
      const address = a.minAddress === null ? '' : span(formatIPv4(a.minAddress), formatIPv4(a.maxAddress!));
      const ports = a.minPort === null ? '' : `:${span(String(a.minPort), String(a.maxPort))}`;
      return ` -j ${a.kind} ${name} ${address}${ports}${opt(o, '--random') ? ' --random' : ''}${opt(o, '--random-fully') ? ' --random-fully' : ''}${a.persistent ? ' --persistent' : ''}`;
    }
    case 'MASQUERADE':
    case 'REDIRECT': {
      const ports =
        a.minPort === null ? '' : ` --to-ports ${a.minPort}${a.maxPort !== a.minPort ? `-${a.maxPort}` : ''}`;
      const random =
        a.kind === 'MASQUERADE'
          ? `${a.random ? ' --random' : ''}${a.randomFully ? ' --random-fully' : ''}`
          : opt(o, '--random')
            ? ' --random'
            : '';
      return ` -j ${a.kind}${ports}${random}`;
    }
    default:
      break;
  }
  if (t.name === 'MARK') {
    const x = xmarkOf(o[0]!);
    if (typeof x !== 'string') return ` -j MARK --set-xmark ${hex(x.value)}/${hex(x.mask)}`;
  }
  if (t.name === 'TTL') return ` -j TTL ${o[0]!.name} ${parseCNumber(o[0]!.args[0]!, 255)}`;
  if (t.name === 'TOS') {
    // libxt_TOS (revision 1) prints every form as the one operation the kernel keeps.
    const op = tosOperation(o[0]!) as { value: number; mask: number };
    return ` -j TOS --set-tos ${hexByte(op.value)}/${hexByte(op.mask)}`;
  }
  if (t.name === 'DSCP') {
    const dscp = dscpValue(o, '--set-dscp', '--set-dscp-class') as { value: number };
    return ` -j DSCP --set-dscp ${hexByte(dscp.value)}`;
  }
  if (t.name === 'CT') {
    // libxt_CT: --notrack, the helper, then the zone unless 0.
    const zone = ctZone(o) as number;
    const helper = opt(o, '--helper');
    return ` -j CT${opt(o, '--notrack') ? ' --notrack' : ''}${helper ? ` --helper ${helper.args[0]}` : ''}${zone !== 0 ? ` --zone ${zone}` : ''}`;
  }
  if (t.name === 'SET') return setTargetText(setTargetSpec(o) as SetTargetSpec);
  if (t.name === 'NFQUEUE') return queueText(queueSpec(o) as QueueSpec);
  if (t.name === 'CLASSIFY') return ` -j CLASSIFY --set-class ${classText(parseClass(o[0]!.args[0]!)!)}`;
  if (t.name === 'NFLOG') {
    // libxt_NFLOG's order; --nflog-range is dropped (iptables no longer supports it), group 0 is the default.
    const prefix = keptText(opt(o, '--nflog-prefix'), NFLOG_PREFIX_BYTES);
    const group = opt(o, '--nflog-group')?.args[0];
    const size = opt(o, '--nflog-size')?.args[0];
    const threshold = opt(o, '--nflog-threshold')?.args[0];
    return ` -j NFLOG${prefix ? ` --nflog-prefix ${saveString(prefix)}` : ''}${group && Number(group) !== 0 ? ` --nflog-group ${Number(group)}` : ''}${size !== undefined ? ` --nflog-size ${Number(size)}` : ''}${threshold !== undefined ? ` --nflog-threshold ${Number(threshold)}` : ''}`;
  }
  if (t.name === 'TPROXY') {
    // libxt_TPROXY prints every field, defaults included, the port in decimal.
    const spec = tproxySpec(o);
    if (typeof spec !== 'string')
      return ` -j TPROXY --on-port ${spec.port} --on-ip ${formatIPv4(spec.address)} --tproxy-mark ${hex(spec.markValue)}/${hex(spec.markMask)}`;
  }
  if (t.name === 'LOG') {
    // libxt_LOG: the prefix, the level as a number unless the default (4, warning), then the flags in its order.
    const prefix = keptText(opt(o, '--log-prefix'), LOG_PREFIX_BYTES);
    const levelText = opt(o, '--log-level')?.args[0];
    const level = levelText === undefined ? 4 : logLevel(levelText);
    const flags = ['--log-tcp-sequence', '--log-tcp-options', '--log-ip-options', '--log-uid', '--log-macdecode']
      .filter((name) => opt(o, name))
      .map((name) => ` ${name}`)
      .join('');
    return ` -j LOG${prefix ? ` --log-prefix ${saveString(prefix)}` : ''}${level !== 4 ? ` --log-level ${level}` : ''}${flags}`;
  }
  if (t.name === 'CONNMARK') {
    // libxt_CONNMARK: a mark to set as --set-xmark; saving and restoring with both masks, defaults included.
    const kept = connmarkOf(o);
    if (typeof kept !== 'string') {
      if (kept.set) return ` -j CONNMARK --set-xmark ${hex(kept.set.value)}/${hex(kept.set.mask)}`;
      const mode = opt(o, '--save-mark') ? '--save-mark' : '--restore-mark';
      return ` -j CONNMARK ${mode} --nfmask ${hex(kept.nfmask)} --ctmask ${hex(kept.ctmask)}`;
    }
  }
  return ` -j ${t.name}${o.map((x) => ` ${x.name}${x.args.length ? ` ${x.args.join(' ')}` : ''}`).join('')}`;
}

/** `-A CHAIN ...` as iptables-save prints the rule. */
export function canonicalRuleText(chain: string, rule: Rule): string {
  return `-A ${chain}${headerText(rule.header)}${foldedMatches(rule.matches)
    .map((m) => ` -m ${m.module}${matchText(m)}`)
    .join('')}${targetText(rule.target)}`;
}

/** The tcp/udp options iptables-nft turns into nft payload matches (others stay xtables matches). */
const PAYLOAD_OPTIONS: ReadonlyMap<string, 'sport' | 'dport' | 'flags'> = new Map([
  ['--sport', 'sport'],
  ['--source-port', 'sport'],
  ['--dport', 'dport'],
  ['--destination-port', 'dport'],
  ['--syn', 'flags'],
  ['--tcp-flags', 'flags'],
]);

function payloadMatch(m: RuleMatch): boolean {
  return (
    (m.module === 'tcp' || m.module === 'udp') &&
    m.options.every((o) => PAYLOAD_OPTIONS.has(o.name)) &&
    m.options.some(testsSomething)
  );
}

/**
 * A port option of the whole range (0:65535) makes no payload match (iptables-nft writes nothing for
 * it) unless negated; a negated one is folded in, and printed as nothing (libxt_tcp skips whole ranges).
 */
function testsSomething(o: ParsedOption): boolean {
  return o.negated || PAYLOAD_OPTIONS.get(o.name) === 'flags' || !wholeRange(o);
}

function wholeRange(o: ParsedOption): boolean {
  return PAYLOAD_OPTIONS.get(o.name) !== 'flags' && portText(o.args[0]!) === '0:65535';
}

/**
 * The matches as iptables-nft reads a rule back: every tcp (udp) match made only of ports and flags
 * became payload matches in the kernel, and they are printed as one tcp (udp) match where the first
 * was, a later port or flags test in place of an earlier one ("-m udp --dport 68 -m udp --sport 67"
 * prints "-m udp --sport 67 --dport 68"). The kernel still tests each; only the printing folds.
 */
function foldedMatches(matches: readonly RuleMatch[]): readonly RuleMatch[] {
  let tcp = 0;
  let udp = 0;
  for (const m of matches)
    if (payloadMatch(m)) {
      if (m.module === 'tcp') tcp++;
      else udp++;
    }
  if (tcp < 2 && udp < 2) return matches;
  const out: RuleMatch[] = [];
  const merged = new Map<string, { at: number; options: Map<string, ParsedOption> }>();
  for (const m of matches) {
    if (!payloadMatch(m) || (m.module === 'tcp' ? tcp : udp) < 2) {
      out.push(m);
      continue;
    }
    let group = merged.get(m.module);
    if (!group) {
      group = { at: out.length, options: new Map() };
      merged.set(m.module, group);
      out.push(m);
    }
    for (const o of m.options) {
      if (!testsSomething(o)) continue;
      // A later test takes the place of an earlier one, but an earlier "!" stays (the invert bits are OR'd).
      const key = PAYLOAD_OPTIONS.get(o.name)!;
      const was = group.options.get(key);
      group.options.set(key, was?.negated && !o.negated ? { ...o, negated: true } : o);
    }
  }
  for (const [module, group] of merged) {
    const options = (['sport', 'dport', 'flags'] as const).flatMap((key) => {
      const o = group.options.get(key);
      return o && !wholeRange(o) ? [o] : [];
    });
    out[group.at] = { ...out[group.at]!, module, options };
  }
  return out;
}
