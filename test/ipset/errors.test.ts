import { describe, expect, it } from 'vitest';
import { addElement, applyIpsetRestore, createRegistry, createSet, parseIpsetSave } from '../../src/ipset/index';

/** The error of restoring `text` as file node.ipset, or a failure when it succeeds. */
function errorOf(text: string) {
  const result = parseIpsetSave(text, { source: 'node.ipset' });
  if (result.ok) throw new Error(`expected an error for ${JSON.stringify(text)}`);
  return result.error;
}

const HIP = 'create A hash:ip,port\n';

describe('bad restore input gives one located message', () => {
  it.each([
    // unknown or unmodelled set type
    ['create A hash:foo', 1, 'hash:foo', 'set type "hash:foo" is unknown'],
    // a name Object.prototype has (it made an internal error)
    ['create A constructor', 1, 'constructor', 'set type "constructor" is unknown'],
    ['create A hash:net,iface', 1, 'hash:net,iface', 'set type "hash:net,iface" is not modelled by knetsim'],
    // bad elements
    // what the kernel refuses to store (checked with ipset 7.17 in a netns)
    [
      'create A hash:ip\nadd A 0.0.0.0',
      2,
      '0.0.0.0',
      '"0.0.0.0" is not a valid hash:ip element: Null-valued element, cannot be stored in a hash type of set',
    ],
    [
      'create A hash:ip netmask 8\nadd A 0.1.2.3',
      2,
      '0.1.2.3',
      '"0.1.2.3" is not a valid hash:ip element: Null-valued element, cannot be stored in a hash type of set',
    ],
    [
      `${HIP}add A 0.0.0.0,tcp:80`,
      2,
      '0.0.0.0,tcp:80',
      '"0.0.0.0,tcp:80" is not a valid hash:ip,port element: Invalid argument: 0.0.0.0 cannot be stored',
    ],
    [
      'create A bitmap:port range 0-100\nadd A sctp:80',
      2,
      'sctp:80',
      '"sctp:80" is not a valid bitmap:port element: Only protocols TCP and UDP are valid',
    ],
    [
      `${HIP}add A 10.0.0.1,udp:ssh`,
      2,
      '10.0.0.1,udp:ssh',
      '"10.0.0.1,udp:ssh" is not a valid hash:ip,port element: udp port "ssh" is not a number',
    ],
    [
      'create A hash:net\nadd A 10.0.0.0/08',
      2,
      '10.0.0.0/08',
      '"10.0.0.0/08" is not a valid hash:net element: prefix length "08" is not a number',
    ],
    [
      `${HIP}\n\nadd A 10.0.0.300,tcp:80`,
      4,
      '10.0.0.300,tcp:80',
      '"10.0.0.300,tcp:80" is not a valid hash:ip,port element: "10.0.0.300" is not an IPv4 address',
    ],
    [
      `${HIP}add A 10.0.0.1`,
      2,
      '10.0.0.1',
      '"10.0.0.1" is not a valid hash:ip,port element: it has 1 part, hash:ip,port elements have 2',
    ],
    [
      `${HIP}add A 10.0.0.1,bogus:5`,
      2,
      '10.0.0.1,bogus:5',
      '"10.0.0.1,bogus:5" is not a valid hash:ip,port element: "bogus" is not a protocol',
    ],
    [
      `${HIP}add A 10.0.0.1,gre:5`,
      2,
      '10.0.0.1,gre:5',
      '"10.0.0.1,gre:5" is not a valid hash:ip,port element: protocol gre can be used with pseudo port value 0 only',
    ],
    [
      `${HIP}add A 10.0.0.1,icmp:8`,
      2,
      '10.0.0.1,icmp:8',
      '"10.0.0.1,icmp:8" is not a valid hash:ip,port element: "8" is not an ICMP type name or TYPE/CODE',
    ],
    [
      'create A hash:ip\nadd A 010.0.0.1',
      2,
      '010.0.0.1',
      '"010.0.0.1" is not a valid hash:ip element: "010.0.0.1" has leading zeros, which ipset reads as octal',
    ],
    [
      'create A hash:ip,port,ip\nadd A 10.0.0.1,tcp:1,10.0.0.0/24',
      2,
      '10.0.0.1,tcp:1,10.0.0.0/24',
      '"10.0.0.1,tcp:1,10.0.0.0/24" is not a valid hash:ip,port,ip element: "10.0.0.0/24" must be a plain IP address',
    ],
    [
      'create A hash:ip\nadd A 10.0.0.0/8',
      2,
      '10.0.0.0/8',
      '"10.0.0.0/8" is not a valid hash:ip element: it expands to 16777216 elements; knetsim adds at most 65536 at once',
    ],
    // ports out of range
    [
      `${HIP}add A 10.0.0.1,tcp:70000`,
      2,
      '10.0.0.1,tcp:70000',
      '"10.0.0.1,tcp:70000" is not a valid hash:ip,port element: tcp port 70000 is out of range 0-65535',
    ],
    [
      `${HIP}add A 10.0.0.1,udp:080`,
      2,
      '10.0.0.1,udp:080',
      '"10.0.0.1,udp:080" is not a valid hash:ip,port element: udp port "080" is not a number',
    ],
    ['create A bitmap:port range 10-20\nadd A 21', 2, '21', 'port 21 is outside the range 10-20 of set "A"'],
    ['create A bitmap:port range 0-65536', 1, '65536', 'port 65536 is out of range 0-65535'],
    // bad CIDRs
    [
      'create A hash:net\nadd A 10.0.0.0/33',
      2,
      '10.0.0.0/33',
      '"10.0.0.0/33" is not a valid hash:net element: prefix length 33 is out of range 1-32',
    ],
    [
      'create A hash:net\nadd A 10.0.0.0/0',
      2,
      '10.0.0.0/0',
      '"10.0.0.0/0" is not a valid hash:net element: prefix length 0 is out of range 1-32',
    ],
    [
      'create A hash:net\nadd A 10.0.0.0/x',
      2,
      '10.0.0.0/x',
      '"10.0.0.0/x" is not a valid hash:net element: prefix length "x" is not a number',
    ],
    // missing sets, duplicates
    ['add NOPE 1.2.3.4', 1, 'NOPE', 'set "NOPE" does not exist'],
    ['create A hash:ip\ncreate A hash:ip', 2, 'A', 'set "A" already exists'],
    ['create A hash:ip\nadd A 1.2.3.4\nadd A 1.2.3.4', 3, '1.2.3.4', '"1.2.3.4" is already in set "A"'],
    ['create A hash:ip\ndel A 1.2.3.4', 2, '1.2.3.4', '"1.2.3.4" is not in set "A"'],
    ['create A hash:ip maxelem 1\nadd A 1.1.1.1\nadd A 1.1.1.2', 3, '1.1.1.2', 'set "A" is full (maxelem 1)'],
    // element options the set does not support or that are malformed
    [
      'create A hash:ip\nadd A 1.2.3.4 timeout 5',
      2,
      'timeout',
      'timeout cannot be used: the set was created without timeout support',
    ],
    [
      'create A hash:ip\nadd A 1.2.3.4 comment "x"',
      2,
      'comment',
      'comment cannot be used: the set was created without comment support',
    ],
    ['create A hash:ip\nadd A 1.2.3.4 nomatch', 2, 'nomatch', '"nomatch" is not an option of hash:ip elements'],
    ['create A hash:ip comment\nadd A 1.2.3.4 comment ""', 2, 'comment', 'element option "comment" needs a value'],
    [
      'create A hash:ip comment\nadd A 1.2.3.4 comment "x',
      2,
      'add A 1.2.3.4 comment "x',
      'a double quote is not closed',
    ],
    [
      'create A hash:ip timeout 1\nadd A 1.2.3.4 timeout 2147484',
      2,
      '2147484',
      'timeout 2147484 is out of range 0-2147483',
    ],
    ['create A hash:ip\nadd A 1.2.3.4 bogus', 2, 'bogus', '"bogus" is not an element option'],
    // create options
    ['create A hash:ip bogus 1', 1, 'bogus', '"bogus" is not a create option of hash:ip'],
    ['create A hash:net netmask 24', 1, 'netmask', '"netmask" is not a create option of hash:net'],
    ['create A hash:ip hashsize 1 hashsize 2', 1, 'hashsize', 'create option "hashsize" is given twice'],
    ['create A hash:ip hashsize 1e3', 1, '1e3', 'hashsize "1e3" is not a number'],
    ['create A hash:ip family inet6', 1, 'inet6', 'family inet6 is not modelled by knetsim'],
    ['create A bitmap:port', 1, 'bitmap:port', 'bitmap:port needs the "range" option'],
    [
      'create A-VERY-LONG-NAME-THAT-EXCEEDS-31 hash:ip',
      1,
      'A-VERY-LONG-NAME-THAT-EXCEEDS-31',
      'set name "A-VERY-LONG-NAME-THAT-EXCEEDS-31" is longer than 31 characters',
    ],
    // commands
    ['frob A', 1, 'frob', '"frob" is not an ipset restore command'],
    ['create A', 1, 'create', 'usage: create NAME TYPE [OPTIONS]'],
    ['create A hash:ip\nflush A B', 2, 'B', '"B" is one word too many: flush [NAME]'],
    ['create A hash:ip\ncreate B hash:net\nswap A B', 3, 'B', 'sets "A" and "B" cannot be swapped: their types differ'],
  ])('%j', (text, line, token, reason) => {
    expect(errorOf(text)).toEqual({
      source: 'node.ipset',
      line,
      token,
      reason,
      message: `node.ipset: line ${line}: ${reason}`,
    });
  });

  it('names the input "ipset restore" unless told otherwise', () => {
    const result = parseIpsetSave('bogus');
    expect(result.ok ? '' : result.error.message).toBe(
      'ipset restore: line 1: "bogus" is not an ipset restore command',
    );
  });
});

describe('-exist', () => {
  it('accepts re-creating a set with the same definition but not with another', () => {
    const text = 'create A hash:ip hashsize 64\ncreate A hash:ip hashsize 4096\n';
    expect(parseIpsetSave(text, { exist: true }).ok).toBe(true);
    const other = parseIpsetSave('create A hash:ip\ncreate A hash:ip timeout 5\n', { exist: true });
    expect(other.ok ? '' : other.error.reason).toBe('set "A" already exists');
  });

  it('turns re-adding into an update that keeps counters, and deleting a missing element into nothing', () => {
    const text =
      'create A hash:ip counters comment\nadd A 1.1.1.1 packets 5 bytes 9 comment "old"\nadd A 1.1.1.1 comment "new"\ndel A 2.2.2.2\n';
    const result = parseIpsetSave(text, { exist: true });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.value.sets.get('A')!.entries.values()][0]!.options).toEqual({
      packets: 5n,
      bytes: 9n,
      comment: 'new',
    });
  });
});

describe('applyIpsetRestore', () => {
  it('leaves the base registry untouched, also when a line fails', () => {
    const base = parseIpsetSave('create A hash:ip\nadd A 1.1.1.1\n');
    if (!base.ok) throw new Error('base');
    const next = applyIpsetRestore(base.value, 'add A 2.2.2.2\nflush A\nadd A 3.3.3.3\n');
    expect(next.ok && next.value.sets.get('A')!.entries.size).toBe(1);
    expect(base.value.sets.get('A')!.entries.size).toBe(1);
    const failed = applyIpsetRestore(base.value, 'add A 4.4.4.4\nadd A bad\n');
    expect(failed.ok).toBe(false);
    expect([...base.value.sets.get('A')!.entries.keys()]).toHaveLength(1);
    expect(applyIpsetRestore(createRegistry(), 'destroy').ok).toBe(true);
  });
});

describe('programmatic set building reports the same problems', () => {
  it('creates, adds and refuses like restore does', () => {
    expect(createSet('X', 'bitmap:port')).toEqual({
      ok: false,
      error: { token: 'bitmap:port', reason: 'bitmap:port needs the "range" option' },
    });
    const set = createSet('KUBE-CLUSTER-IP', 'hash:ip,port', { comment: true });
    if (!set.ok) throw new Error('create');
    expect(addElement(set.value, '10.96.0.10,udp:53', { comment: 'dns' }, { exist: true })).toEqual({
      ok: true,
      value: 1,
    });
    expect(addElement(set.value, '10.96.0.10,udp:53', { timeout: 5 })).toEqual({
      ok: false,
      error: { token: 'timeout', reason: 'timeout cannot be used: the set was created without timeout support' },
    });
  });
});
