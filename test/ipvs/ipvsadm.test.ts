import { describe, expect, it } from 'vitest';
import {
  formatIpvsTableList,
  formatIpvsTableSave,
  type IpvsTable,
  listServices,
  parseIpvsadmList,
  parseIpvsadmSave,
} from '../../src/ipvs/index';

const LIST = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  'TCP  10.96.0.1:443 rr',
  '  -> 192.168.122.21:6443          Masq    1      0          0         ',
  'UDP  10.96.0.10:53 rr',
  '  -> 10.244.0.2:53                Masq    1      0          0         ',
  '',
].join('\n');

const SAVE = ['-A -t 10.96.0.1:443 -s rr', '-a -t 10.96.0.1:443 -r 192.168.122.21:6443 -m -w 1', ''].join('\n');

function ok<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('ipvsadm -Ln', () => {
  it('prints the brief example byte for byte (the last column pads with trailing spaces)', () => {
    const table = ok(parseIpvsadmList(LIST));
    expect(formatIpvsTableList(table)).toBe(LIST);
  });

  it('sorts services by protocol, address, port and servers by address, port', () => {
    const table = ok(
      parseIpvsadmSave(
        [
          '-A -u 10.96.0.10:53 -s rr',
          '-A -t 10.96.0.10:9153 -s rr',
          '-A -t 10.96.0.10:53 -s rr',
          '-a -t 10.96.0.10:53 -r 10.244.1.3:53 -m -w 1',
          '-a -t 10.96.0.10:53 -r 10.244.0.4:53 -m -w 1',
          '',
        ].join('\n'),
      ),
    );
    const lines = formatIpvsTableList(table).split('\n');
    expect(lines.slice(3)).toEqual([
      'TCP  10.96.0.10:53 rr',
      '  -> 10.244.0.4:53                Masq    1      0          0         ',
      '  -> 10.244.1.3:53                Masq    1      0          0         ',
      'TCP  10.96.0.10:9153 rr',
      'UDP  10.96.0.10:53 rr',
      '',
    ]);
  });

  it('renders persistence, mask, scheduler flags and ops as print_service_entry does', () => {
    const table = ok(
      parseIpvsadmSave(
        [
          '-A -t 10.96.0.20:80 -s rr -p 10800',
          '-A -t 10.96.0.21:80 -s sh -p 60 -M 255.255.255.0 -b sh-fallback,sh-port',
          '-A -u 10.96.0.22:53 -s rr -o',
          '-A --sctp-service 10.96.0.23:9 -s mh -b mh-port',
          '-a --sctp-service 10.96.0.23:9 -r 10.244.0.9:9 -i -w 0',
          '-a --sctp-service 10.96.0.23:9 -r 10.244.0.8 -g -w 3',
          '',
        ].join('\n'),
      ),
    );
    expect(formatIpvsTableList(table).split('\n').slice(3)).toEqual([
      'TCP  10.96.0.20:80 rr persistent 10800',
      'TCP  10.96.0.21:80 sh (sh-fallback,sh-port) persistent 60 mask 255.255.255.0',
      'UDP  10.96.0.22:53 rr ops',
      'SCTP 10.96.0.23:9 mh (mh-port)',
      '  -> 10.244.0.8:9                 Route   3      0          0         ',
      '  -> 10.244.0.9:9                 Tunnel  0      0          0         ',
      '',
    ]);
    expect(formatIpvsTableSave(table)).toBe(
      [
        '-A -t 10.96.0.20:80 -s rr -p 10800',
        '-A -t 10.96.0.21:80 -s sh -p 60 -M 255.255.255.0 -b sh-fallback,sh-port',
        '-A -u 10.96.0.22:53 -s rr -o',
        '-A --sctp-service 10.96.0.23:9 -s mh -b mh-port',
        '-a --sctp-service 10.96.0.23:9 -r 10.244.0.8:9 -g -w 3',
        '-a --sctp-service 10.96.0.23:9 -r 10.244.0.9:9 -i -w 0 --tun-type ipip',
        '',
      ].join('\n'),
    );
  });

  it('reads counters back', () => {
    const text = LIST.replace('Masq    1      0          0         \nUDP', 'Masq    1      3          12        \nUDP');
    const table = ok(parseIpvsadmList(text));
    const [api] = listServices(table);
    expect(api!.servers[0]).toMatchObject({ activeConns: 3, inactConns: 12 });
    expect(formatIpvsTableList(table)).toBe(text);
  });
});

describe('ipvsadm -S -n', () => {
  it('round-trips the brief example', () => {
    expect(formatIpvsTableSave(ok(parseIpvsadmSave(SAVE)))).toBe(SAVE);
  });

  it('applies ipvsadm defaults: wlc, -g, weight 1, -p 360, the service port for the server', () => {
    const table: IpvsTable = ok(parseIpvsadmSave('-A -t 10.96.0.1:80 -p\n-a -t 10.96.0.1:80 -r 10.244.0.1\n'));
    const [svc] = listServices(table);
    expect(svc).toMatchObject({ scheduler: 'wlc', timeout: 360, flags: { persistent: true } });
    expect(svc!.servers[0]).toMatchObject({ forward: 'Route', weight: 1, port: 80 });
    expect(formatIpvsTableSave(table)).toBe(
      '-A -t 10.96.0.1:80 -s wlc -p 360\n-a -t 10.96.0.1:80 -r 10.244.0.1:80 -g -w 1\n',
    );
  });

  it('accepts long options', () => {
    const table = ok(
      parseIpvsadmSave(
        '--add-service --tcp-service 10.96.0.1:80 --scheduler=sed\n--add-server -t 10.96.0.1:80 --real-server 10.244.0.1:8080 --masquerading --weight 2\n',
      ),
    );
    expect(formatIpvsTableSave(table)).toBe(
      '-A -t 10.96.0.1:80 -s sed\n-a -t 10.96.0.1:80 -r 10.244.0.1:8080 -m -w 2\n',
    );
  });

  it('keeps kernel list order as the reverse of the order servers were added', () => {
    const table = ok(parseIpvsadmSave(`${SAVE}-a -t 10.96.0.1:443 -r 192.168.122.22:6443 -m -w 1\n`));
    expect(listServices(table)[0]!.servers.map((s) => s.address & 255)).toEqual([22, 21]);
  });
});

describe('bad input', () => {
  const error = (text: string) => {
    const r = parseIpvsadmSave(text, 'node.ipvs');
    if (r.ok) throw new Error('expected an error');
    return r.error;
  };

  it('names the line and the token', () => {
    const e = error(`${SAVE}\n-A -t 10.96.0.2:80 -s xyz\n`);
    expect(e.message).toBe('node.ipvs: line 4: unknown scheduler "xyz"');
    expect(e).toMatchObject({ line: 4, token: 'xyz' });
  });

  it.each([
    ['-A -t 10.96.0.1:70000 -s rr', 'node.ipvs: line 1: port out of range "10.96.0.1:70000"'],
    ['-A -t 10.96.0:80 -s rr', 'node.ipvs: line 1: bad address "10.96.0:80"'],
    ['-A -t 10.96.0.1:80 -s', 'node.ipvs: line 1: option "-s" needs a value'],
    ['-A -t 10.96.0.1:80 -z', 'node.ipvs: line 1: unknown option "-z"'],
    ['-X -t 10.96.0.1:80', 'node.ipvs: line 1: unknown command "-X" (a save file has only -A and -a lines)'],
    ['-A -t 10.96.0.1:0 -s rr', 'node.ipvs: line 1: Zero port specified for non-persistent service'],
    ['-A -t 10.96.0.1:53 -o', 'node.ipvs: line 1: One-Packet Scheduling is only for UDP virtual services'],
    ['-A -t 10.96.0.1:80 -s rr -b sh-port', 'node.ipvs: line 1: sh-port only applies to the sh scheduler'],
    ['-a -t 10.96.0.1:80 -r 10.244.0.1:80', 'node.ipvs: line 1: Service not defined'],
    [
      '-A -t 10.96.0.1:80\n-a -t 10.96.0.1:80 -r 10.244.0.1 -w 65536',
      'node.ipvs: line 2: illegal weight specified "65536"',
    ],
    ['-A -t 10.96.0.1:80\n-A -t 10.96.0.1:80', 'node.ipvs: line 2: Service already exists'],
    ['-A -t [::1]:80', 'node.ipvs: line 1: IPv6 is not modelled "[::1]:80"'],
    ['-A -f 1 -s rr', 'node.ipvs: line 1: fwmark services are not modelled'],
    ['-A -t 10.96.0.1:80 -p 0', 'node.ipvs: line 1: invalid timeout value "0" specified'],
  ])('%s', (text, message) => {
    expect(error(text).message).toBe(message);
  });

  it('rejects a malformed -Ln line', () => {
    const r = parseIpvsadmList(`${LIST}garbage here\n`, 'node.ipvs');
    expect(!r.ok && r.error.message).toBe('node.ipvs: line 8: malformed line "garbage here"');
    const s = parseIpvsadmList(LIST.replace('rr\n  -> 192', 'xyz\n  -> 192'), 'node.ipvs');
    expect(!s.ok && s.error.message).toBe('node.ipvs: line 4: unknown scheduler "xyz"');
  });
});
