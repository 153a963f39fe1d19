// Targets that only observe or tag: LOG, NFLOG, TRACE, NOTRACK (and CT --notrack, its newer spelling).
import { formatIPv4, hasConntrackHelper } from '../../net';
import type { ParsedOption, TargetExtension } from '../extension';
import { keptText, parseCNumber } from '../values';

/** libxt_LOG's level names (error and panic are its deprecated spellings); any other word is refused. */
const LOG_LEVEL_NAMES: Readonly<Record<string, number>> = {
  alert: 1,
  crit: 2,
  debug: 7,
  emerg: 0,
  error: 3,
  info: 6,
  notice: 5,
  panic: 0,
  warning: 4,
};

/** --log-level as the kernel keeps it: a name, or a number 0-7 (decimal, 0x hex or 0 octal); null if neither. */
export function logLevel(text: string): number | null {
  const named = Object.hasOwn(LOG_LEVEL_NAMES, text) ? LOG_LEVEL_NAMES[text]! : undefined;
  if (named !== undefined) return named;
  return parseCNumber(text, 7);
}

/** What each --*-prefix option refuses: an empty text (xtables' minimum length of 1). */
function emptyPrefix(options: readonly ParsedOption[], name: string): string | null {
  const o = options.find((x) => x.name === name);
  return o !== undefined && o.args[0] === '' ? 'Argument must have a minimum length of 1 characters' : null;
}

/** The prefixes' fields, less their NUL: LOG's 30 bytes, NFLOG's 64. */
export const LOG_PREFIX_BYTES = 29;
export const NFLOG_PREFIX_BYTES = 63;

export const logTarget: TargetExtension = {
  name: 'LOG',
  options: [
    { name: '--log-prefix', args: 1 },
    { name: '--log-level', args: 1 },
    { name: '--log-tcp-sequence', args: 0 },
    { name: '--log-tcp-options', args: 0 },
    { name: '--log-ip-options', args: 0 },
    { name: '--log-uid', args: 0 },
    { name: '--log-macdecode', args: 0 },
  ],
  compile(options) {
    const empty = emptyPrefix(options, '--log-prefix');
    if (empty !== null) return empty;
    const level = options.find((o) => o.name === '--log-level');
    if (level && logLevel(level.args[0]!) === null) return `log level "${level.args[0]}" unknown`;
    const prefix = keptText(
      options.find((o) => o.name === '--log-prefix'),
      LOG_PREFIX_BYTES,
    );
    return {
      kind: 'CONTINUE',
      apply: (p) =>
        `log "${prefix}" SRC=${formatIPv4(p.src)} DST=${formatIPv4(p.dst)} PROTO=${p.protocol.toUpperCase()}`,
    };
  },
};

/** NFLOG hands the packet to a userspace logger (kube-router's and Calico's policy logs) and goes on. */
export const nflogTarget: TargetExtension = {
  name: 'NFLOG',
  options: [
    { name: '--nflog-group', args: 1 },
    { name: '--nflog-prefix', args: 1 },
    // Accepted and ignored, as iptables does ("has never worked and is no longer supported").
    { name: '--nflog-range', args: 1 },
    { name: '--nflog-size', args: 1 },
    { name: '--nflog-threshold', args: 1 },
  ],
  compile(options) {
    for (const name of ['--nflog-group', '--nflog-range', '--nflog-size', '--nflog-threshold']) {
      const o = options.find((x) => x.name === name);
      if (o && (!/^\d+$/.test(o.args[0] ?? '') || Number(o.args[0]) > (name === '--nflog-group' ? 65535 : 0xffffffff)))
        return `bad ${name} "${o.args[0]}"`;
    }
    const empty = emptyPrefix(options, '--nflog-prefix');
    if (empty !== null) return empty;
    const prefix = keptText(
      options.find((o) => o.name === '--nflog-prefix'),
      NFLOG_PREFIX_BYTES,
    );
    const group = Number(options.find((o) => o.name === '--nflog-group')?.args[0] ?? 0);
    return {
      kind: 'CONTINUE',
      apply: () => `logged to nflog group ${group}${prefix ? ` with prefix "${prefix}"` : ''}`,
    };
  },
};

/**
 * TRACE makes the kernel log every rule the packet meets; a knetsim trace already shows them.
 * iptables-nft takes it in any table (legacy iptables only in raw).
 */
export const traceTarget: TargetExtension = {
  name: 'TRACE',
  options: [],
  compile: () => ({ kind: 'CONTINUE', apply: () => 'packet tracing enabled' }),
};

export const notrackTarget: TargetExtension = {
  name: 'NOTRACK',
  tables: ['raw'],
  options: [],
  compile: () => ({ kind: 'NOTRACK' }),
};

/** CT with --notrack is NOTRACK; its other uses (zones, helpers, timeouts) are not modelled and are refused by name. */
export const ctTarget: TargetExtension = {
  name: 'CT',
  tables: ['raw'],
  // libxt_CT's options, so that a rule using one knetsim does not model is refused by its name.
  options: [
    { name: '--notrack', args: 0 },
    { name: '--zone', args: 1 },
    { name: '--zone-orig', args: 1 },
    { name: '--zone-reply', args: 1 },
    { name: '--helper', args: 1 },
    { name: '--ctevents', args: 1 },
    { name: '--expevents', args: 1 },
    { name: '--timeout', args: 1 },
  ],
  compile: (options, facts) => {
    const other = options.find((o) => o.name !== '--notrack' && o.name !== '--zone' && o.name !== '--helper');
    if (other)
      return `${other.name} (direction zones, events, timeouts) is not modelled by knetsim; --notrack, --zone and --helper are`;
    if (options.some((o) => o.name === '--notrack')) return { kind: 'NOTRACK' };
    const zone = ctZone(options);
    if (typeof zone === 'string') return zone;
    const helper = options.find((o) => o.name === '--helper')?.args[0];
    if (helper !== undefined && !hasConntrackHelper(helper, facts.protocol))
      return `the kernel has no conntrack helper "${helper}" for ${facts.protocol ? `-p ${facts.protocol}` : 'a rule without -p'} (it refuses the rule: No such file or directory)`;
    // No option (or zone 0): the template changes nothing; the packet is tracked as it would be.
    if (zone === 0 && helper === undefined)
      return { kind: 'CONTINUE', apply: () => 'conntrack template: nothing changed (zone 0)' };
    const said = [
      ...(zone !== 0 ? [`conntrack zone ${zone}: the connection is looked up and kept there`] : []),
      ...(helper !== undefined
        ? [
            `conntrack helper ${helper}: it watches the connection for the ones it announces (related connections are not modelled)`,
          ]
        : []),
    ].join('; ');
    return {
      kind: 'CONTINUE',
      apply: (p) => {
        if (zone !== 0) p.ctZone = zone;
        if (helper !== undefined) p.ctHelper = helper;
        return said;
      },
    };
  },
};

/** CT --zone's id (0 when absent), as libxt_CT reads it; "mark" (the zone from the packet mark) is not modelled. */
export function ctZone(options: readonly ParsedOption[]): number | string {
  const o = options.find((x) => x.name === '--zone');
  if (!o) return 0;
  const text = o.args[0] ?? '';
  if (text === 'mark') return '--zone mark (the zone from the packet mark) is not modelled';
  const zone = parseCNumber(text, 65535);
  return zone === null ? `Cannot parse ${text} as a zone ID` : zone;
}
