// VXLAN encapsulation (headers, byte counts, per-flow source port) and what an
// oversized packet meets at a device's MTU (ICMP frag-needed or fragments).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkMtu,
  makePacket,
  type Packet,
  parseIPv4,
  VXLAN_OVERHEAD,
  VXLAN_SOURCE_PORT_END,
  VXLAN_SOURCE_PORT_MIN,
  vxlanDecapsulate,
  vxlanEncapsulate,
  vxlanSourcePort,
} from '../../src/net';

const ip = (t: string) => parseIPv4(t)!;
const device = { name: 'flannel.1', vni: 1, port: 8472, local: ip('192.168.1.11') };
const tcp = (sport: number, length = 60): Packet =>
  makePacket({ src: ip('10.244.1.5'), dst: ip('10.244.2.7'), protocol: 'tcp', sport, dport: 8080, length });

describe('VXLAN encapsulation', () => {
  it('wraps the inner packet in UDP to port 8472 between the VTEPs, 50 bytes larger, without DF', () => {
    const inner = tcp(40000, 1450);
    const e = vxlanEncapsulate(inner, device, ip('192.168.1.12'));
    expect(e.vni).toBe(1);
    expect(e.outer).toMatchObject({ src: ip('192.168.1.11'), dst: ip('192.168.1.12'), protocol: 'udp', dport: 8472 });
    expect(e.outer.length).toBe(1500);
    expect(VXLAN_OVERHEAD).toBe(50);
    expect(e.outer.df).toBe(false);
    expect(e.frameBytes).toBe(1514);
    expect(e.outer.inner).toBe(inner);
    expect(vxlanDecapsulate(e.outer, { ...device, local: ip('192.168.1.12') })).toBe(inner);
    expect(vxlanDecapsulate(e.outer, device)).toBeNull();
  });

  it('gives every packet of a flow the same outer source port, inside 32768-60999', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 40, max: 1450 }), (sport, length) => {
        const port = vxlanSourcePort(tcp(sport, length));
        expect(port).toBe(vxlanSourcePort(tcp(sport, 60)));
        expect(port).toBeGreaterThanOrEqual(VXLAN_SOURCE_PORT_MIN);
        expect(port).toBeLessThan(VXLAN_SOURCE_PORT_END);
      }),
    );
  });

  it('spreads different flows over many source ports (for ECMP on the underlay)', () => {
    const ports = new Set(Array.from({ length: 1000 }, (_, i) => vxlanSourcePort(tcp(30000 + i))));
    expect(ports.size).toBeGreaterThan(950);
  });
});

describe('MTU', () => {
  it('passes a packet that fits', () => {
    expect(checkMtu(tcp(1, 1450), 1450)).toEqual({ kind: 'fits' });
  });
  it('drops a too-large packet with DF and answers ICMP fragmentation needed with the MTU', () => {
    expect(checkMtu(tcp(1, 1500), 1450)).toEqual({ kind: 'frag-needed', mtu: 1450, icmp: { type: 3, code: 4 } });
  });
  it('fragments a too-large packet without DF into 8-byte-aligned pieces that add up', () => {
    fc.assert(
      fc.property(fc.integer({ min: 68, max: 9000 }), fc.integer({ min: 21, max: 65535 }), (mtu, length) => {
        const v = checkMtu({ ...tcp(1, length), df: false }, mtu);
        if (length <= mtu) {
          expect(v.kind).toBe('fits');
          return;
        }
        if (v.kind !== 'fragmented') expect.fail(v.kind);
        const payloads = v.fragments.map((f) => f.length - 20);
        expect(payloads.reduce((a, b) => a + b, 0)).toBe(length - 20);
        for (const f of v.fragments) expect(f.length).toBeLessThanOrEqual(mtu);
        for (const p of payloads.slice(0, -1)) expect(p % 8).toBe(0);
      }),
    );
    const v = checkMtu({ ...tcp(1, 3000), df: false }, 1450);
    expect(v.kind === 'fragmented' && v.fragments.map((f) => f.length)).toEqual([1444, 1444, 152]);
  });
});
