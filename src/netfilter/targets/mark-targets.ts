// MARK and CONNMARK: the packet and connection marks kube-proxy uses to flag
// traffic for masquerading (0x4000) and flannel uses to skip it.
import type { NfPacket, ParsedOption, TargetExtension } from '../extension';
import { hex, parseMarkMask, parseUint32 } from '../values';

/** The kernel's xt_mark_tginfo2: new = (old & ~mask) ^ value. */
interface XMark {
  readonly value: number;
  readonly mask: number;
}

/** Translates every MARK option form into the one operation the kernel stores (as libxt_MARK does). */
export function xmarkOf(option: ParsedOption): XMark | string {
  const arg = option.args[0] ?? '';
  if (option.name === '--set-xmark' || option.name === '--set-mark') {
    const mm = parseMarkMask(arg);
    if (!mm) return `bad MARK value "${arg}"`;
    return option.name === '--set-xmark' ? mm : { value: mm.value, mask: (mm.value | mm.mask) >>> 0 };
  }
  const bits = parseUint32(arg);
  if (bits === null) return `bad MARK value "${arg}"`;
  if (option.name === '--and-mark') return { value: 0, mask: ~bits >>> 0 };
  if (option.name === '--or-mark') return { value: bits, mask: bits };
  return { value: bits, mask: 0 }; // --xor-mark
}

export function applyXMark(mark: number, x: XMark): number {
  return ((mark & ~x.mask) ^ x.value) >>> 0;
}

/** The options that set a mark (MARK's, and CONNMARK's for the connection's). */
export const MARK_OPTIONS = ['--set-xmark', '--set-mark', '--and-mark', '--or-mark', '--xor-mark'];

export const markTarget: TargetExtension = {
  name: 'MARK',
  options: MARK_OPTIONS.map((name) => ({ name, args: 1 })),
  compile(options) {
    if (options.length !== 1) return 'exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark';
    const x = xmarkOf(options[0]!);
    if (typeof x === 'string') return x;
    return {
      kind: 'CONTINUE',
      apply: (p: NfPacket) => {
        const before = p.mark;
        p.mark = applyXMark(p.mark, x);
        return `mark ${hex(before)} -> ${hex(p.mark)}`;
      },
    };
  },
};

/**
 * What CONNMARK keeps (libxt_CONNMARK revision 1): the mark to set, or none for --save-mark and
 * --restore-mark, and the two masks. Options are read in order, each writing its fields: a
 * setter sets ctmask to its mask, --ctmask and --mask (both masks) then change it, so
 * "--set-mark 1 --mask 0xff" sets 0x1/0xff.
 */
export function connmarkOf(
  options: readonly ParsedOption[],
): { readonly set: XMark | null; readonly nfmask: number; readonly ctmask: number } | string {
  let set: XMark | null = null;
  let nfmask = 0xffffffff;
  let ctmask = 0xffffffff;
  // libxt_CONNMARK: --mask sets both masks, so it excludes either one given alone.
  const both = options.find((o) => o.name === '--mask');
  const one = options.find((o) => o.name === '--nfmask' || o.name === '--ctmask');
  if (both && one) return `option "${one.name}" cannot be used together with "--mask".`;
  for (const o of options) {
    if (MARK_OPTIONS.includes(o.name)) {
      const x = xmarkOf(o);
      if (typeof x === 'string') return x;
      set = x;
      ctmask = x.mask;
    } else if (o.name === '--mask' || o.name === '--nfmask' || o.name === '--ctmask') {
      const mask = parseUint32(o.args[0] ?? '');
      if (mask === null) return 'bad CONNMARK mask';
      if (o.name !== '--ctmask') nfmask = mask;
      if (o.name !== '--nfmask') ctmask = mask;
    }
  }
  return { set: set === null ? null : { value: set.value, mask: ctmask }, nfmask, ctmask };
}

export const connmarkTarget: TargetExtension = {
  name: 'CONNMARK',
  options: [
    ...MARK_OPTIONS.map((name) => ({ name, args: 1 })),
    { name: '--save-mark', args: 0 },
    { name: '--restore-mark', args: 0 },
    { name: '--nfmask', args: 1 },
    { name: '--ctmask', args: 1 },
    { name: '--mask', args: 1 },
  ],
  compile(options) {
    const kept = connmarkOf(options);
    if (typeof kept === 'string') return kept;
    const { set: x, nfmask, ctmask } = kept;
    const save = options.some((o) => o.name === '--save-mark');
    const restore = options.some((o) => o.name === '--restore-mark');
    if ([save, restore, x !== null].filter(Boolean).length !== 1)
      return 'one of --set-mark, --save-mark or --restore-mark';
    return {
      kind: 'CONTINUE',
      apply: (p: NfPacket) => {
        if (!p.ct) return 'no connection to mark';
        const before = p.ct.mark;
        let next = before;
        if (x) next = applyXMark(before, x);
        else if (save) next = ((before & ~ctmask) ^ (p.mark & nfmask)) >>> 0;
        else {
          p.mark = ((p.mark & ~nfmask) ^ (before & ctmask)) >>> 0;
          return `mark restored to ${hex(p.mark)}`;
        }
        p.ct = { ...p.ct, mark: next };
        return `ctmark ${hex(before)} -> ${hex(next)}`;
      },
    };
  },
};
