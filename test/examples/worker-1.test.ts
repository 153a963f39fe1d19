// The bundled worker-1 dump (examples/): what the real kernel printed after loading
// kube-proxy's and flannel's rules, traced as a pod, the node and an outside client see it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeFromDumps, type SimNode, type TraceRequest, type TraceResult, tracePacket } from '../../src/engine';
import { parseIPv4 } from '../../src/net';
import { parseRestoreScript, printRestoreScript } from '../../src/netfilter';

const example = (name: string) => ({
  text: readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8'),
  file: `examples/${name}`,
});

const iptables = example('worker-1.iptables-save');
const routes = example('worker-1.routes');
const restoreInput = example('worker-1.kube-proxy.iptables-restore');

function ip(text: string): number {
  const a = parseIPv4(text);
  if (a === null) throw new Error(`bad ip ${text}`);
  return a;
}

function worker1(): SimNode {
  const built = nodeFromDumps({ name: 'worker-1', iptables, routes });
  if (!built.ok) throw new Error(built.message);
  return built.node;
}

type Request = Omit<TraceRequest, 'src' | 'dst'> & { src: string; dst: string };

function trace(node: SimNode, r: Request): TraceResult {
  return tracePacket(node, { ...r, src: ip(r.src), dst: ip(r.dst), recordHops: true });
}

const fromPod = { kind: 'interface', iface: 'cni0' } as const;
const fromOutside = { kind: 'interface', iface: 'eth0' } as const;

/** Endpoint -> probability, rounded: the kernel stores 1/3 as 715827883/2^31 (iptables-save prints 0.33333333349). */
function shares(result: TraceResult): Record<string, number> {
  return Object.fromEntries(result.endpoints.map((e) => [e.address, Math.round(e.probability * 1e6) / 1e6]));
}

const MYAPP_PODS = ['10.244.1.3:8080', '10.244.2.3:8080', '10.244.2.4:8080', '10.244.3.3:8080'];

describe('examples/worker-1', () => {
  it('loads, with its routes', () => {
    const built = nodeFromDumps({ name: 'worker-1', iptables, routes });
    expect(built.ok ? null : built.message).toBeNull();
  });

  it('loads what kube-proxy and flannel piped to iptables-restore, too', () => {
    const built = nodeFromDumps({ name: 'worker-1', iptables: restoreInput, routes });
    expect(built.ok ? null : built.message).toBeNull();
  });

  function roundTrip(text: string): string {
    const parsed = parseRestoreScript(text);
    if (!parsed.ok) throw new Error(`line ${parsed.error.line}: ${parsed.error.message}`);
    return printRestoreScript(parsed.script);
  }

  it('prints the restore input back byte for byte', () => {
    expect(roundTrip(restoreInput.text)).toBe(restoreInput.text);
  });

  it('prints the iptables-save dump back byte for byte, spacing included', () => {
    expect(roundTrip(iptables.text)).toBe(iptables.text);
  });

  it('sends a pod to either CoreDNS pod over UDP, half and half, without masquerading', () => {
    const r = trace(worker1(), { src: '10.244.1.5', dst: '10.96.0.10', protocol: 'udp', dport: 53, origin: fromPod });
    expect(r.outcome).toBe('ACCEPT');
    expect(shares(r)).toEqual({ '10.244.0.2:53': 0.5, '10.244.1.2:53': 0.5 });
    expect(r.masquerade).toBe(false);
  });

  it('spreads a pod over the four myapp pods, a quarter each', () => {
    const r = trace(worker1(), { src: '10.244.1.5', dst: '10.96.12.7', protocol: 'tcp', dport: 80, origin: fromPod });
    expect(r.outcome).toBe('ACCEPT');
    expect(shares(r)).toEqual(Object.fromEntries(MYAPP_PODS.map((a) => [a, 0.25])));
    expect(r.endpoints.reduce((s, e) => s + e.probability, 0)).toBeCloseTo(1, 9);
  });

  it('sends the remote myapp pods over flannel.1 and the local one to cni0', () => {
    const r = trace(worker1(), { src: '10.244.1.5', dst: '10.96.12.7', protocol: 'tcp', dport: 80, origin: fromPod });
    const outBy = Object.fromEntries(r.branches.map((b) => [b.endpoint, b.disposition]));
    expect(outBy['10.244.1.3:8080']).toMatch(/^sent out cni0/);
    for (const remote of ['10.244.2.3:8080', '10.244.2.4:8080', '10.244.3.3:8080'])
      expect(outBy[remote]).toMatch(/^sent out flannel\.1 via 10\.244\.[23]\.0/);
  });

  it('rejects a connection to the Service without endpoints', () => {
    const r = trace(worker1(), { src: '10.244.1.5', dst: '10.96.99.9', protocol: 'tcp', dport: 80, origin: fromPod });
    expect(r.outcome).toBe('REJECT');
    expect(r.endpoints).toEqual([]);
  });

  it('DNATs an outside client on the NodePort to the four pods, masqueraded', () => {
    const r = trace(worker1(), {
      src: '203.0.113.9',
      dst: '192.168.122.31',
      protocol: 'tcp',
      dport: 30080,
      origin: fromOutside,
    });
    expect(r.outcome).toBe('ACCEPT');
    expect(shares(r)).toEqual(Object.fromEntries(MYAPP_PODS.map((a) => [a, 0.25])));
    expect(r.masquerade).toBe(true);
    // MASQUERADE takes the address of the way out: cni0's for the local pod, flannel.1's for the others.
    const finals = Object.fromEntries(r.branches.map((b) => [b.endpoint, b.final.split(' ')[1]!.split(':')[0]]));
    expect(finals['10.244.1.3:8080']).toBe('10.244.1.1');
    expect(finals['10.244.2.3:8080']).toBe('10.244.1.0');
  });
});
