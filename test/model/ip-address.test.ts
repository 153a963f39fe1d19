import { describe, expect, it } from 'vitest';
import { cidrContains, formatIP, parseCIDR, parseIP } from '../../src/model';

describe('IP addresses', () => {
  it('parses IPv4, reading leading zeros as decimal', () => {
    expect(parseIP('172.30.0.041')).toEqual({
      family: 'IPv4',
      value: 0xac1e0029n,
      text: '172.30.0.41',
      leadingZeros: true,
    });
    expect(parseIP('10.0.0.1')?.leadingZeros).toBe(false);
    for (const bad of ['10.0.0.256', '10.0.0', '10.0.0.1.2', ' 10.0.0.1', '10.0.0.0001', 'a.b.c.d', '']) {
      expect(parseIP(bad)).toBeUndefined();
    }
  });

  it('parses IPv6 and prints it canonically (RFC 5952, as Go does)', () => {
    expect(parseIP('2001:0DB8:0000:0000:0000:0000:0000:0001')?.text).toBe('2001:db8::1');
    expect(parseIP('2001:db8:0:1:0:0:0:1')?.text).toBe('2001:db8:0:1::1');
    expect(parseIP('1:0:0:2:0:0:0:3')?.text).toBe('1:0:0:2::3');
    expect(parseIP('1:0:2:3:4:5:6:7')?.text).toBe('1:0:2:3:4:5:6:7');
    expect(parseIP('::')?.text).toBe('::');
    expect(parseIP('fe80::1%eth0')).toBeUndefined();
    expect(parseIP('1::2::3')).toBeUndefined();
  });

  it('treats IPv4-mapped IPv6 as IPv4, as Go does', () => {
    expect(parseIP('::ffff:10.1.2.3')).toMatchObject({ family: 'IPv4', text: '10.1.2.3' });
  });

  it('parses CIDRs to their network and tests membership', () => {
    const cidr = parseCIDR('10.244.1.7/24')!;
    expect(cidr.text).toBe('10.244.1.0/24');
    expect(cidrContains(cidr, parseIP('10.244.1.255')!)).toBe(true);
    expect(cidrContains(cidr, parseIP('10.244.2.0')!)).toBe(false);
    expect(parseCIDR('2001:db8::1/64')?.text).toBe('2001:db8::/64');
    expect(parseCIDR('10.0.0.0/33')).toBeUndefined();
    expect(parseCIDR('10.0.0.0')).toBeUndefined();
    expect(formatIP('IPv4', 0n)).toBe('0.0.0.0');
  });
});
