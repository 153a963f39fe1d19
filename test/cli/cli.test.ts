// The command line as a user meets it: real processes, exit statuses, messages.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'knetsim-cli-'));

function knetsim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'knetsim.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

describe('bad input: one clear message, exit 2, no stack trace', () => {
  it('malformed YAML', () => {
    const r = knetsim('rules', file('bad.yaml', 'kind: Service\nmetadata: {name: x\n'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^knetsim: .*bad\.yaml: document 1/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  it('a port out of range names the document, object, field and value', () => {
    const r = knetsim(
      'rules',
      file(
        'port.yaml',
        'apiVersion: v1\nkind: Service\nmetadata: {name: myapp, namespace: default}\nspec:\n  ports: [{port: 70000}]\n',
      ),
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'port.yaml: document 1 (Service default/myapp): spec.ports[0].port: 70000 is not a port (1-65535)',
    );
  });
  it('an unknown match in a dump names the line and the token', () => {
    const r = knetsim(
      'trace',
      '--rules',
      file('d.save', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m frob -j ACCEPT\nCOMMIT\n'),
      '--from',
      '10.0.0.1',
      '--to',
      '10.0.0.2:80',
    );
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`knetsim: ${join(tmp, 'd.save')}: line 3: unknown match "frob"`);
  });
  it('a dangling jump', () => {
    const r = knetsim(
      'trace',
      '--rules',
      file('j.save', '*nat\n-A PREROUTING -j KUBE-NOPE\nCOMMIT\n'),
      '--from',
      '10.0.0.1',
      '--to',
      '10.0.0.2:80',
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('line 2: -j KUBE-NOPE: no chain or target by that name in table nat');
  });
  it('a missing file and a bad --to', () => {
    expect(knetsim('rules', join(tmp, 'nope.yaml')).stderr).toContain('nope.yaml');
    const r = knetsim('trace', 'examples/demo.yaml', '--from', 'default/client', '--to', '10.96.0.1:99999');
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('knetsim: --to: 99999 is not a port (1-65535)');
  });
});

describe("trace --ip-rules: policy routing from a node's ip rule and ip route dumps", () => {
  const rules = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
  const routes =
    'default via 10.0.0.3 dev v0 table 2\ndefault via 10.0.0.1 dev v0\n10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.2\n';
  const policy = '0:\tfrom all lookup local\n1536:\tfrom 10.0.0.7 lookup 2\n32766:\tfrom all lookup main\n';
  const trace = (...extra: string[]) =>
    knetsim(
      'trace',
      '--rules',
      file('pr.save', rules),
      '--routes',
      file('pr.routes', routes),
      ...extra,
      '--to',
      '8.8.8.8:53',
    );
  it('a source a rule names leaves by its table; others by main', () => {
    const ruled = trace('--ip-rules', file('pr.rules', policy), '--from', '10.0.0.7');
    expect(ruled.status).toBe(0);
    expect(ruled.stdout).toContain('forward: out v0 via 10.0.0.3 (rule 1536: from 10.0.0.7 lookup 2)');
    expect(trace('--ip-rules', file('pr.rules', policy), '--from', '10.0.0.9').stdout).toContain(
      'forward: out v0 via 10.0.0.1\n',
    );
    // Without the rules, table 2 is never consulted.
    expect(trace('--from', '10.0.0.7').stdout).toContain('forward: out v0 via 10.0.0.1\n');
  });
  it('a rule line it cannot read: one message naming the file and line, exit 2', () => {
    const r = trace(
      '--ip-rules',
      file('bad.rules', '0:\tfrom all lookup local\n9:\tfrom all lookup\n'),
      '--from',
      '10.0.0.7',
    );
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`knetsim: ${join(tmp, 'bad.rules')}: line 2: "lookup" needs a value`);
  });
});

describe("trace --conntrack: the node's tracked connections", () => {
  const listing =
    'udp      17 117 src=10.244.1.5 dst=10.96.0.10 sport=40000 dport=53 src=10.244.2.9 dst=10.244.1.5 sport=53 dport=40000 [ASSURED] mark=0 use=1\n';
  const trace = (...extra: string[]) =>
    knetsim(
      'trace',
      '--rules',
      'examples/worker-1.iptables-save',
      '--routes',
      'examples/worker-1.routes',
      '--from',
      '10.244.1.5',
      '--to',
      '10.96.0.10:53',
      '--proto',
      'udp',
      ...extra,
    );
  it('a packet of a listed connection goes where its entry says, whatever the rules say now', () => {
    const r = trace('--conntrack', file('ct.txt', listing), '--sport', '40000');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('existing connection (original direction), as conntrack -L lists it: udp');
    expect(r.stdout).toContain('endpoints:   10.244.2.9:53 (100%)');
    // Another source port is another connection.
    expect(trace('--conntrack', file('ct.txt', listing), '--sport', '40001').stdout).toContain('new connection');
  });
  it('bad input: a bad line names the file and line; the option goes with dumps only', () => {
    const bad = trace('--conntrack', file('bad-ct.txt', `${listing}udp 17 x\n`));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/bad-ct\.txt: line 2: "udp 17 x" does not start as conntrack's lines do/);
    const scenario = knetsim(
      'trace',
      'examples/demo.yaml',
      '--conntrack',
      file('ct.txt', listing),
      '--from',
      'default/client',
      '--to',
      '10.96.0.10:53',
    );
    expect(scenario.status).toBe(2);
    expect(scenario.stderr.trim()).toBe(
      "knetsim: trace: --conntrack goes with --rules/--nft (a real node's dumps), not a scenario",
    );
  });
});

describe('commands', () => {
  it('trace --rules --json on a real node dump', () => {
    const r = knetsim(
      'trace',
      '--rules',
      'examples/worker-1.iptables-save',
      '--routes',
      'examples/worker-1.routes',
      '--from',
      '10.244.1.5',
      '--to',
      '10.96.0.10:53',
      '--proto',
      'udp',
      '--json',
    );
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.outcome).toBe('ACCEPT');
    expect(t.endpoints.map((e: { address: string }) => e.address).sort()).toEqual(['10.244.0.2:53', '10.244.1.2:53']);
    expect(t.hops[0]).toMatchObject({ node: 'node', stage: 'conntrack' });
  });
  it('trace SCENARIO by pod and service name, in text', () => {
    const r = knetsim('trace', 'examples/demo.yaml', '--from', 'default/client', '--to', 'legacy.default:80');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('outcome:     REJECT');
    expect(r.stdout).toContain('"default/legacy has no endpoints"');
  });
  it('rules prints iptables-save for a node, and the restore input on request', () => {
    const save = knetsim('rules', 'examples/demo.yaml', '--node', 'worker-1');
    expect(save.status).toBe(0);
    expect(save.stdout).toContain(
      '-A KUBE-SERVICES -d 10.96.12.7/32 -p tcp -m comment --comment "default/myapp:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-',
    );
    const restore = knetsim('rules', 'examples/demo.yaml', '--node', 'worker-1', '--format', 'iptables-restore');
    expect(restore.stdout.startsWith('*filter\n:KUBE-SERVICES - [0:0]\n')).toBe(true);
  });
  it('rules --format routes|neigh|fdb print flannel VXLAN state as ip route / ip neigh / bridge fdb do', () => {
    const routes = knetsim('rules', 'examples/demo.yaml', '--node', 'worker-1', '--format', 'routes').stdout;
    const neigh = knetsim('rules', 'examples/demo.yaml', '--node', 'worker-1', '--format', 'neigh').stdout;
    const fdb = knetsim('rules', 'examples/demo.yaml', '--node', 'worker-1', '--format', 'fdb').stdout;
    expect(routes).toContain('10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink\n');
    const mac = /^10\.244\.2\.0 dev flannel\.1 lladdr ([0-9a-f:]{17}) PERMANENT$/m.exec(neigh)?.[1];
    expect(mac).toBeDefined();
    expect(fdb).toContain(`${mac} dev flannel.1 dst 192.168.122.32 self permanent\n`);
    expect(neigh.trim().split('\n')).toHaveLength(3);
  });
  it('trace --across follows the packet over VXLAN into the pod on the far node', () => {
    const args = ['trace', 'examples/demo.yaml', '--node', 'worker-1', '--from', '10.244.1.5', '--to', '10.96.12.7:80'];
    const text = knetsim(...args, '--across');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/path \d \(25%\): worker-1 -> worker-2\n/);
    expect(text.stdout).toContain(
      'worker-2  flannel.1 decap        worker-2 eth0 -> flannel.1 decap: inner tcp 10.244.1.5:40000 -> 10.244.2.3:8080',
    );
    const json = JSON.parse(knetsim(...args, '--across', '--json').stdout) as {
      paths: { nodes: string[]; outcome: string; probability: number }[];
    };
    expect(json.paths.map((p) => p.nodes.join('>')).sort()).toEqual([
      'worker-1',
      'worker-1',
      'worker-1>worker-2',
      'worker-1>worker-3',
    ]);
    expect(json.paths.every((p) => p.outcome === 'ACCEPT')).toBe(true);
    expect(json.paths.reduce((sum, p) => sum + p.probability, 0)).toBeCloseTo(1, 9);
  });
  it("trace --across --reply: one connection to the far node and its reply, un-DNATed on the client's node", () => {
    const connection = ['trace', 'examples/demo.yaml', '--from', 'default/client', '--to', 'myapp.default:80'];
    const r = knetsim(...connection, '--across', '--reply', '--seed', '5', '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as {
      forward: { nodes: string[]; final: string };
      replies: { nodes: string[]; final: string; outcome: string }[];
    };
    expect(j.forward.nodes).toEqual(['worker-1', 'worker-2']);
    expect(j.replies.map((x) => [x.outcome, x.nodes, x.final])).toEqual([
      ['ACCEPT', ['worker-2', 'worker-1'], 'tcp 10.96.12.7:80 -> 10.244.1.2:40000'],
    ]);
    const bad = knetsim(...connection, '--reply');
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'knetsim: trace: --reply goes with --across']);
  });
  it('trace --length/--no-df: too big for flannel.1 with DF is dropped, without DF fragmented and delivered', () => {
    const args = ['trace', 'examples/demo.yaml', '--from', 'default/client', '--to', '10.244.2.3:8080', '--across'];
    const dropped = knetsim(...args, '--length', '1500');
    expect(dropped.stdout).toContain(
      "DROP on worker-1: dropped at flannel.1: 1500 bytes exceed flannel.1's MTU 1450 with DF set: ICMP fragmentation needed (mtu 1450)",
    );
    const fragmented = knetsim(...args, '--length', '3000', '--no-df');
    expect(fragmented.stdout).toContain('3 fragments of 1444 + 1444 + 152 bytes');
    expect(fragmented.stdout).toContain('ACCEPT on worker-2: sent out cni0 directly to 10.244.2.3');
    const bad = knetsim(...args, '--length', '70000');
    expect([bad.status, bad.stderr.trim()]).toEqual([
      2,
      'knetsim: --length: "70000" is not an IPv4 packet length (20-65535)',
    ]);
  });
  it('trace --ttl/--tos: each forwarding node takes one off the TTL; at 1 ip_forward drops the packet', () => {
    const args = ['trace', 'examples/demo.yaml', '--from', 'default/client', '--to', '10.244.2.3:8080', '--across'];
    // worker-1 forwards it into flannel.1 with TTL 1; worker-2 would have to forward it again, to cni0.
    const expired = knetsim(...args, '--ttl', '2');
    expect(expired.stdout).toContain(
      'DROP on worker-2: routed out cni0, but its TTL is 1: ip_forward drops it and sends ICMP time exceeded to 10.244.1.2',
    );
    const delivered = knetsim(...args, '--ttl', '3', '--json');
    const paths = (JSON.parse(delivered.stdout) as { paths: { outcome: string }[] }).paths;
    expect(paths.map((p) => p.outcome)).toEqual(['ACCEPT']);
    const bad = knetsim(...args, '--ttl', '256');
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'knetsim: --ttl: "256" is not a TTL (0-255)']);
    // IPVS takes one off too when it sends a connection to a real server on another host (__ip_vs_get_out_rt).
    const viaIpvs = knetsim(
      ...['trace', 'examples/demo.yaml', '--from', 'default/client', '--to', 'myapp.default:80', '--mode', 'ipvs'],
      ...['--ttl', '1', '--json'],
    );
    const ends = (JSON.parse(viaIpvs.stdout) as { branches: { outcome: string; disposition: string }[] }).branches;
    expect(ends.length).toBe(4);
    for (const end of ends)
      expect([end.outcome, end.disposition]).toEqual([
        'DROP',
        'IPVS sends it to a real server elsewhere, but its TTL is 1: IPVS drops it and sends ICMP time exceeded to 10.244.1.2',
      ]);
    const badTos = knetsim(...args, '--tos', 'x1');
    expect([badTos.status, badTos.stderr.trim()]).toEqual([2, 'knetsim: --tos: "x1" is not a TOS byte (0-255)']);
  });
  it('trace --payload: the bytes -m string searches (C escapes), the length following from them', () => {
    const rules = file(
      'string.save',
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -p tcp -m string --string "Host: evil" --algo bm --icase -j REJECT --reject-with tcp-reset\nCOMMIT\n',
    );
    const args = ['trace', '--rules', rules, '--from', '10.244.1.5', '--to', '1.2.3.4:80'];
    const hit = knetsim(...args, '--payload', 'GET / HTTP/1.1\\r\\nHOST: EVIL.example\\r\\n\\r\\n', '--json');
    const j = JSON.parse(hit.stdout) as { outcome: string; branches: { final: string }[] };
    expect(j.outcome).toBe('REJECT');
    expect(knetsim(...args, '--payload', 'GET / HTTP/1.1\\r\\nHost: good\\r\\n').stdout).toContain(
      'outcome:     ACCEPT',
    );
    expect(knetsim(...args).stdout).toContain('outcome:     ACCEPT');
    const both = knetsim(...args, '--payload', 'x', '--length', '100');
    expect([both.status, both.stderr.trim()]).toEqual([
      2,
      "knetsim: --payload: the packet's length follows from it; give --length or --payload, not both",
    ]);
    const badEscape = knetsim(...args, '--payload', 'a\\q');
    expect([badEscape.status, badEscape.stderr.trim()]).toEqual([
      2,
      'knetsim: --payload: "\\q" is not an escape (\\r, \\n, \\t, \\0, \\\\, \\xHH)',
    ]);
  });
  it('trace --src-mac: the frame source -m mac tests, for packets arriving on an interface', () => {
    const rules = file(
      'mac.save',
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m mac --mac-source fa:16:3e:00:00:01 -j ACCEPT\n-A FORWARD -j DROP\nCOMMIT\n',
    );
    const args = ['trace', '--rules', rules, '--from', '10.244.1.5', '--to', '1.2.3.4:80'];
    expect(knetsim(...args, '--src-mac', 'FA:16:3E:0:0:1').stdout).toContain('outcome:     ACCEPT');
    expect(knetsim(...args).stdout).toContain('outcome:     DROP');
    const bad = knetsim(...args, '--src-mac', 'fa:16:3e');
    expect([bad.status, bad.stderr.trim()]).toEqual([
      2,
      'knetsim: --src-mac: "fa:16:3e" is not a MAC address (aa:bb:cc:dd:ee:ff)',
    ]);
  });
  it('trace --at: the wall-clock time -m time decides at (UTC unless a zone is given)', () => {
    const rules = file(
      'time.save',
      '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m time --timestart 09:00 --timestop 17:00 --weekdays Mon,Tue,Wed,Thu,Fri -j DROP\nCOMMIT\n',
    );
    const args = ['trace', '--rules', rules, '--from', '10.244.1.5', '--to', '1.2.3.4:80'];
    expect(knetsim(...args, '--at', '2026-12-07T10:30').stdout).toContain('outcome:     DROP');
    expect(knetsim(...args, '--at', '2026-12-07T10:30:00+03:00').stdout).toContain('outcome:     ACCEPT');
    expect(knetsim(...args, '--at', '2026-12-06T10:30:00Z').stdout).toContain('outcome:     ACCEPT');
    const bad = knetsim(...args, '--at', 'tomorrow');
    expect([bad.status, bad.stderr.trim()]).toEqual([
      2,
      'knetsim: --at: "tomorrow" is not a date and time (YYYY-MM-DDThh:mm[:ss][Z|+hh:mm], UTC unless a zone is given)',
    ]);
  });
  it('trace --sample: connections one after another, round robin in IPVS mode and sticky with ClientIP affinity', () => {
    const demo = readFileSync(join(ROOT, 'examples', 'demo.yaml'), 'utf8');
    const sampled = (text: string, name: string) => {
      const r = knetsim(
        'trace',
        file(name, text),
        '--from',
        'default/client',
        '--to',
        'myapp.default:80',
        '--sample',
        '40',
        '--json',
      );
      expect(r.status).toBe(0);
      return (JSON.parse(r.stdout) as { endpoints: { address: string; count: number }[] }).endpoints.map(
        (e) => e.count,
      );
    };
    // The demo's myapp has four endpoints: rr gives each ten of forty connections.
    expect(sampled(demo.replace('mode: iptables', 'mode: ipvs'), 'rr.yaml')).toEqual([10, 10, 10, 10]);
    const sticky = demo.replace('  clusterIP: 10.96.12.7\n', '  clusterIP: 10.96.12.7\n  sessionAffinity: ClientIP\n');
    expect(sticky).not.toBe(demo);
    expect(sampled(sticky, 'sticky.yaml')).toEqual([40]);
  });
  it('demo (npm start) traces the bundled cluster', () => {
    const r = knetsim('demo');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('endpoints:');
    expect(r.stdout).toContain('outcome:     REJECT');
  });
});

describe('trace --expect: exit 1 unless every way the packet may go ends as expected', () => {
  const demo = ['trace', 'examples/demo.yaml', '--from', 'default/client'];
  it('holds: status 0 and the trace as usual', () => {
    const r = knetsim(...demo, '--to', 'myapp.default:80', '--expect', 'ACCEPT');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('outcome:     ACCEPT');
    expect(r.stderr).toBe('');
    // The service without endpoints: kube-proxy's REJECT.
    expect(knetsim(...demo, '--to', 'legacy.default:80', '--expect', 'reject').status).toBe(0);
  });
  it('fails: status 1, the trace printed, and what happened instead', () => {
    const r = knetsim(...demo, '--to', 'myapp.default:80', '--expect', 'DROP');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('outcome:     ACCEPT');
    expect(r.stderr).toBe('knetsim: expected DROP, but the packet may end ACCEPT with probability 100%\n');
  });
  it('a branch of any probability counts: a 1-in-2 drop fails an ACCEPT', () => {
    const rules = file(
      'half.rules',
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n' +
        '-A FORWARD -m statistic --mode random --probability 0.5 -j DROP\nCOMMIT\n',
    );
    const r = knetsim('trace', '--rules', rules, '--from', '10.244.1.5', '--to', '8.8.8.8:53', '--expect', 'ACCEPT');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('knetsim: expected ACCEPT, but the packet may end DROP with probability 50%\n');
    // Sampled connections: counted.
    const s = knetsim('trace', '--rules', rules, '--from', '10.244.1.5', '--to', '8.8.8.8:53', '--sample', '20');
    const dropped = Number(/DROP\s+(\d+)/.exec(s.stdout)![1]);
    const sampled = knetsim(
      'trace',
      '--rules',
      rules,
      '--from',
      '10.244.1.5',
      '--to',
      '8.8.8.8:53',
      '--sample',
      '20',
      '--expect',
      'ACCEPT',
    );
    expect(sampled.status).toBe(1);
    expect(sampled.stderr).toBe(`knetsim: expected ACCEPT, but ${dropped} of 20 connections ended DROP\n`);
  });
  it('--batch: each line may carry its own "expect"; every unmet one is named, all results printed', () => {
    const batch = file(
      'expect.jsonl',
      [
        '{"from": "default/client", "to": "myapp.default:80", "expect": "ACCEPT"}',
        '{"from": "default/client", "to": "legacy.default:80", "expect": "ACCEPT"}',
        '{"from": "default/client", "to": "legacy.default:80"}',
      ].join('\n'),
    );
    const r = knetsim('trace', 'examples/demo.yaml', '--batch', batch, '--json', '--expect', 'REJECT');
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr).toBe(
      `knetsim: ${batch}: line 2 (default/client -> legacy.default:80): expected ACCEPT, but the packet may end REJECT with probability 100%\n`,
    );
  });
  it('--batch: the packet options shape every line (they were ignored)', () => {
    const batch = file('ttl.jsonl', '{"from": "default/client", "to": "10.244.2.3:8080"}\n');
    const r = knetsim('trace', 'examples/demo.yaml', '--batch', batch, '--json', '--ttl', '1', '--length', '100');
    const line = JSON.parse(r.stdout) as { outcome: string; branches: { disposition: string }[] };
    expect(line.outcome).toBe('DROP');
    expect(line.branches[0]!.disposition).toContain('its TTL is 1: ip_forward drops it');
    // An option for another kind of packet (--src-mac, --uid) passes over the lines it cannot apply to.
    const mixed = file(
      'mixed.jsonl',
      '{"from": "default/client", "to": "myapp.default:80"}\n{"from": "node/worker-1", "to": "myapp.default:80"}\n',
    );
    const both = knetsim(
      'trace',
      'examples/demo.yaml',
      '--batch',
      mixed,
      '--json',
      '--src-mac',
      '02:00:00:00:00:01',
      '--uid',
      '33',
    );
    expect(both.status).toBe(0);
    expect(both.stdout.trim().split('\n')).toHaveLength(2);
  });
  it('across nodes: every path; and a word that is no outcome is bad input', () => {
    expect(knetsim(...demo, '--to', 'myapp.default:80', '--across', '--expect', 'ACCEPT').status).toBe(0);
    const bad = knetsim(...demo, '--to', 'myapp.default:80', '--expect', 'MAYBE');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(
      'knetsim: --expect: "MAYBE" is not an outcome (ACCEPT, DROP, REJECT, NO_ROUTE, NO_ENDPOINTS)\n',
    );
  });
});

describe('trace --uid/--gid: the socket a packet made on the node is sent from', () => {
  const rules = () =>
    file(
      'owner.rules',
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n' +
        '-A OUTPUT -m owner --uid-owner 1000 -j DROP\nCOMMIT\n',
    );
  const send = (...extra: string[]) =>
    knetsim(
      'trace',
      '--rules',
      rules(),
      '--node-ip',
      '192.168.0.2',
      '--from',
      '192.168.0.2',
      '--to',
      '8.8.8.8:53',
      ...extra,
    );
  it('root by default; --uid names another user', () => {
    expect(send('--expect', 'ACCEPT').status).toBe(0);
    expect(send('--uid', '1000', '--gid', '1000', '--expect', 'DROP').status).toBe(0);
  });
  it('a packet not made on the node has no socket to own; a bad id is bad input', () => {
    const forwarded = knetsim(
      'trace',
      '--rules',
      rules(),
      '--from',
      '10.244.1.5',
      '--to',
      '8.8.8.8:53',
      '--uid',
      '1000',
    );
    expect(forwarded.status).toBe(2);
    expect(forwarded.stderr).toMatch(/--uid\/--gid: only a packet made on the node has a socket/);
    const bad = send('--uid', 'alice');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('knetsim: --uid: "alice" is not a user or group id\n');
  });
});

describe('IPVS mode', () => {
  const scenario = file(
    'ipvs.yaml',
    readFileSync(join(ROOT, 'examples', 'demo.yaml'), 'utf8').replace('mode: iptables', 'mode: ipvs'),
  );
  it('rules --format ipvsadm prints what ipvsadm -Ln shows', () => {
    const r = knetsim('rules', scenario, '--node', 'worker-1', '--format', 'ipvsadm');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  192.168.122.31:30080 rr',
    ]);
  });
  it('trace --rules --ipset --ipvs on the dumps of that node', () => {
    const dump = (format: string, name: string) =>
      file(name, knetsim('rules', scenario, '--node', 'worker-1', '--format', format).stdout);
    const r = knetsim(
      'trace',
      '--rules',
      dump('iptables-save', 'w1.save'),
      '--ipset',
      dump('ipset', 'w1.ipset'),
      '--ipvs',
      dump('ipvsadm-save', 'w1.ipvs'),
      '--node-ip',
      '192.168.122.31',
      '--from',
      '10.244.1.5',
      '--to',
      '10.96.0.10:53',
      '--proto',
      'udp',
      '--json',
    );
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.endpoints.map((e: { address: string }) => e.address).sort()).toEqual(['10.244.2.2:53', '10.244.3.2:53']);
    expect(t.cost.ipvsLookups).toBe(1);
    expect(
      t.hops.some(
        (h: { stage: string; action: string }) => h.stage === 'ipvs' && h.action.includes("scheduler's next pick: rr"),
      ),
    ).toBe(true);
  });
  it('a malformed ipvsadm dump is one clear error', () => {
    const r = knetsim(
      'trace',
      '--rules',
      'examples/worker-1.iptables-save',
      '--ipvs',
      file('bad.ipvs', '-A -t 10.96.0.1:443 -s xyz\n'),
      '--from',
      '10.0.0.1',
      '--to',
      '10.96.0.1:443',
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.ipvs: line 1: .*xyz/);
  });
});

describe('trace --proto icmp: a ping, hop by hop', () => {
  const demo = join(ROOT, 'examples', 'demo.yaml');
  const ping = (mode: string, to: string, ...more: string[]) => {
    const r = knetsim(
      'trace',
      demo,
      '--mode',
      mode,
      '--from',
      '10.244.1.2',
      '--to',
      to,
      '--proto',
      'icmp',
      '--json',
      ...more,
    );
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout) as {
      packet: string;
      outcome: string;
      endpoints: unknown[];
      hops: { stage: string; rule?: string; action: string }[];
      branches: { reply: unknown }[];
    };
  };
  it("a ClusterIP in each proxy mode: iptables lets it out unanswered, IPVS's filter and nftables' check reject it", () => {
    const iptables = ping('iptables', '10.96.12.7');
    expect(iptables.packet).toBe('icmp 10.244.1.2 -> 10.96.12.7 type 8 code 0');
    expect([iptables.outcome, iptables.endpoints]).toEqual(['ACCEPT', []]);
    expect(iptables.hops.slice(-2).map((h) => h.action)).toEqual([
      'sent out eth0 via 192.168.122.1',
      'no host owns 10.96.12.7 (in the service CIDR 10.96.0.0/12): nothing answers',
    ]);
    expect(iptables.branches[0]!.reply).toBeNull();
    const ipvs = ping('ipvs', '10.96.12.7');
    expect(ipvs.outcome).toBe('REJECT');
    expect(ipvs.hops.find((h) => h.action.startsWith('REJECT'))?.rule).toBe(
      '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT',
    );
    const nft = ping('nftables', 'myapp.default');
    expect(nft.outcome).toBe('REJECT');
    expect(nft.hops.some((h) => h.stage.includes('cluster-ips-check') && h.action.endsWith('reject'))).toBe(true);
  });
  it('a pod answers; --icmp-type sends another message', () => {
    const pod = ping('iptables', '10.244.2.2');
    expect(pod.outcome).toBe('ACCEPT');
    expect(pod.branches[0]!.reply).toEqual({
      sent: 'icmp 10.244.2.2 -> 10.244.1.2 type 0 code 0',
      received: 'icmp 10.244.2.2 -> 10.244.1.2 type 0 code 0',
    });
    // Linux answers no address-mask request.
    expect(ping('iptables', '10.244.2.2', '--icmp-type', 'address-mask-request').branches[0]!.reply).toBeNull();
    const error = ping('iptables', '10.244.2.2', '--icmp-type', 'port-unreachable');
    expect(error.packet).toBe('icmp 10.244.1.2 -> 10.244.2.2 type 3 code 3');
    expect(error.hops[0]?.action).toMatch(/^no connection: ICMP type 3 cannot open one/);
  });
  it('ports, bad types and ICMP options on other protocols are refused', () => {
    const refused = (...args: string[]) => {
      const r = knetsim('trace', demo, '--from', '10.244.1.2', ...args);
      expect(r.status).toBe(2);
      return r.stderr.trim();
    };
    expect(refused('--to', '10.96.12.7:80', '--proto', 'icmp')).toBe(
      'knetsim: --to: "10.96.12.7:80": an ICMP packet has no port; give the address alone',
    );
    expect(refused('--to', '10.96.12.7', '--proto', 'icmp', '--icmp-type', 'echo-bogus')).toBe(
      'knetsim: --icmp-type: "echo-bogus" is not an ICMP type (a name as iptables -m icmp takes it, or TYPE[/CODE])',
    );
    expect(refused('--to', '10.96.12.7:80', '--icmp-type', '8')).toBe('knetsim: --icmp-type: goes with --proto icmp');
    expect(refused('--to', '10.96.12.7', '--proto', 'icmp', '--sport', '5')).toBe(
      'knetsim: --sport: an ICMP packet has no ports (--icmp-type says which message)',
    );
    expect(refused('--to', '10.96.12.7', '--proto', 'gre')).toBe(
      'knetsim: --proto: "gre" is not tcp, udp, sctp or icmp',
    );
  });
});
