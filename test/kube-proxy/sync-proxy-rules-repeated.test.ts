// kube-proxy's TestSyncProxyRulesRepeated, sync by sync: after the first full sync each
// partial sync writes only the changed services' chains, declares and deletes (-X) the
// chains no service uses any more, and keeps the other jumps in KUBE-SERVICES. The
// expected chains and rules per sync are the Go test's (its last two syncs inject an
// iptables-restore failure, which a scenario cannot express).
import { describe, expect, it } from 'vitest';
import { proxierSettings, type SyncInput, syncSequence } from '../../src/kube-proxy';
import { nodeLocalState } from '../../src/model';
import { scenarioOf } from '../helpers/scenario';

const head = `apiVersion: knetsim.io/v1alpha1
kind: Cluster
metadata: {name: repeated}
spec:
  clusterCIDR: 10.0.0.0/8
  serviceCIDR: 172.30.0.0/16
  proxy: {mode: iptables, nfacctCounters: [ct_state_invalid_dropped_pkts, localhost_nps_accepted_pkts]}
---
apiVersion: v1
kind: Node
metadata: {name: test-node}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
`;
const svc = (n: number, port: number) => `---
apiVersion: v1
kind: Service
metadata: {name: svc${n}, namespace: ns${n}}
spec: {clusterIP: 172.30.0.4${n}, ports: [{name: p${port}, port: ${port}, protocol: TCP}]}
`;
const eps = (n: number, port: number, ips: string[]) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc${n}-1, namespace: ns${n}, labels: {kubernetes.io/service-name: svc${n}}}
addressType: IPv4
endpoints: [${ips.map((ip) => `{addresses: [${ip}]}`).join(', ')}]
ports: [{name: p${port}, port: ${port}, protocol: TCP}]
`;

// The objects before each sync, as the Go test changes them: each state is the one before
// with the objects of one step replaced, added or removed (keyed so a step can replace one).
const steps: Record<string, string | null>[] = [
  { svc1: svc(1, 80), svc2: svc(2, 8080), eps1: eps(1, 80, ['10.0.1.1']), eps2: eps(2, 8080, ['10.0.2.1']) },
  { svc3: svc(3, 80), eps3: eps(3, 80, ['10.0.3.1']) },
  // OnServiceDelete(svc2): its EndpointSlice stays.
  { svc2: null },
  { svc4: svc(4, 80) },
  { eps4: eps(4, 80, ['10.0.4.1']) },
  { eps3: eps(3, 80, ['10.0.3.2']) },
  { eps3: eps(3, 80, ['10.0.3.2', '10.0.3.3']) },
  // A sync with nothing changed.
  {},
];
const states: string[] = [];
let objects = new Map<string, string>();
for (const step of steps) {
  objects = new Map(objects);
  for (const [key, text] of Object.entries(step)) {
    if (text === null) objects.delete(key);
    else objects.set(key, text);
  }
  states.push([...objects.values()].join(''));
}

const S1 = 'KUBE-SVC-XPGD46QRK7WJZT7O';
const S2 = 'KUBE-SVC-2VJB64SDSIJUP5T6';
const S3 = 'KUBE-SVC-X27LE4BHSL4DOUIK';
const S4 = 'KUBE-SVC-4SW47YFZTEDKD3PK';
const jump = (n: number, port: number, chain: string) =>
  `-A KUBE-SERVICES -m comment --comment "ns${n}/svc${n}:p${port} cluster IP" -m tcp -p tcp -d 172.30.0.4${n} --dport ${port} -j ${chain}`;
const masq = (n: number, chain: string) =>
  `-A ${chain} -m comment --comment "ns${n}/svc${n}:p80 cluster IP" -m tcp -p tcp -d 172.30.0.4${n} --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`;
const sep = (n: number, port: number, chain: string, ip: string) => [
  `-A ${chain} -m comment --comment ns${n}/svc${n}:p${port} -s ${ip} -j KUBE-MARK-MASQ`,
  `-A ${chain} -m comment --comment ns${n}/svc${n}:p${port} -m tcp -p tcp -j DNAT --to-destination ${ip}:${port}`,
];

interface Expected {
  /** Service and endpoint chains declared in the nat table. */
  readonly chains: string[];
  /** KUBE-SERVICES jumps (before the nodeports rule) and the service and endpoint chains' rules. */
  readonly rules: string[];
  readonly deleted: string[];
  readonly filterServices?: string[];
}

const expected: Expected[] = [
  {
    chains: ['KUBE-SEP-SNQ3ZNILQDEJNDQO', 'KUBE-SEP-UHEGFW77JX3KXTOV', S2, S1],
    rules: [
      jump(1, 80, S1),
      jump(2, 8080, S2),
      ...sep(1, 80, 'KUBE-SEP-SNQ3ZNILQDEJNDQO', '10.0.1.1'),
      ...sep(2, 8080, 'KUBE-SEP-UHEGFW77JX3KXTOV', '10.0.2.1'),
      `-A ${S2} -m comment --comment "ns2/svc2:p8080 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 8080 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`,
      `-A ${S2} -m comment --comment "ns2/svc2:p8080 -> 10.0.2.1:8080" -j KUBE-SEP-UHEGFW77JX3KXTOV`,
      masq(1, S1),
      `-A ${S1} -m comment --comment "ns1/svc1:p80 -> 10.0.1.1:80" -j KUBE-SEP-SNQ3ZNILQDEJNDQO`,
    ],
    deleted: [],
  },
  {
    chains: ['KUBE-SEP-BSWRHOQ77KEXZLNL', S3],
    rules: [
      jump(1, 80, S1),
      jump(2, 8080, S2),
      jump(3, 80, S3),
      ...sep(3, 80, 'KUBE-SEP-BSWRHOQ77KEXZLNL', '10.0.3.1'),
      masq(3, S3),
      `-A ${S3} -m comment --comment "ns3/svc3:p80 -> 10.0.3.1:80" -j KUBE-SEP-BSWRHOQ77KEXZLNL`,
    ],
    deleted: [],
  },
  {
    chains: ['KUBE-SEP-UHEGFW77JX3KXTOV', S2],
    rules: [jump(1, 80, S1), jump(3, 80, S3)],
    deleted: ['KUBE-SEP-UHEGFW77JX3KXTOV', S2],
  },
  {
    chains: [],
    rules: [jump(1, 80, S1), jump(3, 80, S3)],
    deleted: [],
    filterServices: [
      '-A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT',
    ],
  },
  {
    chains: ['KUBE-SEP-AYCN5HPXMIRJNJXU', S4],
    rules: [
      jump(1, 80, S1),
      jump(3, 80, S3),
      jump(4, 80, S4),
      ...sep(4, 80, 'KUBE-SEP-AYCN5HPXMIRJNJXU', '10.0.4.1'),
      masq(4, S4),
      `-A ${S4} -m comment --comment "ns4/svc4:p80 -> 10.0.4.1:80" -j KUBE-SEP-AYCN5HPXMIRJNJXU`,
    ],
    deleted: [],
  },
  {
    chains: ['KUBE-SEP-BSWRHOQ77KEXZLNL', 'KUBE-SEP-DKCFIS26GWF2WLWC', S3],
    rules: [
      jump(1, 80, S1),
      jump(3, 80, S3),
      jump(4, 80, S4),
      ...sep(3, 80, 'KUBE-SEP-DKCFIS26GWF2WLWC', '10.0.3.2'),
      masq(3, S3),
      `-A ${S3} -m comment --comment "ns3/svc3:p80 -> 10.0.3.2:80" -j KUBE-SEP-DKCFIS26GWF2WLWC`,
    ],
    deleted: ['KUBE-SEP-BSWRHOQ77KEXZLNL'],
  },
  {
    chains: ['KUBE-SEP-DKCFIS26GWF2WLWC', 'KUBE-SEP-JVVZVJ7BSEPPRNBS', S3],
    rules: [
      jump(1, 80, S1),
      jump(3, 80, S3),
      jump(4, 80, S4),
      ...sep(3, 80, 'KUBE-SEP-DKCFIS26GWF2WLWC', '10.0.3.2'),
      ...sep(3, 80, 'KUBE-SEP-JVVZVJ7BSEPPRNBS', '10.0.3.3'),
      masq(3, S3),
      `-A ${S3} -m comment --comment "ns3/svc3:p80 -> 10.0.3.2:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-DKCFIS26GWF2WLWC`,
      `-A ${S3} -m comment --comment "ns3/svc3:p80 -> 10.0.3.3:80" -j KUBE-SEP-JVVZVJ7BSEPPRNBS`,
    ],
    deleted: [],
  },
  { chains: [], rules: [jump(1, 80, S1), jump(3, 80, S3), jump(4, 80, S4)], deleted: [] },
];

/** The nat table's service-level content, ordered as kube-proxy's test compares it. */
function natOf(restore: string) {
  const nat = restore.slice(restore.indexOf('*nat'));
  const lines = nat.split('\n');
  const serviceChain = (c: string) => /^KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(c);
  const chains = lines
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1).split(' ')[0]!)
    .filter(serviceChain)
    .sort();
  const rules = lines.filter(
    (l) =>
      l.startsWith('-A ') &&
      ((l.startsWith('-A KUBE-SERVICES ') && !l.includes('must be the last rule')) || serviceChain(l.split(' ')[1]!)),
  );
  const byChain = (c: string) => rules.filter((l) => l.split(' ')[1] === c);
  const order = ['KUBE-SERVICES', ...chains];
  const deleted = lines.filter((l) => l.startsWith('-X ')).map((l) => l.slice(3));
  return { chains, rules: order.flatMap(byChain), deleted };
}

describe('TestSyncProxyRulesRepeated: partial syncs', () => {
  const inputs: SyncInput[] = states.map((objects) => {
    const scenario = scenarioOf(head + objects);
    const state = nodeLocalState(scenario, 'test-node', 'IPv4');
    return { state, settings: proxierSettings(scenario.cluster, state.node), scheduler: 'rr' };
  });
  const steps = syncSequence('iptables', inputs);

  expected.forEach((want, i) => {
    it(`sync ${i + 1}${i === 0 ? ' (full)' : ''}`, () => {
      const step = steps[i]!;
      if (step.mode !== 'iptables') throw new Error('not an iptables step');
      const got = natOf(step.iptables.restore);
      const sortedRules = (rules: string[]) => {
        const services = rules.filter((l) => l.startsWith('-A KUBE-SERVICES ')).sort();
        return [...services, ...rules.filter((l) => !l.startsWith('-A KUBE-SERVICES '))];
      };
      const wantRules = sortedRules(want.rules);
      const wantChains = [...want.chains].sort();
      const order = ['KUBE-SERVICES', ...wantChains];
      expect(got.chains).toEqual(wantChains);
      expect(sortedRules(got.rules)).toEqual(order.flatMap((c) => wantRules.filter((l) => l.split(' ')[1] === c)));
      expect([...got.deleted].sort()).toEqual([...want.deleted].sort());
      const filterServices = step.iptables.restore
        .slice(0, step.iptables.restore.indexOf('*nat'))
        .split('\n')
        .filter((l) => l.startsWith('-A KUBE-SERVICES '));
      expect(filterServices).toEqual(want.filterServices ?? []);
    });
  });
});
