// Test helpers: real servers by address text, in the order the test lists them (kernel list order).

import { makeRealServer, type RealServer, type RealServerSpec } from '../../src/ipvs/index';
import { parseIPv4 } from '../../src/net/index';

export function ip(text: string): number {
  const a = parseIPv4(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}

export function srv(addr: string, spec: Partial<RealServerSpec> = {}): RealServer {
  return makeRealServer({ address: ip(addr), port: 80, ...spec });
}

export const pkt = (src: string, sport = 40000, dst = '10.96.0.10', dport = 80) => ({
  src: ip(src),
  sport,
  dst: ip(dst),
  dport,
});
