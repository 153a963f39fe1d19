// SET adds the packet's element to an ipset, or deletes it (xt_set's target, revision
// 3), so later rules and later packets meet the changed set: a port scanner caught by
// one rule is dropped by the next. The change lives in the flow (FlowState.setEdits);
// the node's sets learn it from a sampled connection, as the kernel's would.
// --map-set (copying an element's skb mark, priority or queue) is not modelled.
import { optionOf, type ParsedOption, type SetEdit, type TargetExtension } from '../extension';
import { parseCNumber } from '../values';

type Flags = readonly ('src' | 'dst')[];

export interface SetTargetSpec {
  readonly add: { readonly name: string; readonly flags: Flags } | null;
  readonly del: { readonly name: string; readonly flags: Flags } | null;
  readonly exist: boolean;
  /** Seconds an added element lives (null: the set's default). */
  readonly timeout: number | null;
}

function flagsOf(text: string): Flags | string {
  const flags = text.split(',');
  if (flags.length > 6) return "Can't be more src/dst options than 6.";
  if (flags.some((f) => f !== 'src' && f !== 'dst'))
    return "You must spefify (the comma separated list of) 'src' or 'dst'.";
  return flags as Flags;
}

export function setTargetSpec(options: readonly ParsedOption[]): SetTargetSpec | string {
  const addOption = optionOf(options, '--add-set');
  const delOption = optionOf(options, '--del-set');
  const map = optionOf(options, '--map-set');
  const mapFlag = options.find((o) => o.name === '--map-mark' || o.name === '--map-prio' || o.name === '--map-queue');
  if (mapFlag && !map) return `Flag \`${mapFlag.name}' can be used with \`--map-set' only`;
  if (!addOption && !delOption && !map) return "You must specify either `--add-set' or `--del-set' or `--map-set'";
  if (map) return "--map-set (an element's skb mark, priority or queue) is not modelled";
  const read = (o: ParsedOption | undefined) => {
    if (!o) return null;
    const flags = flagsOf(o.args[1] ?? '');
    return typeof flags === 'string' ? flags : { name: o.args[0] ?? '', flags };
  };
  const add = read(addOption);
  if (typeof add === 'string') return add;
  const del = read(delOption);
  if (typeof del === 'string') return del;
  const timeoutOption = optionOf(options, '--timeout');
  const timeout = timeoutOption ? parseCNumber(timeoutOption.args[0] ?? '', 0xfffffffe) : null;
  if (timeoutOption && timeout === null) return 'bad value for option "--timeout", or out of range (0-4294967294).';
  return { add, del, exist: optionOf(options, '--exist') !== undefined, timeout };
}

/** The sets a SET rule names (each must exist when the rule is loaded). */
export function setsNamed(spec: SetTargetSpec): string[] {
  return [spec.add?.name, spec.del?.name].filter((n): n is string => n !== undefined);
}

export const setTarget: TargetExtension = {
  name: 'SET',
  options: [
    { name: '--add-set', args: 2 },
    { name: '--del-set', args: 2 },
    { name: '--map-set', args: 2 },
    { name: '--timeout', args: 1 },
    { name: '--exist', args: 0 },
    { name: '--map-mark', args: 0 },
    { name: '--map-prio', args: 0 },
    { name: '--map-queue', args: 0 },
  ],
  compile(options) {
    const spec = setTargetSpec(options);
    if (typeof spec === 'string') return spec;
    const said: string[] = [];
    if (spec.add) said.push(`adds the packet's ${spec.add.flags.join(',')} to set ${spec.add.name}`);
    if (spec.del) said.push(`deletes the packet's ${spec.del.flags.join(',')} from set ${spec.del.name}`);
    const text = said.join('; ');
    return {
      kind: 'CONTINUE',
      apply: (p, flow) => {
        const edits: SetEdit[] = [...flow.setEdits];
        const packet = { ...p };
        if (spec.add) edits.push({ set: spec.add.name, add: true, flags: spec.add.flags, packet });
        if (spec.del) edits.push({ set: spec.del.name, add: false, flags: spec.del.flags, packet });
        flow.setEdits = edits;
        return text;
      },
    };
  },
};

/** The target as libxt_SET (revision 3) prints it. */
export function setTargetText(spec: SetTargetSpec): string {
  let out = ' -j SET';
  if (spec.add) out += ` --add-set ${spec.add.name} ${spec.add.flags.join(',')}`;
  if (spec.exist) out += ' --exist';
  if (spec.timeout !== null) out += ` --timeout ${spec.timeout}`;
  if (spec.del) out += ` --del-set ${spec.del.name} ${spec.del.flags.join(',')}`;
  return out;
}
