// Test helper: a node from iptables-save text, with an eth0 address and a cni0 pod bridge.
import {
  makeSimNode,
  type SetLookup,
  type SimNode,
  type TraceRequest,
  type TraceResult,
  tracePacket,
} from '../../src/engine';
import { type L4Protocol, parseIPv4 } from '../../src/net';
import { compileRuleset, loadIptables } from '../../src/netfilter';

export const NODE_IP = '192.168.0.2';

export function ip(text: string): number {
  const a = parseIPv4(text);
  if (a === null) throw new Error(`bad ip ${text}`);
  return a;
}

export function nodeFromRules(text: string, opts: { indexed?: boolean; sets?: SetLookup } = {}): SimNode {
  const loaded = loadIptables(text, 'test');
  if (!loaded.ok) throw new Error(loaded.message);
  return makeSimNode({
    name: 'test-node',
    interfaces: [
      { name: 'eth0', addresses: [{ address: ip(NODE_IP), prefixLength: 24 }] },
      { name: 'cni0', addresses: [{ address: ip('10.244.1.1'), prefixLength: 24 }], bridge: true },
    ],
    routes: [],
    ruleset: compileRuleset(loaded.state, { indexed: opts.indexed ?? true }),
    sets: opts.sets ?? null,
    defaultInterface: 'eth0',
  });
}

export function trace(
  node: SimNode,
  from: string,
  to: string,
  port: number,
  protocol: L4Protocol = 'tcp',
  extra: Partial<TraceRequest> = {},
): TraceResult {
  const src = ip(from);
  const local = from === NODE_IP || from.startsWith('127.');
  const iface = from.startsWith('10.244.1.') ? 'cni0' : 'eth0';
  return tracePacket(node, {
    src,
    dst: ip(to),
    protocol,
    dport: port,
    origin: local ? { kind: 'local' } : { kind: 'interface', iface },
    ...extra,
  });
}

/** Wraps rules for one chain of one table into a loadable dump. */
export function table(name: string, lines: string[]): string {
  return `*${name}\n${lines.join('\n')}\nCOMMIT\n`;
}
