// ipvsadm -R input with edits and deletions (what kube-proxy's IPVS sync amounts to),
// applied to a table: services and servers added, changed and removed; errors name
// the line and the token.
import { describe, expect, it } from 'vitest';
import { applyIpvsadmCommands, createIpvsTable, formatIpvsTableSave } from '../../src/ipvs';

const apply = (text: string, base = createIpvsTable()) => {
  const r = applyIpvsadmCommands(base, text, 'cmds');
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('applyIpvsadmCommands', () => {
  const base = apply(
    [
      '-A -t 10.96.0.1:443 -s rr',
      '-a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1',
      '-a -t 10.96.0.1:443 -r 10.244.2.2:6443 -m -w 1',
      '-A -u 10.96.0.10:53 -s rr',
    ].join('\n'),
  );

  it('-E changes the scheduler and persistence, -e a weight, -d and -D remove', () => {
    const t = apply(
      [
        '-E -t 10.96.0.1:443 -s wrr -p 10800',
        '-e -t 10.96.0.1:443 -r 10.244.2.2:6443 -m -w 0',
        '-d -t 10.96.0.1:443 -r 10.244.1.2:6443',
        '-D -u 10.96.0.10:53',
      ].join('\n'),
      base,
    );
    expect(formatIpvsTableSave(t)).toBe(
      '-A -t 10.96.0.1:443 -s wrr -p 10800\n-a -t 10.96.0.1:443 -r 10.244.2.2:6443 -m -w 0\n',
    );
    // The base table is not changed.
    expect(formatIpvsTableSave(base)).toContain('-A -u 10.96.0.10:53 -s rr');
  });

  it('names the line and the token of a command the kernel refuses', () => {
    const fields = (text: string) => {
      const r = applyIpvsadmCommands(base, text, 'cmds');
      return r.ok ? 'ok' : `${r.error.line} ${r.error.token} ${r.error.reason}`;
    };
    expect(fields('-d -t 10.96.0.1:443 -r 10.244.9.9:6443')).toBe('1 10.244.9.9:6443 No such destination');
    expect(fields('\n-E -t 10.96.0.2:80 -s rr')).toBe('2 10.96.0.2:80 Service not defined');
    expect(fields('-Z')).toBe('1 -Z unknown command "-Z" (modelled: -A -E -D -a -e -d)');
  });
});
