// The plugins around the kubernetes plugin that change answers: rewrite (name rules
// and response restoration) and transfer (AXFR of the cluster zone).

import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { answerWire, decodeResponse, presentRecord, resolve, zoneFileOf } from '../../src/dns';
import { ask, serverFor } from './fixture';

describe('rewrite name', () => {
  it('exact: the question is answered as the rewritten name, the client sees its own name', () => {
    const dns = serverFor(`.:53 {
    rewrite name api.example.org svc1.testns.svc.cluster.local
    kubernetes cluster.local
    forward . 192.0.2.53
}
`);
    expect(ask(dns, 'api.example.org.')).toBe('NOERROR | api.example.org. 5 IN A 10.0.0.1 |  | ');
    expect(ask(dns, 'other.example.org.')).toBe('NXDOMAIN |  |  | ');
  });

  it('suffix with answer auto maps owner names back; without it they stay rewritten', () => {
    const auto = serverFor(`.:53 {
    rewrite stop {
        name suffix .testns.corp. .testns.svc.cluster.local. answer auto
    }
    kubernetes cluster.local
}
`);
    expect(ask(auto, 'svc1.testns.corp.')).toBe('NOERROR | svc1.testns.corp. 5 IN A 10.0.0.1 |  | ');
    const plain = serverFor(`.:53 {
    rewrite name suffix .testns.corp. .testns.svc.cluster.local.
    kubernetes cluster.local
}
`);
    const r = resolve(plain, { name: 'svc1.testns.corp.', type: 'A' });
    expect(r.question.name).toBe('svc1.testns.corp.');
    expect(r.answer.map(presentRecord)).toEqual(['svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1']);
  });

  it('regex with groups and an explicit answer name rule', () => {
    const dns = serverFor(`.:53 {
    rewrite stop {
        name regex (.*)-(testns)\\.example\\.org {1}.{2}.svc.cluster.local
        answer name (.*)\\.(testns)\\.svc\\.cluster\\.local {1}-{2}.example.org
    }
    kubernetes cluster.local
}
`);
    expect(ask(dns, 'svc1-testns.example.org.')).toBe('NOERROR | svc1-testns.example.org. 5 IN A 10.0.0.1 |  | ');
  });

  it('fields other than name are refused by name', () => {
    expect(() => serverFor('.:53 {\n    rewrite ttl example.org 10\n    kubernetes cluster.local\n}\n')).toThrow(
      'line 2: rewrite: the "ttl" field is not modelled (only name rewrites are)',
    );
  });
});

describe('transfer', () => {
  const dns = serverFor(`cluster.local {
    kubernetes cluster.local {
        namespaces testns
    }
    transfer {
        to *
    }
}
`);

  it('AXFR: the SOA first and last, NS and its address, then every service of the exposed namespaces', () => {
    const r = resolve(dns, { name: 'cluster.local.', type: 'AXFR' });
    expect(r.rcode).toBe('NOERROR');
    const lines = r.answer.map(presentRecord);
    expect(r.answer[0]!.type).toBe('SOA');
    expect(r.answer[r.answer.length - 1]!.type).toBe('SOA');
    expect(lines).toContain('svc1.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.1');
    expect(lines).toContain(
      '_http._tcp.svc1.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 svc1.testns.svc.cluster.local.',
    );
    expect(lines).toContain('external.testns.svc.cluster.local.\t5\tIN\tCNAME\text.interwebs.test.');
    expect(lines).toContain('dup-name.hdls1.testns.svc.cluster.local.\t5\tIN\tA\t172.0.0.5');
    expect(lines.some((l) => l.includes('unexposedns'))).toBe(false);
  });

  it('a client outside "to" is refused', () => {
    const only = serverFor(`cluster.local {
    kubernetes cluster.local
    transfer {
        to 192.0.2.1
    }
}
`);
    expect(resolve(only, { name: 'cluster.local.', type: 'AXFR' }, { ip: '10.1.1.1' }).rcode).toBe('REFUSED');
    expect(resolve(only, { name: 'cluster.local.', type: 'AXFR' }, { ip: '192.0.2.1' }).rcode).toBe('NOERROR');
  });
});

describe('transfer as CoreDNS serves it', () => {
  const dns = serverFor(`cluster.local {
    kubernetes cluster.local {
        namespaces testns
    }
    transfer {
        to 192.0.2.1:53 [2001:db8::1]:53 10.1.1.1
    }
}
`);
  const tcp = (ip: string) => ({ ip, transport: 'tcp' as const });

  it('over TCP only; "to" entries may carry a port', () => {
    expect(resolve(dns, { name: 'cluster.local.', type: 'AXFR' }, tcp('192.0.2.1')).rcode).toBe('NOERROR');
    expect(resolve(dns, { name: 'cluster.local.', type: 'AXFR' }, tcp('2001:db8::1')).rcode).toBe('NOERROR');
    expect(resolve(dns, { name: 'cluster.local.', type: 'AXFR' }, tcp('10.1.1.1')).rcode).toBe('NOERROR');
    expect(resolve(dns, { name: 'cluster.local.', type: 'AXFR' }, tcp('192.0.2.2')).rcode).toBe('REFUSED');
    expect(resolve(dns, { name: 'cluster.local.', type: 'AXFR' }, { ip: '192.0.2.1', transport: 'udp' }).rcode).toBe(
      'REFUSED',
    );
  });

  it('IXFR: without the client SOA a SERVFAIL; the current serial gets the SOA alone, an older one the zone', () => {
    const ask = (ixfrSerial?: number) =>
      resolve(
        dns,
        { name: 'cluster.local.', type: 'IXFR', ...(ixfrSerial === undefined ? {} : { ixfrSerial }) },
        tcp('192.0.2.1'),
      );
    expect(ask().rcode).toBe('SERVFAIL');
    const full = ask(1);
    expect(full.answer.length).toBeGreaterThan(2);
    const current = ask(full.answer[0]!.type === 'SOA' ? full.answer[0]!.serial : -1);
    expect(current.answer.map((r) => r.type)).toEqual(['SOA']);
  });

  it('a name inside the zone is transferred as a zone of its own, as the kubernetes plugin does', () => {
    const r = resolve(dns, { name: 'svc.cluster.local.', type: 'AXFR' }, tcp('192.0.2.1'));
    const lines = r.answer.map(presentRecord);
    expect(r.answer[0]!.name).toBe('svc.cluster.local.');
    expect(lines).toContain('svc1.testns.svc.svc.cluster.local.\t5\tIN\tA\t10.0.0.1');
  });

  it('on the wire: AXFR over UDP is refused; an IXFR carries its serial in the authority section', () => {
    const query = (type: 'AXFR' | 'IXFR', serial?: number) =>
      dnsPacket.encode({
        type: 'query',
        id: 7,
        questions: [{ type, name: 'cluster.local' }],
        ...(serial === undefined
          ? {}
          : {
              authorities: [
                {
                  type: 'SOA',
                  name: 'cluster.local',
                  data: {
                    mname: 'ns.dns.cluster.local',
                    rname: 'hostmaster.cluster.local',
                    serial,
                    refresh: 7200,
                    retry: 1800,
                    expire: 86400,
                    minimum: 5,
                  },
                },
              ],
            }),
      });
    const client = { address: '192.0.2.1', port: 5300 };
    // dns-packet decodes the rcode but does not declare it.
    const ask = (q: Buffer, transport: 'udp' | 'tcp') =>
      decodeResponse(answerWire(dns, q, transport, client).response!) as dnsPacket.DecodedPacket & { rcode: string };
    expect(ask(query('AXFR'), 'udp').rcode).toBe('REFUSED');
    expect(ask(query('IXFR'), 'tcp').rcode).toBe('SERVFAIL');
    const full = ask(query('IXFR', 1), 'tcp');
    expect(full.rcode).toBe('NOERROR');
    const soa = full.answers![0] as dnsPacket.StringAnswer & { data: { serial: number } };
    expect(full.answers!.length).toBeGreaterThan(2);
    expect(ask(query('IXFR', soa.data.serial), 'tcp').answers!.map((a) => a.type)).toEqual(['SOA']);
  });

  it("a Service without ports is transferred with CoreDNS's sentinel port, written as 65535; a zone file leaves it out", () => {
    const portless = serverFor(
      `cluster.local {
    kubernetes cluster.local
    transfer {
        to *
    }
}
`,
      [],
      `apiVersion: v1
kind: Service
metadata: {name: bare, namespace: testns}
spec: {clusterIP: 10.0.0.77}
`,
    );
    const lines = resolve(portless, { name: 'cluster.local.', type: 'AXFR' }).answer.map(presentRecord);
    expect(lines).toContain('bare.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.77');
    expect(lines).toContain('bare.testns.svc.cluster.local.\t5\tIN\tSRV\t0 100 65535 bare.testns.svc.cluster.local.');
    expect(zoneFileOf(portless)).toContain('bare.testns.svc.cluster.local.\t5\tIN\tA\t10.0.0.77');
    expect(zoneFileOf(portless)).not.toContain('65535');
  });
});

describe('messages that are no query, on the wire', () => {
  const dns = serverFor('.:53 {\n    kubernetes cluster.local\n}\n', []);
  const client = { address: '192.0.2.1', port: 5300 };
  const query = dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'kubernetes.default.svc.cluster.local' }],
  });

  it('a response (QR set) gets no answer and no log line, as CoreDNS drops one', () => {
    const response = Buffer.from(query);
    response[2] = response[2]! | 0x80;
    const x = answerWire(dns, response, 'udp', client);
    expect([x.response, x.log]).toEqual([null, null]);
    // As is a message shorter than a DNS header.
    const short = answerWire(dns, query.subarray(0, 11), 'udp', client);
    expect([short.response, short.log]).toEqual([null, null]);
  });

  it('a malformed message is a FORMERR, logged without the decoder’s own words', () => {
    const truncated = query.subarray(0, 20);
    const x = answerWire(dns, truncated, 'udp', client);
    const decoded = decodeResponse(x.response!) as dnsPacket.DecodedPacket & { rcode: string };
    expect([decoded.rcode, x.log]).toEqual(['FORMERR', '192.0.2.1:5300 - 7 "? udp 20" FORMERR (malformed message)']);
  });
});
