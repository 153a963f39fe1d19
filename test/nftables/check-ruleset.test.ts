// What a ruleset the kernel would refuse gets, read from `nft list ruleset` or an
// `nft -f` transaction: one error naming the table, chain (or set) and what is wrong.
import { describe, expect, it } from 'vitest';
import { loadNftTransaction, parseNftList } from '../../src/nftables';

/** A list-form table with one output base chain holding these lines, plus other chains and sets. */
function listed(lines: readonly string[], more: readonly string[] = []): string {
  return [
    'table ip t {',
    ...more,
    '\tchain c {',
    '\t\ttype filter hook output priority filter; policy accept;',
    ...lines.map((l) => `\t\t${l}`),
    '\t}',
    '}',
  ].join('\n');
}

const problem = (text: string) => {
  const r = parseNftList(text);
  return r.ok ? null : r.message;
};

describe('a ruleset the kernel would refuse', () => {
  const CASES: ReadonlyArray<readonly [string, string, string]> = [
    [
      'a loop of jumps (it hung the walk)',
      listed(['jump a'], ['\tchain a {', '\t\tjump b', '\t}', '\tchain b {', '\t\tjump a', '\t}']),
      'table ip t: chains a -> b -> a form a loop',
    ],
    [
      'a loop through a verdict map',
      listed(['jump a'], ['\tchain a {', '\t\tip daddr vmap { 10.0.0.1 : goto a }', '\t}']),
      'table ip t: chains a -> a form a loop',
    ],
    ['a jump to nowhere', listed(['jump nosuch']), 'table ip t: chain c: jump to a chain that does not exist: nosuch'],
    [
      'a goto to nowhere in a verdict map',
      listed(['ip daddr vmap { 10.0.0.1 : goto service-NOPE }']),
      'table ip t: chain c: jump to a chain that does not exist: service-NOPE',
    ],
    [
      'a missing set',
      listed(['ip daddr @nosuchset drop']),
      'table ip t: chain c: set or map that does not exist: @nosuchset',
    ],
    [
      'an address out of range',
      listed(['ip daddr 10.0.0.256 drop']),
      'table ip t: chain c: rule "ip daddr 10.0.0.256 drop": "10.0.0.256" is not an IPv4 address, prefix or range',
    ],
    [
      'a prefix too long',
      listed(['ip daddr 10.0.0.0/33 drop']),
      'table ip t: chain c: rule "ip daddr 10.0.0.0/33 drop": "10.0.0.0/33" is not an IPv4 address, prefix or range',
    ],
    [
      'a mark that is no number',
      listed(['meta mark 0xZZ drop']),
      'table ip t: chain c: rule "meta mark 0xZZ drop": "0xZZ" is not a 32-bit value',
    ],
    [
      'a connection state nft does not know',
      listed(['ct state frob drop']),
      'table ip t: chain c: rule "ct state frob drop": "frob" is not a connection state',
    ],
    [
      'a port range going down',
      listed(['tcp dport 90-80 drop']),
      'table ip t: chain c: rule "tcp dport 90-80 drop": "90-80" is not a port, port range (0-65535) or service name',
    ],
    [
      'a service nft cannot resolve',
      listed(['tcp dport frobsvc drop']),
      'table ip t: chain c: rule "tcp dport frobsvc drop": "frobsvc" is not a port, port range (0-65535) or service name',
    ],
    [
      'service names as a range (nft reads "ssh-http" as one name)',
      listed(['tcp dport ssh-http drop']),
      'table ip t: chain c: rule "tcp dport ssh-http drop": "ssh-http" is not a port, port range (0-65535) or service name',
    ],
    [
      'a set element of the wrong arity',
      listed([], ['\tset s {', '\t\ttype ipv4_addr . inet_service', '\t\telements = { 10.0.0.1 }', '\t}']),
      'table ip t: set s: element 10.0.0.1 has 1 parts, the key 2',
    ],
    [
      'a set element port out of range',
      listed([], ['\tset s {', '\t\ttype ipv4_addr . inet_service', '\t\telements = { 10.0.0.1 . 99999 }', '\t}']),
      'table ip t: set s: element 10.0.0.1 . 99999: "99999" is not a port, port range (0-65535) or service name',
    ],
    [
      'a set of a type nft does not know',
      listed([], ['\tset s {', '\t\ttype frob_addr', '\t}']),
      'table ip t: set s: unknown type "frob_addr"',
    ],
    [
      'a statement after the verdict',
      listed(['accept drop']),
      'table ip t: chain c: rule "accept drop": nothing may follow its verdict',
    ],
    [
      'NAT in a filter chain',
      listed(['meta l4proto tcp dnat to 10.244.1.5:8080']),
      'table ip t: chain c: rule "meta l4proto tcp dnat to 10.244.1.5:8080": NAT in a chain of type filter',
    ],
  ];

  it.each(CASES)('%s', (_, text, message) => {
    expect(problem(text)).toBe(message);
  });

  it('the same checks run on an nft -f transaction', () => {
    const r = loadNftTransaction(
      [
        'add table ip t',
        'add chain ip t out { type filter hook output priority 0 ; }',
        'add chain ip t a',
        'add chain ip t b',
        'add rule ip t a jump b',
        'add rule ip t b jump a',
        'add rule ip t out jump a',
      ].join('\n'),
      'x.nft',
    );
    expect(r.ok ? null : r.message).toBe('x.nft: table ip t: chains a -> b -> a form a loop');
  });

  it('takes a loop no base chain reaches, typeof and other set types, and a deep chain of jumps (nft 1.0.6 in a netns)', () => {
    expect(problem(listed([], ['\tchain a {', '\t\tjump b', '\t}', '\tchain b {', '\t\tjump a', '\t}']))).toBe(null);
    expect(
      problem(
        listed(
          ['ip daddr @v4 accept'],
          [
            '\tset v4 {',
            '\t\ttypeof ip daddr',
            '\t\telements = { 10.0.0.1 }',
            '\t}',
            '\tset v6 {',
            '\t\ttype ipv6_addr',
            '\t}',
            '\tset mac {',
            '\t\ttype ether_addr',
            '\t}',
          ],
        ),
      ),
    ).toBe(null);
    // 20,000 chains jumping one to the next (a recursive search overflowed the stack).
    const deep = Array.from({ length: 20_000 }, (_, i) => [`\tchain d${i} {`, `\t\tjump d${i + 1}`, '\t}']).flat();
    expect(problem(listed(['jump d0'], [...deep, '\tchain d20000 {', '\t\taccept', '\t}']))).toBe(null);
  });

  it('takes what nft takes: port names and ranges, masks, flags, NAT in a nat chain', () => {
    const text = [
      'table ip t {',
      '\tset s {',
      '\t\ttype ipv4_addr . inet_proto . inet_service',
      '\t\telements = { 10.0.0.1 . tcp . 80, 10.0.0.2 . udp . 53 }',
      '\t}',
      '\tchain c {',
      '\t\ttype nat hook output priority -100; policy accept;',
      '\t\ttcp dport ssh accept',
      '\t\ttcp dport 1000-2000 accept',
      '\t\tmeta mark & 0x4000 == 0x4000 accept',
      '\t\tct state established,related accept',
      '\t\tct status dnat accept',
      '\t\tip daddr . meta l4proto . th dport @s accept',
      '\t\tip daddr 10.0.0.1-10.0.0.9 meta l4proto tcp dnat to 10.244.1.5:8080',
      '\t}',
      '}',
    ].join('\n');
    expect(problem(text)).toBe(null);
  });
});
