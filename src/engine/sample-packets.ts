// Many packets of the same flow, each taking one random path as the kernel
// would (seeded, so a run repeats), each a connection that sees what the ones
// before it left: how often each endpoint and outcome comes up.

import { forgetLearntState } from './learnt-state';
import type { SimNode } from './sim-node';
import { samplePacket, type TraceRequest } from './trace';

export interface SampleResult {
  readonly samples: number;
  readonly seed: number;
  readonly outcomes: Readonly<Record<string, number>>;
  /** Endpoints the packets were DNATed to, most frequent first. */
  readonly endpoints: readonly { readonly address: string; readonly count: number }[];
  readonly masqueraded: number;
}

/** mulberry32: a small, well-distributed seeded generator. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function samplePackets(node: SimNode, request: TraceRequest, samples: number, seed = 1): SampleResult {
  // The packets are connections to the node as built, one after another: each meets what the
  // ones before it left (recent lists, affinity sets, IPVS connections and templates).
  forgetLearntState(node);
  const draw = seededRandom(seed);
  const outcomes: Record<string, number> = {};
  const endpoints = new Map<string, number>();
  let masqueraded = 0;
  // One request, its source port changed packet after packet.
  const each: { -readonly [K in keyof TraceRequest]: TraceRequest[K] } = { ...request };
  // ICMP's `sport` is its message type: each ping is a new echo identifier in the kernel, which
  // knetsim does not model, so the message is sent as it is every time.
  const icmp = request.protocol === 'icmp';
  for (let i = 0; i < samples; i++) {
    // Each packet is a new connection (its own source port), so conntrack does not pin it.
    if (!icmp) each.sport = 32768 + (i % 28232);
    const r = samplePacket(node, each, draw);
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    for (const address of r.endpoints) endpoints.set(address, (endpoints.get(address) ?? 0) + 1);
    if (r.masquerade) masqueraded++;
  }
  return {
    samples,
    seed,
    outcomes,
    endpoints: [...endpoints]
      .map(([address, count]) => ({ address, count }))
      .sort((a, b) => b.count - a.count || (a.address < b.address ? -1 : 1)),
    masqueraded,
  };
}
