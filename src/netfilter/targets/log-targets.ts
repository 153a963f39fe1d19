// Targets that only observe or tag: LOG, NFLOG, TRACE, NOTRACK (and CT --notrack, its newer spelling).
import { formatIPv4 } from '../../net';
import type { TargetExtension } from '../extension';

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
    const prefix = options.find((o) => o.name === '--log-prefix')?.args[0] ?? '';
    if (prefix.length > 29) return 'Maximum prefix length 29 for --log-prefix';
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
    const prefix = options.find((o) => o.name === '--nflog-prefix')?.args[0] ?? '';
    if (prefix.length > 63) return 'Maximum prefix length 63 for --nflog-prefix';
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
  options: [{ name: '--notrack', args: 0 }],
  compile: (options) =>
    options.some((o) => o.name === '--notrack') ? { kind: 'NOTRACK' } : 'only --notrack is modelled',
};
