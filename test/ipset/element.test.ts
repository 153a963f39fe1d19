import { describe, expect, it } from 'vitest';
import {
  formatElement,
  formatPortSpec,
  normalizeCreateOptions,
  parseElement,
  parsePortSpec,
  rangeToPrefixes,
} from '../../src/ipset/index';
import { tokenizeRestoreLine } from '../../src/ipset/restore-line';
import { formatIPv4Prefix, parseIPv4 } from '../../src/net/ipv4';

const printed = (type: Parameters<typeof parseElement>[0], text: string) => {
  const keys = parseElement(type, text);
  if (!keys.ok) throw new Error(keys.error);
  return keys.value.map((k) => formatElement(type, k));
};

describe('elements as ipset reads and prints them', () => {
  it('prints hash:net /32 entries as plain addresses and clears host bits', () => {
    expect(printed('hash:net', '10.1.2.3/32')).toEqual(['10.1.2.3']);
    expect(printed('hash:net', '10.1.2.3/24')).toEqual(['10.1.2.0/24']);
    expect(printed('hash:ip,port,net', '1.1.1.1,tcp:80,10.0.0.1/32')).toEqual(['1.1.1.1,tcp:80,10.0.0.1']);
  });

  it('defaults the protocol to tcp and names protocols as /etc/protocols does', () => {
    expect(printed('hash:ip,port', '10.96.0.1,443')).toEqual(['10.96.0.1,tcp:443']);
    expect(printed('hash:ip,port', '10.96.0.1,TCP:443')).toEqual(['10.96.0.1,tcp:443']);
    expect(printed('hash:ip,port', '10.96.0.1,6:443')).toEqual(['10.96.0.1,tcp:443']);
    expect(printed('hash:ip,port', '10.96.0.1,200:0')).toEqual(['10.96.0.1,200:0']);
    expect(printed('hash:ip,port', '10.96.0.1,icmp:ping')).toEqual(['10.96.0.1,icmp:echo-request']);
    expect(printed('hash:ip,port', '10.96.0.1,icmp:30/1')).toEqual(['10.96.0.1,icmp:30/1']);
  });

  it('expands CIDRs and address or port ranges into every element they stand for', () => {
    expect(printed('hash:ip', '10.0.0.0/30')).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(printed('hash:ip,port', '10.0.0.0/31,udp:54-53')).toEqual([
      '10.0.0.0,udp:53',
      '10.0.0.0,udp:54',
      '10.0.0.1,udp:53',
      '10.0.0.1,udp:54',
    ]);
    expect(printed('hash:net', '10.3.0.0-10.3.0.9')).toEqual(['10.3.0.0/29', '10.3.0.8/31']);
    expect(printed('bitmap:port', 'tcp:81-82')).toEqual(['81', '82']);
  });

  it('decomposes address ranges into the fewest networks', () => {
    const prefixes = (a: string, b: string) => rangeToPrefixes(parseIPv4(a)!, parseIPv4(b)!).map(formatIPv4Prefix);
    expect(prefixes('10.0.0.1', '10.0.0.6')).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    expect(prefixes('0.0.0.0', '255.255.255.255')).toEqual(['0.0.0.0/1', '128.0.0.0/1']);
  });

  it('reads port specs', () => {
    expect(parsePortSpec('udp:53')).toEqual({ ok: true, value: { proto: 17, first: 53, last: 53 } });
    expect(parsePortSpec('0x50')).toEqual({ ok: true, value: { proto: 6, first: 80, last: 80 } });
    expect(formatPortSpec(132, 9)).toBe('sctp:9');
  });
});

describe('create options', () => {
  it('normalises as the kernel stores them', () => {
    const r = normalizeCreateOptions('hash:ip', { hashsize: 1000, bucketsize: 13, initval: 5, netmask: 32 });
    expect(r).toEqual({
      ok: true,
      value: {
        hashsize: 1024,
        maxelem: 65536,
        counters: false,
        comment: false,
        forceadd: false,
        skbinfo: false,
        bucketsize: 12,
        initval: 5,
      },
    });
  });
});

describe('restore line words', () => {
  it('splits on blanks, groups quoted text, drops quotes and empty words, keeps backslashes', () => {
    expect(tokenizeRestoreLine('add  A\t1.1.1.1 comment "a  b" x"y z" "" back\\slash')).toEqual({
      ok: true,
      value: ['add', 'A', '1.1.1.1', 'comment', 'a  b', 'xy z', 'back\\slash'],
    });
  });
});
