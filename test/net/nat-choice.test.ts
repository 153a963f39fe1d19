// The address of a NAT range a connection gets, against what this machine's kernel chose: eight
// local datagrams from 127.0.0.1-8 to 127.0.0.1:9, DNATed to 127.0.0.10-127.0.0.40 in nat OUTPUT,
// the address each arrived at read with IP_PKTINFO (with and without --persistent).
import { describe, expect, it } from 'vitest';
import { formatIPv4, natRangeAddress, parseIPv4 } from '../../src/net';

const ip = (text: string) => parseIPv4(text)!;
const picks = (persistent: boolean) =>
  [1, 2, 3, 4, 5, 6, 7, 8].map((i) =>
    formatIPv4(natRangeAddress(ip('127.0.0.10'), ip('127.0.0.40'), ip(`127.0.0.${i}`), ip('127.0.0.1'), persistent)),
  );

describe('NAT range address choice (find_best_ips_proto)', () => {
  it('hashes the source with the original destination, as the kernel did', () => {
    expect(picks(false)).toEqual([
      '127.0.0.22',
      '127.0.0.25',
      '127.0.0.40',
      '127.0.0.13',
      '127.0.0.28',
      '127.0.0.15',
      '127.0.0.40',
      '127.0.0.14',
    ]);
  });
  it('--persistent: the source alone', () => {
    expect(picks(true)).toEqual([
      '127.0.0.13',
      '127.0.0.31',
      '127.0.0.39',
      '127.0.0.27',
      '127.0.0.37',
      '127.0.0.10',
      '127.0.0.16',
      '127.0.0.31',
    ]);
  });
  it('a single address is that address; the widest range stays in bounds', () => {
    expect(natRangeAddress(ip('10.0.0.1'), ip('10.0.0.1'), ip('1.2.3.4'), ip('5.6.7.8'), false)).toBe(ip('10.0.0.1'));
    for (let i = 0; i < 50; i++) {
      const a = natRangeAddress(0, 0xffffffff, (i * 2654435761) >>> 0, 0x0a000001, false);
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(0xffffffff);
    }
  });
});
