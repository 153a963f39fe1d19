// `ipvsadm -S -n` (save) as ipvsadm 1.31 prints it, and the same lines read back as
// `ipvsadm -R` would apply them: -A adds a service, -a a server, with ipvsadm's defaults.

import { formatIPv4, parseIPv4 } from '../net';
import { compareServers, compareServices, formatAddrPort, parseAddrPort } from './addr-port';
import {
  addServer,
  addService,
  cloneIpvsTable,
  createIpvsTable,
  DEFAULT_IPVS_CONFIG,
  deleteServer,
  deleteService,
  editServer,
  editService,
  type IpvsConfig,
  type IpvsTable,
  listServices,
} from './ipvs-table';
import { type IpvsParseError, ok, parseError, type Result } from './result';
import { formatSchedFlags, hasSchedFlags, parseSchedFlags } from './sched-flags';
import {
  DEFAULT_PERSISTENT_TIMEOUT,
  DEFAULT_SCHEDULER,
  type ForwardMethod,
  FULL_NETMASK,
  type IpvsProtocol,
  isSchedulerName,
  MAX_PERSISTENT_TIMEOUT,
  makeRealServer,
  makeVirtualService,
  NO_FLAGS,
  type RealServer,
  type SchedulerName,
  type ServiceFlags,
  serviceKey,
  type VirtualService,
} from './virtual-server';

const PROTOCOL_OPTION: Readonly<Record<IpvsProtocol, string>> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };

/** fwd_switch: Local prints as -g, since the kernel decides "Local" from the address itself. */
const FORWARD_OPTION: Readonly<Record<ForwardMethod, string>> = { Masq: '-m', Local: '-g', Tunnel: '-i', Route: '-g' };

function serviceName(service: VirtualService): string {
  return `${PROTOCOL_OPTION[service.protocol]} ${formatAddrPort(service.address, service.port)}`;
}

export function formatAddServiceLine(service: VirtualService): string {
  let line = `-A ${serviceName(service)} -s ${service.scheduler}`;
  if (service.flags.persistent) {
    line += ` -p ${service.timeout}`;
    if (service.netmask >>> 0 !== FULL_NETMASK) line += ` -M ${formatIPv4(service.netmask)}`;
  }
  if (service.persistenceEngine) line += ` --pe ${service.persistenceEngine}`;
  if (service.flags.onePacket) line += ' -o';
  if (hasSchedFlags(service.flags)) line += ` -b ${formatSchedFlags(service.scheduler, service.flags)}`;
  return line;
}

export function formatAddServerLine(service: VirtualService, server: RealServer): string {
  const line = `-a ${serviceName(service)} -r ${formatAddrPort(server.address, server.port)} ${FORWARD_OPTION[server.forward]} -w ${server.weight}`;
  // print_tunnel_rule: 1.31 names the tunnel type, and a kernel that has none reports ipip.
  return server.forward === 'Tunnel' ? `${line} --tun-type ipip` : line;
}

/** `ipvsadm -S -n` output for these services, sorted as ipvsadm sorts them. */
export function formatIpvsadmSave(services: readonly VirtualService[]): string {
  const lines: string[] = [];
  for (const service of [...services].sort(compareServices)) {
    lines.push(formatAddServiceLine(service));
    for (const server of [...service.servers].sort(compareServers)) lines.push(formatAddServerLine(service, server));
  }
  return lines.map((l) => `${l}\n`).join('');
}

export function formatIpvsTableSave(table: IpvsTable): string {
  return formatIpvsadmSave(listServices(table));
}

interface Command {
  command: 'add-service' | 'add-server' | 'edit-service' | 'delete-service' | 'edit-server' | 'delete-server';
  protocol: IpvsProtocol | null;
  service: string | null;
  scheduler: string | null;
  persistent: number | null;
  netmask: string | null;
  server: string | null;
  forward: ForwardMethod | null;
  weight: string | null;
  upper: string | null;
  lower: string | null;
  ops: boolean;
  pe: string | null;
  schedFlags: string | null;
  tunType: string | null;
}

type OptionSpec = { readonly key: keyof Command; readonly arg: 'none' | 'required' | 'optional' };

/** The options of ipvsadm's popt table that -A and -a lines use, under both their names. */
const OPTIONS: Readonly<Record<string, OptionSpec & { readonly value?: string }>> = {
  '-t': { key: 'service', arg: 'required', value: 'tcp' },
  '--tcp-service': { key: 'service', arg: 'required', value: 'tcp' },
  '-u': { key: 'service', arg: 'required', value: 'udp' },
  '--udp-service': { key: 'service', arg: 'required', value: 'udp' },
  '--sctp-service': { key: 'service', arg: 'required', value: 'sctp' },
  '-s': { key: 'scheduler', arg: 'required' },
  '--scheduler': { key: 'scheduler', arg: 'required' },
  '-p': { key: 'persistent', arg: 'optional' },
  '--persistent': { key: 'persistent', arg: 'optional' },
  '-M': { key: 'netmask', arg: 'required' },
  '--netmask': { key: 'netmask', arg: 'required' },
  '-r': { key: 'server', arg: 'required' },
  '--real-server': { key: 'server', arg: 'required' },
  '-m': { key: 'forward', arg: 'none', value: 'Masq' },
  '--masquerading': { key: 'forward', arg: 'none', value: 'Masq' },
  '-i': { key: 'forward', arg: 'none', value: 'Tunnel' },
  '--ipip': { key: 'forward', arg: 'none', value: 'Tunnel' },
  '-g': { key: 'forward', arg: 'none', value: 'Route' },
  '--gatewaying': { key: 'forward', arg: 'none', value: 'Route' },
  '-w': { key: 'weight', arg: 'required' },
  '--weight': { key: 'weight', arg: 'required' },
  '-x': { key: 'upper', arg: 'required' },
  '--u-threshold': { key: 'upper', arg: 'required' },
  '-y': { key: 'lower', arg: 'required' },
  '--l-threshold': { key: 'lower', arg: 'required' },
  '-o': { key: 'ops', arg: 'none' },
  '--ops': { key: 'ops', arg: 'none' },
  '--pe': { key: 'pe', arg: 'required' },
  '-b': { key: 'schedFlags', arg: 'required' },
  '--sched-flags': { key: 'schedFlags', arg: 'required' },
  '--tun-type': { key: 'tunType', arg: 'required' },
};

const COMMANDS: Readonly<Record<string, Command['command']>> = {
  '-A': 'add-service',
  '--add-service': 'add-service',
  '-a': 'add-server',
  '--add-server': 'add-server',
};

/** What `ipvsadm -R` also takes besides a save file's lines: edits and deletions. */
const EDIT_COMMANDS: Readonly<Record<string, Command['command']>> = {
  ...COMMANDS,
  '-E': 'edit-service',
  '--edit-service': 'edit-service',
  '-D': 'delete-service',
  '--delete-service': 'delete-service',
  '-e': 'edit-server',
  '--edit-server': 'edit-server',
  '-d': 'delete-server',
  '--delete-server': 'delete-server',
};

const COMMAND_FLAG: Readonly<Record<Command['command'], string>> = {
  'add-service': '-A',
  'add-server': '-a',
  'edit-service': '-E',
  'delete-service': '-D',
  'edit-server': '-e',
  'delete-server': '-d',
};

type LineResult<T> = Result<T, IpvsParseError>;

function readCommand(source: string, n: number, tokens: readonly string[], edits = false): LineResult<Command> {
  const first = tokens[0]!;
  const command = (edits ? EDIT_COMMANDS : COMMANDS)[first];
  if (!command) {
    if (first === '-f' || first === '--fwmark-service')
      return parseError(source, n, first, 'fwmark services are not modelled');
    return parseError(
      source,
      n,
      first,
      edits
        ? `unknown command "${first}" (modelled: -A -E -D -a -e -d)`
        : `unknown command "${first}" (a save file has only -A and -a lines)`,
    );
  }
  const cmd: Command = {
    command,
    protocol: null,
    service: null,
    scheduler: null,
    persistent: null,
    netmask: null,
    server: null,
    forward: null,
    weight: null,
    upper: null,
    lower: null,
    ops: false,
    pe: null,
    schedFlags: null,
    tunType: null,
  };
  for (let i = 1; i < tokens.length; i++) {
    const raw = tokens[i]!;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const name = eq < 0 ? raw : raw.slice(0, eq);
    const spec = OPTIONS[name];
    if (!spec) {
      if (name === '-f' || name === '--fwmark-service')
        return parseError(source, n, name, 'fwmark services are not modelled');
      return parseError(source, n, raw, `unknown option "${raw}"`);
    }
    let value: string | null = eq < 0 ? null : raw.slice(eq + 1);
    if (value === null && spec.arg !== 'none') {
      const next = tokens[i + 1];
      // popt's optional argument: the next token unless it looks like an option.
      if (next !== undefined && (spec.arg === 'required' || !next.startsWith('-'))) {
        value = next;
        i++;
      }
    }
    if (spec.arg === 'required' && value === null) return parseError(source, n, raw, `option "${name}" needs a value`);
    switch (spec.key) {
      case 'service':
        cmd.protocol = spec.value as IpvsProtocol;
        cmd.service = value;
        break;
      case 'forward':
        cmd.forward = spec.value as ForwardMethod;
        break;
      case 'ops':
        cmd.ops = true;
        break;
      case 'persistent': {
        const timeout = value ?? String(DEFAULT_PERSISTENT_TIMEOUT);
        if (!/^\d+$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > MAX_PERSISTENT_TIMEOUT) {
          return parseError(source, n, timeout, `invalid timeout value "${timeout}" specified`);
        }
        cmd.persistent = Number(timeout);
        break;
      }
      default:
        (cmd as unknown as Record<string, string | null>)[spec.key] = value;
    }
  }
  return ok(cmd);
}

function number(source: string, n: number, text: string, max: number, what: string): LineResult<number> {
  if (!/^\d+$/.test(text) || Number(text) > max)
    return parseError(source, n, text, `illegal ${what} specified "${text}"`);
  return ok(Number(text));
}

function serviceFromCommand(source: string, n: number, cmd: Command): LineResult<VirtualService> {
  if (cmd.service === null || cmd.protocol === null)
    return parseError(source, n, COMMAND_FLAG[cmd.command], 'no service given (-t, -u or --sctp-service)');
  const ap = parseAddrPort(cmd.service);
  if ('error' in ap) return parseError(source, n, cmd.service, ap.error);
  const scheduler = cmd.scheduler ?? DEFAULT_SCHEDULER;
  if (!isSchedulerName(scheduler)) return parseError(source, n, scheduler, `unknown scheduler "${scheduler}"`);
  let flags: ServiceFlags = { ...NO_FLAGS, persistent: cmd.persistent !== null, onePacket: cmd.ops };
  let netmask = FULL_NETMASK;
  if (cmd.netmask !== null) {
    const mask = parseIPv4(cmd.netmask);
    if (mask === null)
      return parseError(source, n, cmd.netmask, `illegal virtual server persistent mask specified "${cmd.netmask}"`);
    netmask = mask;
  }
  if (cmd.schedFlags !== null) {
    const parsed = parseSchedFlags(scheduler as SchedulerName, cmd.schedFlags);
    if ('error' in parsed) return parseError(source, n, cmd.schedFlags, parsed.error);
    flags = { ...flags, ...parsed.bits };
  }
  const port = ap.port ?? 0;
  if (cmd.command === 'add-service') {
    if (port === 0 && !flags.persistent)
      return parseError(source, n, cmd.service, 'Zero port specified for non-persistent service');
    if (flags.onePacket && cmd.protocol !== 'udp')
      return parseError(source, n, '-o', 'One-Packet Scheduling is only for UDP virtual services');
  }
  return ok(
    makeVirtualService({
      protocol: cmd.protocol,
      address: ap.address,
      port,
      scheduler,
      flags,
      timeout: cmd.persistent ?? 0,
      netmask,
      persistenceEngine: cmd.pe ?? '',
    }),
  );
}

function serverFromCommand(source: string, n: number, cmd: Command, service: VirtualService): LineResult<RealServer> {
  if (cmd.server === null) return parseError(source, n, COMMAND_FLAG[cmd.command], 'no real server given (-r)');
  const ap = parseAddrPort(cmd.server);
  if ('error' in ap) return parseError(source, n, cmd.server, ap.error);
  const forward = cmd.forward ?? 'Route';
  if (cmd.tunType !== null && cmd.tunType !== 'ipip')
    return parseError(source, n, cmd.tunType, `tunnel type "${cmd.tunType}" is not modelled`);
  const weight = number(source, n, cmd.weight ?? '1', 65535, 'weight');
  if (!weight.ok) return weight;
  const upper = number(source, n, cmd.upper ?? '0', 2 ** 31 - 1, 'u_threshold');
  if (!upper.ok) return upper;
  const lower = number(source, n, cmd.lower ?? '0', 2 ** 31 - 1, 'l_threshold');
  if (!lower.ok) return lower;
  // Direct routing and tunnelling cannot change the port: ipvsadm forces the service's (on -a and -e only).
  const forcedPort = cmd.command !== 'delete-server' && (forward === 'Route' || forward === 'Tunnel');
  const port = forcedPort || ap.port === null ? service.port : ap.port;
  return ok(
    makeRealServer({
      address: ap.address,
      port,
      forward,
      weight: weight.value,
      upperThreshold: upper.value,
      lowerThreshold: lower.value,
    }),
  );
}

/**
 * Applies `ipvsadm -S -n` (or any -A/-a lines for `ipvsadm -R`) to a new table. The first bad
 * line stops it, with an error naming the line and the token.
 */
export function parseIpvsadmSave(
  text: string,
  source = 'ipvsadm -S',
  config: IpvsConfig = DEFAULT_IPVS_CONFIG,
): Result<IpvsTable, IpvsParseError> {
  return applyLines(createIpvsTable(config), text, source, false);
}

/**
 * Applies `ipvsadm -R` input (or the same commands one by one, as kube-proxy's netlink
 * calls amount to) to a copy of a table: -A/-E/-D for services, -a/-e/-d for servers.
 * The first bad line stops it, with an error naming the line and the token.
 */
export function applyIpvsadmCommands(
  base: IpvsTable,
  text: string,
  source = 'ipvsadm -R',
): Result<IpvsTable, IpvsParseError> {
  return applyLines(cloneIpvsTable(base), text, source, true);
}

/** Applies command lines to `table` in place: a save file's -A/-a only, or with `edits` -E/-D/-e/-d too. */
function applyLines(table: IpvsTable, text: string, source: string, edits: boolean): Result<IpvsTable, IpvsParseError> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const tokens = lines[i]!.trim()
      .split(/\s+/)
      .filter((t) => t !== '');
    if (tokens.length === 0) continue;
    const cmd = readCommand(source, n, tokens, edits);
    if (!cmd.ok) return cmd;
    const c = cmd.value;
    const service = serviceFromCommand(source, n, c);
    if (!service.ok) return service;
    const key = serviceKey(service.value);
    if (c.command === 'add-service') {
      const added = addService(table, service.value);
      if (!added.ok) return parseError(source, n, c.service!, added.error);
      continue;
    }
    const entry = table.services.get(key);
    if (!entry) return parseError(source, n, c.service!, 'Service not defined');
    if (c.command === 'edit-service') {
      const s = service.value;
      const edited = editService(table, key, {
        scheduler: s.scheduler,
        flags: s.flags,
        timeout: s.timeout,
        netmask: s.netmask,
        persistenceEngine: s.persistenceEngine,
      });
      if (!edited.ok) return parseError(source, n, c.service!, edited.error);
      continue;
    }
    if (c.command === 'delete-service') {
      deleteService(table, key);
      continue;
    }
    const server = serverFromCommand(source, n, c, entry.service);
    if (!server.ok) return server;
    const done =
      c.command === 'add-server'
        ? addServer(table, key, server.value)
        : c.command === 'edit-server'
          ? editServer(table, key, server.value.address, server.value.port, {
              weight: server.value.weight,
              forward: server.value.forward,
            })
          : deleteServer(table, key, server.value.address, server.value.port);
    if (!done.ok) return parseError(source, n, c.server!, done.error);
  }
  return ok(table);
}
