// The tcp, udp and sctp matches (-m tcp --dport ...): ports, TCP flags and
// --syn. iptables loads them by itself after -p tcp|udp|sctp.
import type { L4Protocol } from '../../net';
import type { CompiledMatch, MatchExtension, MatchTest, NfPacket, ParsedOption } from '../extension';

type HeaderTest = (packet: NfPacket) => boolean;

import { SCTP_SERVICE_PORTS, SERVICE_PORTS, TCP_SERVICE_PORTS } from '../../net';
import { parseCNumber, parsePortRange, type ServiceNames } from '../values';

const TCP_FLAG_NAMES = ['SYN', 'ACK', 'FIN', 'RST', 'URG', 'PSH', 'ALL', 'NONE'] as const;

/** The services each protocol match looks a port name up in (libxt_udp reads any protocol's names). */
const PORT_NAMES: Readonly<Record<L4Protocol, ServiceNames>> = {
  tcp: TCP_SERVICE_PORTS,
  udp: SERVICE_PORTS,
  sctp: SCTP_SERVICE_PORTS,
  icmp: SERVICE_PORTS,
};

function portTest(option: ParsedOption, field: 'sport' | 'dport', protocol: L4Protocol): HeaderTest | string {
  const range = parsePortRange(option.args[0] ?? '', PORT_NAMES[protocol]);
  if (!range) return `invalid port/service "${option.args[0]}" specified`;
  const { min, max } = range;
  return option.negated ? (p) => p[field] < min || p[field] > max : (p) => p[field] >= min && p[field] <= max;
}

function flagSet(text: string): Set<string> | string {
  const out = new Set<string>();
  for (const name of text.toUpperCase().split(',')) {
    if (!(TCP_FLAG_NAMES as readonly string[]).includes(name)) return `unknown TCP flag "${name}"`;
    if (name === 'ALL') for (const f of ['SYN', 'ACK', 'FIN', 'RST', 'URG', 'PSH']) out.add(f);
    else if (name !== 'NONE') out.add(name);
  }
  return out;
}

function tcpFlagsTest(maskText: string, compText: string, negated: boolean): HeaderTest | string {
  const mask = flagSet(maskText);
  if (typeof mask === 'string') return mask;
  const comp = flagSet(compText);
  if (typeof comp === 'string') return comp;
  return (p) => {
    const f = p.tcpFlags;
    const on = (name: string) =>
      f !== null &&
      ((name === 'SYN' && f.syn) ||
        (name === 'ACK' && f.ack) ||
        (name === 'FIN' && f.fin) ||
        (name === 'RST' && f.rst) ||
        (name === 'URG' && f.urg) ||
        (name === 'PSH' && f.psh));
    let ok = true;
    for (const name of mask) if (on(name) !== comp.has(name)) ok = false;
    return ok !== negated;
  };
}

function compilePortMatch(protocol: L4Protocol, options: readonly ParsedOption[]): CompiledMatch | string {
  if (options.some((o) => o.name === '--syn') && options.some((o) => o.name === '--tcp-flags'))
    return "Only one of `--syn' or `--tcp-flags'  allowed";
  const tests: HeaderTest[] = [];
  let exactDport: number | undefined;
  for (const o of options) {
    let t: HeaderTest | string;
    if (o.name === '--sport' || o.name === '--source-port') t = portTest(o, 'sport', protocol);
    else if (o.name === '--dport' || o.name === '--destination-port') {
      t = portTest(o, 'dport', protocol);
      const r = parsePortRange(o.args[0] ?? '', PORT_NAMES[protocol]);
      if (!o.negated && r && r.min === r.max) exactDport = r.min;
    } else if (o.name === '--tcp-flags') t = tcpFlagsTest(o.args[0] ?? '', o.args[1] ?? '', o.negated);
    else if (o.name === '--syn') t = tcpFlagsTest('SYN,RST,ACK,FIN', 'SYN', o.negated);
    else if (o.name === '--tcp-option')
      // The option kind is a byte; no traced packet carries TCP options, so only "!" matches.
      t = parseCNumber(o.args[0] ?? '', 255) !== null ? () => o.negated : `Bad TCP option "${o.args[0]}"`;
    else if (o.name === '--chunk-types') t = () => true;
    else t = `unknown option "${o.name}"`;
    if (typeof t === 'string') return t;
    tests.push(t);
  }
  // The match also requires the protocol itself: "-m tcp" on a UDP packet never matches.
  // Specialised by option count: this test runs for most rules of a kube-proxy node.
  if (options.length === 1 && exactDport !== undefined) {
    // kube-proxy's "--dport N": compared in place, without a call to the port test.
    const port = exactDport;
    return { test: (p) => p.protocol === protocol && !p.fragment && p.dport === port, exactDport };
  }
  const [first, second] = tests;
  const test: MatchTest =
    tests.length === 0
      ? (p) => p.protocol === protocol && !p.fragment
      : tests.length === 1
        ? (p) => p.protocol === protocol && !p.fragment && first!(p)
        : tests.length === 2
          ? (p) => p.protocol === protocol && !p.fragment && first!(p) && second!(p)
          : (p) => p.protocol === protocol && !p.fragment && tests.every((t) => t(p));
  return exactDport === undefined ? { test } : { test, exactDport };
}

const PORT_OPTIONS = [
  { name: '--sport', args: 1, negatable: true },
  { name: '--source-port', args: 1, negatable: true },
  { name: '--dport', args: 1, negatable: true },
  { name: '--destination-port', args: 1, negatable: true },
] as const;

export const tcpMatch: MatchExtension = {
  name: 'tcp',
  implicitFor: 'tcp',
  options: [
    ...PORT_OPTIONS,
    { name: '--tcp-flags', args: 2, negatable: true },
    { name: '--syn', args: 0, negatable: true },
    { name: '--tcp-option', args: 1, negatable: true },
  ],
  compile: (options) => compilePortMatch('tcp', options),
};

export const udpMatch: MatchExtension = {
  name: 'udp',
  implicitFor: 'udp',
  options: PORT_OPTIONS,
  compile: (options) => compilePortMatch('udp', options),
};

export const sctpMatch: MatchExtension = {
  name: 'sctp',
  implicitFor: 'sctp',
  options: [...PORT_OPTIONS, { name: '--chunk-types', args: 2, negatable: true }],
  compile: (options) => compilePortMatch('sctp', options),
};
