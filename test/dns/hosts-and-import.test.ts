// CoreDNS's hosts plugin and the Corefile's import, as k3s and AKS configure them:
// `hosts /etc/coredns/NodeHosts { fallthrough }` from the coredns ConfigMap, and
// `import custom/*.override` / `*.server` from the coredns-custom ConfigMap.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCoreDns, CorefileError, presentRecord, resolve } from '../../src/dns';
import { kubeletHostsFile } from '../../src/dns/corefile-files';
import { type HostsConfig, parseHosts, serveHosts } from '../../src/dns/hosts-plugin';
import { ask, scenarioFrom, serverFor } from './fixture';

/** A kube-system ConfigMap document with these files. */
function configMap(name: string, data: Record<string, string>): string {
  const lines = Object.entries(data).flatMap(([key, value]) => [
    `  ${key}: |`,
    ...value
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`),
  ]);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: kube-system}\ndata:\n${lines.join('\n')}\n`;
}

const NODE_HOSTS = configMap('coredns', {
  NodeHosts: [
    '192.168.1.10 server-1 Server-1.Lab',
    '192.168.1.11 agent-1 # the agent',
    '192.168.1.012 leading-zeros',
    'fd00::11 agent-1',
    'fd00::12 only-six',
    '10.9.9.9 *.apps.lab',
    '10.9.9.10 a.apps.lab',
    'not-an-address nothing',
  ].join('\n'),
});

function error(corefile: string, extraDocs = ''): string {
  try {
    serverFor(corefile, [], extraDocs);
  } catch (e) {
    if (e instanceof CorefileError) return e.message;
    throw e;
  }
  return 'no error';
}

describe('hosts', () => {
  const k3s = `.:53 {
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        fallthrough in-addr.arpa ip6.arpa
    }
    hosts /etc/coredns/NodeHosts {
        ttl 60
        reload 15s
        fallthrough
    }
}
`;
  it("answers A and AAAA from the file, before the kubernetes plugin, and passes other names on (k3s's NodeHosts)", () => {
    const dns = serverFor(k3s, [], NODE_HOSTS);
    expect(ask(dns, 'server-1.')).toBe('NOERROR | server-1. 60 IN A 192.168.1.10 |  | ');
    expect(ask(dns, 'agent-1.', 'AAAA')).toBe('NOERROR | agent-1. 60 IN AAAA fd00::11 |  | ');
    // Names are lower-cased as read and asked; the answer carries the question's name lower-cased.
    expect(ask(dns, 'SERVER-1.LAB.')).toBe('NOERROR | server-1.lab. 60 IN A 192.168.1.10 |  | ');
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
    // A name it knows with no record of the type asked: NODATA, authoritative, no SOA.
    const nodata = resolve(dns, { name: 'only-six.', type: 'A' });
    expect([nodata.rcode, nodata.flags.aa, nodata.answer, nodata.authority]).toEqual(['NOERROR', true, [], []]);
    expect(ask(dns, 'agent-1.', 'MX')).toBe('NOERROR |  |  | ');
    // Go's address parser: no leading zeros; a line without an address is skipped.
    expect(ask(dns, 'leading-zeros.')).toBe('SERVFAIL |  |  | ');
    expect(ask(dns, 'nothing.')).toBe('SERVFAIL |  |  | ');
  });

  it('PTR for the addresses it knows, anywhere; wildcards one label deep, without PTR', () => {
    const dns = serverFor(k3s, [], NODE_HOSTS);
    expect(ask(dns, '10.1.168.192.in-addr.arpa.', 'PTR')).toBe(
      'NOERROR | 10.1.168.192.in-addr.arpa. 60 IN PTR server-1.; 10.1.168.192.in-addr.arpa. 60 IN PTR server-1.lab. |  | ',
    );
    expect(ask(dns, 'x.apps.lab.')).toBe('NOERROR | x.apps.lab. 60 IN A 10.9.9.9 |  | ');
    expect(ask(dns, 'a.apps.lab.')).toBe('NOERROR | a.apps.lab. 60 IN A 10.9.9.10 |  | ');
    expect(ask(dns, 'deep.x.apps.lab.')).toBe('SERVFAIL |  |  | ');
    expect(ask(dns, 'apps.lab.')).toBe('SERVFAIL |  |  | ');
    // 10.9.9.9 has only the wildcard: the PTR question goes on to kubernetes, which falls through
    // in-addr.arpa for an address it does not know, and no plugin is left: SERVFAIL.
    expect(ask(dns, '9.9.9.10.in-addr.arpa.', 'PTR')).toBe('SERVFAIL |  |  | ');
  });

  it('without fallthrough an unknown name is SERVFAIL (no SOA to deny it); outside its zones it passes on', () => {
    const dns = serverFor(
      `.:53 {
    hosts /etc/coredns/NodeHosts lab {
        10.0.0.77 inline.lab
    }
    kubernetes cluster.local
}
`,
      [],
      NODE_HOSTS,
    );
    expect(ask(dns, 'server-1.lab.')).toBe('NOERROR | server-1.lab. 3600 IN A 192.168.1.10 |  | ');
    expect(ask(dns, 'inline.lab.')).toBe('NOERROR | inline.lab. 3600 IN A 10.0.0.77 |  | ');
    expect(ask(dns, 'missing.lab.')).toBe('SERVFAIL |  |  | ');
    // server-1. is outside `lab`: not read; the question goes to kubernetes, which has no zone for it.
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
  });

  it('file and inline entries both answer (file first); no_reverse; a missing file leaves the inline lines', () => {
    const both = serverFor(
      `.:53 {
    hosts /etc/coredns/NodeHosts {
        10.0.0.5 server-1
        no_reverse
        fallthrough
    }
}
`,
      [],
      NODE_HOSTS,
    );
    expect(ask(both, 'server-1.')).toBe(
      'NOERROR | server-1. 3600 IN A 10.0.0.5; server-1. 3600 IN A 192.168.1.10 |  | ',
    );
    expect(resolve(both, { name: 'server-1.', type: 'A' }).answer.map((a) => a.type === 'A' && a.address)).toEqual([
      '192.168.1.10',
      '10.0.0.5',
    ]);
    expect(ask(both, '10.1.168.192.in-addr.arpa.', 'PTR')).toBe('SERVFAIL |  |  | ');
    const missing = serverFor(`.:53 {\n    hosts /etc/coredns/absent {\n        10.0.0.6 only-inline\n    }\n}\n`);
    expect(ask(missing, 'only-inline.')).toBe('NOERROR | only-inline. 3600 IN A 10.0.0.6 |  | ');
  });

  it('fallthrough_unsupported passes other types of known names on', () => {
    const dns = serverFor(
      `.:53 {\n    hosts {\n        10.0.0.5 svc1.testns.svc.cluster.local\n        fallthrough\n        fallthrough_unsupported\n    }\n    kubernetes cluster.local\n}\n`,
    );
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 3600 IN A 10.0.0.5 |  | ',
    );
    // The kubernetes plugin answers the TXT question (NODATA with its SOA); hosts' own NODATA has no SOA.
    expect(ask(dns, 'svc1.testns.svc.cluster.local.', 'TXT')).toBe(
      'NOERROR |  | cluster.local. SOA ns.dns.cluster.local. | ',
    );
  });

  it('refuses what its setup refuses, naming the line', () => {
    expect(error('.:53 {\n    hosts {\n        ttl 0\n    }\n}\n')).toBe('line 3: ttl: ttl provided is invalid');
    expect(error('.:53 {\n    hosts {\n        ttl x\n    }\n}\n')).toBe('line 3: ttl: ttl needs a number of second');
    expect(error('.:53 {\n    hosts {\n        reload 5\n    }\n}\n')).toBe(
      "line 3: reload: invalid duration for reload '5'",
    );
    expect(error('.:53 {\n    hosts {\n        fallthrough\n        10.0.0.1 late\n    }\n}\n')).toBe(
      "line 4: 10.0.0.1: unknown property '10.0.0.1'",
    );
    expect(error('.:53 {\n    hosts {\n        fallthrough_unsupported\n    }\n}\n')).toBe(
      'line 2: hosts: fallthrough_unsupported requires fallthrough',
    );
    expect(error('.:53 {\n    hosts\n    hosts\n}\n')).toBe(
      'line 3: hosts: this plugin can only be used once per Server Block',
    );
  });

  it("with no file, the CoreDNS pod's own /etc/hosts, as kubelet writes it", () => {
    const demo = readFileSync(join(__dirname, '..', '..', 'examples', 'demo.yaml'), 'utf8');
    const scenario = scenarioFrom(
      `${demo}\n---\n${configMap('coredns', { Corefile: '.:53 {\n    hosts {\n        fallthrough\n    }\n    kubernetes cluster.local\n}' })}`,
    );
    const dns = buildCoreDns(scenario);
    const pod = scenario.pods.find((p) => p.podIPs.includes(dns.localIPs[0]!))!;
    expect(kubeletHostsFile(pod, 'cluster.local').split('\n').slice(0, 2)).toEqual([
      '# Kubernetes-managed hosts file.',
      '127.0.0.1\tlocalhost',
    ]);
    expect(resolve(dns, { name: 'localhost.', type: 'A' }).answer).toEqual([
      { name: 'localhost.', ttl: 3600, type: 'A', address: '127.0.0.1' },
    ]);
    expect(resolve(dns, { name: `${pod.name}.`, type: 'A' }).answer.map((a) => a.type === 'A' && a.address)).toEqual([
      dns.localIPs[0],
    ]);
  });
});

describe('import', () => {
  const CUSTOM = configMap('coredns-custom', {
    'b.override': 'hosts {\n  10.5.5.5 custom.example\n  fallthrough\n}',
    'a.override': 'log',
    'lab.server': 'lab:53 {\n    hosts {\n        10.6.6.6 box.lab\n    }\n}',
    'notes.txt': 'not a Corefile {',
  });
  it("splices in coredns-custom's files by glob (lexical order), inside a block and at the top (AKS, k3s)", () => {
    const dns = serverFor(
      `.:53 {
    kubernetes cluster.local
    import custom/*.override
}
import /etc/coredns/custom/*.server
`,
      [],
      CUSTOM,
    );
    expect(dns.config.servers.map((s) => s.zones)).toEqual([['.'], ['lab.']]);
    expect(ask(dns, 'custom.example.')).toBe('NOERROR | custom.example. 3600 IN A 10.5.5.5 |  | ');
    expect(ask(dns, 'box.lab.')).toBe('NOERROR | box.lab. 3600 IN A 10.6.6.6 |  | ');
  });

  it('an import just after a block opens, on its line, is expanded too', () => {
    const dns = serverFor('.:53 { import custom/*.override\n    kubernetes cluster.local\n}\n', [], CUSTOM);
    expect(ask(dns, 'custom.example.')).toBe('NOERROR | custom.example. 3600 IN A 10.5.5.5 |  | ');
  });

  it('a glob matching nothing imports nothing; a missing file is an error; snippets', () => {
    expect(
      serverFor('.:53 {\n    import custom/*.override\n    kubernetes cluster.local\n}\n').config.servers,
    ).toHaveLength(1);
    expect(error('.:53 {\n    import custom/extra.conf\n}\n')).toBe(
      'line 2: File to import not found: custom/extra.conf',
    );
    const dns = serverFor(`(common) {
    kubernetes cluster.local
}
cluster.local {
    import common
}
`);
    expect(ask(dns, 'svc1.testns.svc.cluster.local.')).toBe(
      'NOERROR | svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1 |  | ',
    );
  });

  it('names the imported file where a problem is, and refuses what Caddy refuses', () => {
    const bad = configMap('coredns-custom', { 'bad.override': 'hosts {\n  ttl 99999\n}' });
    expect(error('.:53 {\n    import custom/*.override\n}\n', bad)).toBe(
      '/etc/coredns/custom/bad.override: line 2: ttl: ttl provided is invalid',
    );
    expect(error('.:53 {\n    import custom/*.*\n}\n')).toBe(
      'line 2: Glob pattern may only contain one wildcard (*), but has others: /etc/coredns/custom/*.*',
    );
    expect(error('.:53 {\n    import a b\n}\n')).toBe('line 2: Import takes only one argument (glob pattern or file)');
    expect(error('(x) {\n    log\n}\n(x) {\n    log\n}\n.:53 {\n}\n')).toBe(
      'line 4: redeclaration of previously declared snippet x',
    );
    expect(error('(x) {\n    import x\n}\n.:53 {\n    import x\n}\n')).toBe(
      'line 1: maximum snippet import depth (10000) exceeded',
    );
    expect(error('.:53 {\n    import custom/a[b\n}\n')).toBe(
      'line 2: Failed to use import pattern custom/a[b: syntax error in pattern',
    );
    // A glob bracket pair matching nothing: only a warning; a lone "]" is a plain character.
    expect(error('.:53 {\n    import custom/a]b\n    kubernetes cluster.local\n}\n')).toBe('no error');
  });
});

// plugin/hosts/hosts_test.go and wildcard_test.go at coredns 4b26cced3, on the plugin alone.
describe("CoreDNS's hosts tests", () => {
  const HOSTS_EXAMPLE = [
    '127.0.0.1 localhost localhost.domain',
    '::1 localhost localhost.domain',
    '10.0.0.1 example.org',
    '::FFFF:10.0.0.2 example.com',
    '10.0.0.3 fallthrough-example.org',
    '1.2.3.4 aa.example.com',
    '5.6.7.8 *.apps.example.com',
    'reload 5s',
    'timeout 3600',
  ].join('\n');
  const plugin = (fallthrough?: string[], unsupported = false, text = HOSTS_EXAMPLE): HostsConfig => ({
    path: '/etc/hosts',
    origins: ['.'],
    ttl: 3600,
    ...(fallthrough ? { fallthrough } : {}),
    fallthroughUnsupported: unsupported,
    maps: [parseHosts(text, ['.'], true)],
  });
  const answer = (r: ReturnType<typeof serveHosts>) =>
    typeof r === 'string' ? r : [r.rcode, ...r.answer.map((a) => presentRecord(a).replaceAll('\t', ' '))].join(' | ');
  it('TestLookupA', () => {
    const h = plugin();
    expect(answer(serveHosts(h, { name: 'example.org.', type: 'A' }))).toBe(
      'NOERROR | example.org. 3600 IN A 10.0.0.1',
    );
    expect(answer(serveHosts(h, { name: 'example.com.', type: 'A' }))).toBe(
      'NOERROR | example.com. 3600 IN A 10.0.0.2',
    );
    expect(answer(serveHosts(h, { name: 'localhost.', type: 'AAAA' }))).toBe('NOERROR | localhost. 3600 IN AAAA ::1');
    expect(answer(serveHosts(h, { name: '1.0.0.10.in-addr.arpa.', type: 'PTR' }))).toBe(
      'NOERROR | 1.0.0.10.in-addr.arpa. 3600 IN PTR example.org.',
    );
    expect(answer(serveHosts(h, { name: '2.0.0.10.in-addr.arpa.', type: 'PTR' }))).toBe(
      'NOERROR | 2.0.0.10.in-addr.arpa. 3600 IN PTR example.com.',
    );
    expect(answer(serveHosts(h, { name: '1.0.0.127.in-addr.arpa.', type: 'PTR' }))).toBe(
      'NOERROR | 1.0.0.127.in-addr.arpa. 3600 IN PTR localhost. | 1.0.0.127.in-addr.arpa. 3600 IN PTR localhost.domain.',
    );
    expect(answer(serveHosts(h, { name: 'example.org.', type: 'AAAA' }))).toBe('NOERROR');
    expect(answer(serveHosts(h, { name: 'example.org.', type: 'MX' }))).toBe('NOERROR');
    expect(answer(serveHosts(plugin(['.']), { name: 'fallthrough-example.org.', type: 'AAAA' }))).toBe('NOERROR');
    expect(answer(serveHosts(h, { name: 'apps.example.com.', type: 'A' }))).toBe('servfail');
    expect(answer(serveHosts(h, { name: 'x.apps.example.com.', type: 'A' }))).toBe(
      'NOERROR | x.apps.example.com. 3600 IN A 5.6.7.8',
    );
    expect(answer(serveHosts(h, { name: 'aa.example.com.', type: 'A' }))).toBe(
      'NOERROR | aa.example.com. 3600 IN A 1.2.3.4',
    );
  });
  it('TestFallthroughUnsupportedType', () => {
    expect(answer(serveHosts(plugin(['.']), { name: 'example.org.', type: 'TXT' }))).toBe('NOERROR');
    expect(answer(serveHosts(plugin(['.'], true), { name: 'example.org.', type: 'TXT' }))).toBe('next');
    expect(answer(serveHosts(plugin(['example.net.'], true), { name: 'example.org.', type: 'TXT' }))).toBe('NOERROR');
    expect(answer(serveHosts(plugin(['.']), { name: 'missing.example.org.', type: 'TXT' }))).toBe('next');
  });
  it('TestLookupWildcardHost', () => {
    const h = plugin(
      undefined,
      false,
      [
        '127.0.0.53 *.example.org',
        '127.0.1.52 *.intern.example.org',
        '127.0.0.54 foo.example.org',
        '192.168.33.10 *.example.com',
        '192.168.33.11 a.example.com',
        '192.168.33.12 b.example.com',
      ].join('\n'),
    );
    const a = (name: string) => {
      const r = serveHosts(h, { name, type: 'A' });
      return typeof r === 'string' ? [] : r.answer.map((x) => (x.type === 'A' ? x.address : ''));
    };
    expect(a('foo.example.org.')).toEqual(['127.0.0.54']);
    expect(a('bar.example.org.')).toEqual(['127.0.0.53']);
    expect(a('bar.intern.example.org.')).toEqual(['127.0.1.52']);
    expect(a('a.example.com.')).toEqual(['192.168.33.11']);
    expect(a('b.example.com.')).toEqual(['192.168.33.12']);
    expect(a('c.example.com.')).toEqual(['192.168.33.10']);
    expect(a('example.com.')).toEqual([]);
    expect(a('deep.foo.example.org.')).toEqual([]);
    // A single label has no parent to stand for: "*" matches nothing (replaceWithAsteriskLabel gives "").
    const star = plugin(['.'], false, '10.0.0.9 *');
    expect(answer(serveHosts(star, { name: 'foo.', type: 'A' }))).toBe('next');
  });
});
