import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIpsetSave, type IpsetRegistry, parseIpsetSave } from '../../src/ipset/index';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function parsed(text: string): IpsetRegistry {
  const result = parseIpsetSave(text);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

/** Lines grouped per set and sorted: the kernel prints hash sets in hash order. */
function bySet(text: string): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
    const name = line.split(' ')[1]!;
    sets.set(name, [...(sets.get(name) ?? []), line].sort());
  }
  return sets;
}

describe('ipset save round trip', () => {
  it.each(['kube-proxy-ipvs.save', 'options.save', 'normalize.save'])('prints %s back byte for byte', (name) => {
    const text = fixture(name);
    expect(formatIpsetSave(parsed(text))).toBe(text);
  });

  it('round-trips the save text of the brief (comment create option and element comments)', () => {
    const text = [
      'create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536 comment',
      'add KUBE-CLUSTER-IP 10.96.0.10,udp:53 comment "Kubernetes service cluster ip + port for masquerade purpose"',
      'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535 comment',
      'add KUBE-NODE-PORT-TCP 30080 comment "Kubernetes nodeport TCP port for masquerade purpose"',
      '',
    ].join('\n');
    expect(formatIpsetSave(parsed(text))).toBe(text);
  });

  it('keeps sets in listing order and every kube-proxy set type', () => {
    const registry = parsed(fixture('kube-proxy-ipvs.save'));
    const types = Object.fromEntries([...registry.sets.values()].map((s) => [s.name, s.type]));
    expect(types).toMatchObject({
      'KUBE-LOOP-BACK': 'hash:ip,port,ip',
      'KUBE-CLUSTER-IP': 'hash:ip,port',
      'KUBE-EXTERNAL-IP': 'hash:ip,port',
      'KUBE-LOAD-BALANCER': 'hash:ip,port',
      'KUBE-LOAD-BALANCER-SOURCE-CIDR': 'hash:ip,port,net',
      'KUBE-LOAD-BALANCER-SOURCE-IP': 'hash:ip,port,ip',
      'KUBE-NODE-PORT-TCP': 'bitmap:port',
      'KUBE-NODE-PORT-LOCAL-TCP': 'bitmap:port',
      'KUBE-NODE-PORT-UDP': 'bitmap:port',
      'KUBE-HEALTH-CHECK-NODE-PORT': 'bitmap:port',
      'KUBE-IPVS-IPS': 'hash:ip',
    });
    expect([...registry.sets.keys()][0]).toBe('KUBE-LOOP-BACK');
    expect(registry.sets.get('KUBE-CLUSTER-IP')!.entries.size).toBe(6);
  });

  it.each([
    // options.restore gives no bucketsize/initval: the kernel picked them, knetsim prints none.
    ['options.restore', 'options.save', / bucketsize 12 initval 0x[0-9a-f]{8}$/gm],
    ['normalize.restore', 'normalize.save', /^$/g],
  ])('turns %s into what the real ipset saved (%s), set by set', (input, output, kernelChosen) => {
    const printed = formatIpsetSave(parsed(fixture(input)));
    expect(bySet(printed)).toEqual(bySet(fixture(output).replace(kernelChosen, '')));
  });

  it('reads numbers in C notation as ipset does: prefix lengths, ICMP type/code, protocols (ipset 7.17 in a netns)', () => {
    const printed = formatIpsetSave(
      parsed(
        'create N hash:net\nadd N 10.0.0.0/010\nadd N 10.1.0.0/0x10\ncreate P hash:ip,port\nadd P 10.0.0.1,icmp:010/0\nadd P 10.0.0.1,0x2f:0\n',
      ),
    );
    expect(printed.split('\n').filter((l) => l.startsWith('add'))).toEqual([
      'add N 10.0.0.0/8',
      'add N 10.1.0.0/16',
      'add P 10.0.0.1,icmp:echo-request',
      'add P 10.0.0.1,gre:0',
    ]);
  });

  it("reads port names as ipset does, in the services of the element's protocol (ipset 7.17 in a netns)", () => {
    const printed = formatIpsetSave(
      parsed(
        'create P hash:ip,port\nadd P 10.0.0.1,http\nadd P 10.0.0.1,udp:domain\ncreate B bitmap:port range 0-1000\nadd B www\n',
      ),
    );
    expect(printed.split('\n').filter((l) => l.startsWith('add'))).toEqual([
      'add P 10.0.0.1,tcp:80',
      'add P 10.0.0.1,udp:53',
      'add B 80',
    ]);
  });

  it('prints an empty registry as nothing and an empty set as its create line', () => {
    expect(formatIpsetSave(parsed(''))).toBe('');
    expect(formatIpsetSave(parsed('create A hash:net\n'))).toBe(
      'create A hash:net family inet hashsize 1024 maxelem 65536\n',
    );
  });

  it('accepts CRLF line ends, blank and # lines, COMMIT and -exist anywhere', () => {
    const text =
      '# dump\r\n\r\ncreate A hash:ip\r\nadd A 1.2.3.4\r\nadd A 1.2.3.4 -exist\r\n-! add A 1.2.3.4\r\nCOMMIT\r\n';
    expect(formatIpsetSave(parsed(text))).toBe(
      'create A hash:ip family inet hashsize 1024 maxelem 65536\nadd A 1.2.3.4\n',
    );
  });
});
