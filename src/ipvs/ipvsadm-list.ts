// `ipvsadm -Ln` as ipvsadm 1.31 prints it (list_all / print_service_entry), and read back:
// services and servers sorted as libipvs sorts them, columns padded as printf pads them.

import { formatIPv4, parseIPv4 } from '../net';
import { compareServers, compareServices, formatAddrPort, parseAddrPort } from './addr-port';
import {
  addServer,
  addService,
  createIpvsTable,
  DEFAULT_IPVS_CONFIG,
  type IpvsTable,
  listServices,
} from './ipvs-table';
import { type IpvsParseError, ok, parseError, type Result } from './result';
import { formatSchedFlags, hasSchedFlags, parseSchedFlags } from './sched-flags';
import {
  type ForwardMethod,
  FULL_NETMASK,
  type IpvsProtocol,
  isSchedulerName,
  makeRealServer,
  makeVirtualService,
  NO_FLAGS,
  type ServiceFlags,
  serviceKey,
  type VirtualService,
} from './virtual-server';

/** The kernel's IPVS version (IP_VS_VERSION_CODE) as the header prints it. */
export const IPVS_VERSION = '1.2.1';

const TITLE = [
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
];

const PROTOCOL_NAMES: Readonly<Record<IpvsProtocol, string>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

const padEnd = (text: string, width: number): string => text.padEnd(width, ' ');

export function formatServiceLine(service: VirtualService): string {
  // "%-4s %s", cut at 33 characters as ipvsadm cuts IPv4 names.
  const name = `${padEnd(PROTOCOL_NAMES[service.protocol], 4)} ${formatAddrPort(service.address, service.port)}`.slice(
    0,
    33,
  );
  let line = `${name} ${service.scheduler}`;
  if (hasSchedFlags(service.flags)) line += ` (${formatSchedFlags(service.scheduler, service.flags)})`;
  if (service.flags.persistent) {
    line += ` persistent ${service.timeout}`;
    if (service.netmask >>> 0 !== FULL_NETMASK) line += ` mask ${formatIPv4(service.netmask)}`;
    if (service.persistenceEngine) line += ` pe ${service.persistenceEngine}`;
  }
  if (service.flags.onePacket) line += ' ops';
  return line;
}

/** `ipvsadm -Ln` output for these services (servers in kernel list order; printing sorts). */
export function formatIpvsadmList(
  services: readonly VirtualService[],
  connTabBits = DEFAULT_IPVS_CONFIG.connTabBits,
): string {
  const lines = [`IP Virtual Server version ${IPVS_VERSION} (size=${2 ** connTabBits})`, ...TITLE];
  for (const service of [...services].sort(compareServices)) {
    lines.push(formatServiceLine(service));
    for (const s of [...service.servers].sort(compareServers)) {
      const name = formatAddrPort(s.address, s.port).slice(0, 28);
      // "  -> %-28s %-7s %-6d %-10u %-10u": the last column's padding leaves trailing spaces.
      lines.push(
        `  -> ${padEnd(name, 28)} ${padEnd(s.forward, 7)} ${padEnd(String(s.weight), 6)} ${padEnd(String(s.activeConns), 10)} ${padEnd(String(s.inactConns), 10)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function formatIpvsTableList(table: IpvsTable): string {
  return formatIpvsadmList(listServices(table), table.config.connTabBits);
}

const SERVICE_LINE = /^(TCP|UDP|SCTP) +(\S+) +(\S+)(.*)$/;
const SERVER_LINE = /^ {2}-> (\S+) +(\S+) +(\S+) +(\S+) +(\S+) *$/;
const FORWARDS: readonly ForwardMethod[] = ['Masq', 'Local', 'Tunnel', 'Route'];

function parseFlags(
  source: string,
  n: number,
  service: VirtualService,
  rest: string,
): Result<VirtualService, IpvsParseError> {
  const tokens = rest.trim() === '' ? [] : rest.trim().split(/ +/);
  let flags: ServiceFlags = { ...NO_FLAGS };
  let { timeout, netmask, persistenceEngine } = service;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const next = tokens[i + 1];
    if (/^\(.*\)$/.test(token)) {
      const parsed =
        token === '()'
          ? { bits: { sched1: false, sched2: false, sched3: true } }
          : parseSchedFlags(service.scheduler, token.slice(1, -1));
      if ('error' in parsed) return parseError(source, n, token, parsed.error);
      flags = { ...flags, ...parsed.bits };
    } else if (token === 'persistent' && next !== undefined && /^\d+$/.test(next)) {
      flags = { ...flags, persistent: true };
      timeout = Number(next);
      i++;
    } else if (token === 'mask' && next !== undefined && parseIPv4(next) !== null) {
      netmask = parseIPv4(next)!;
      i++;
    } else if (token === 'pe' && next !== undefined) {
      persistenceEngine = next;
      i++;
    } else if (token === 'ops') {
      flags = { ...flags, onePacket: true };
    } else {
      return parseError(source, n, token, `unexpected service flag "${token}"`);
    }
  }
  return ok({ ...service, flags, timeout, netmask, persistenceEngine });
}

/**
 * Reads `ipvsadm -Ln` output back into a table, counters included. Servers are added in the
 * order listed, so the kernel list order (which the listing does not show) is its reverse.
 */
export function parseIpvsadmList(text: string, source = 'ipvsadm -Ln'): Result<IpvsTable, IpvsParseError> {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = /^IP Virtual Server version (\d+\.\d+\.\d+) \(size=(\d+)\)$/.exec(lines[0] ?? '');
  if (!header) return parseError(source, 1, lines[0] ?? '', 'expected "IP Virtual Server version ... (size=N)"');
  const size = Number(header[2]);
  const bits = Math.log2(size);
  if (!Number.isInteger(bits))
    return parseError(source, 1, header[2]!, `connection table size ${size} is not a power of 2`);
  for (let i = 0; i < TITLE.length; i++) {
    if ((lines[i + 1] ?? '').trimEnd() !== TITLE[i])
      return parseError(source, i + 2, lines[i + 1] ?? '', 'expected the column titles');
  }
  const table = createIpvsTable({ ...DEFAULT_IPVS_CONFIG, connTabBits: bits });
  let current: string | null = null;
  for (let i = TITLE.length + 1; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i]!;
    const server = SERVER_LINE.exec(line);
    if (server) {
      if (current === null) return parseError(source, n, line.trim(), 'server line before any service');
      const [, addr, forward, weight, active, inactive] = server as unknown as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      const ap = parseAddrPort(addr);
      if ('error' in ap) return parseError(source, n, addr, ap.error);
      if (ap.port === null) return parseError(source, n, addr, `missing port "${addr}"`);
      if (!FORWARDS.includes(forward as ForwardMethod))
        return parseError(source, n, forward, `unknown forwarding method "${forward}"`);
      for (const t of [weight, active, inactive])
        if (!/^\d+$/.test(t)) return parseError(source, n, t, `bad number "${t}"`);
      const added = addServer(
        table,
        current,
        makeRealServer({
          address: ap.address,
          port: ap.port,
          forward: forward as ForwardMethod,
          weight: Number(weight),
          activeConns: Number(active),
          inactConns: Number(inactive),
        }),
      );
      if (!added.ok) return parseError(source, n, addr, added.error);
      continue;
    }
    const svc = SERVICE_LINE.exec(line);
    if (!svc) return parseError(source, n, line.trim().split(/\s+/)[0] ?? '', `malformed line "${line.trim()}"`);
    const [, proto, addr, scheduler, rest] = svc as unknown as [string, string, string, string, string];
    const ap = parseAddrPort(addr);
    if ('error' in ap) return parseError(source, n, addr, ap.error);
    if (ap.port === null) return parseError(source, n, addr, `missing port "${addr}"`);
    if (!isSchedulerName(scheduler)) return parseError(source, n, scheduler, `unknown scheduler "${scheduler}"`);
    const base = makeVirtualService({
      protocol: proto.toLowerCase() as IpvsProtocol,
      address: ap.address,
      port: ap.port,
      scheduler,
    });
    const service = parseFlags(source, n, base, rest);
    if (!service.ok) return service;
    const added = addService(table, service.value);
    if (!added.ok) return parseError(source, n, addr, added.error);
    current = serviceKey(service.value);
  }
  return ok(table);
}
