// Rules met by a forwarded packet: a client namespace behind the node's cni0
// (10.244.1.5, gateway 10.244.1.1) sends a UDP datagram (20 bytes of payload)
// from port 40000; the node forwards it out of eth0 (192.168.0.2/24) to a
// server at 192.168.0.9, or delivers it itself. Sockets on ports 9-11 in the
// server and in the node say where it arrived and from where; knetsim's trace
// of the same packet on the same rules (test/helpers' node, the same addresses)
// must say the same. Each case is one rule set users' dumps could hold.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SetLookup, setLookupOf, tracePacket } from '../../src/engine';
import { parseIpsetSave } from '../../src/ipset';
import { loadNftFile } from '../../src/nftables';
import { ip, nodeFromRules } from '../helpers/node-from-rules';
import { kernelGate } from './kernel-gate';
import { inNs, must, Namespaces, removeStale, vethToPeer } from './netns';
import { type CaseRules, rulesDump } from './rules-dump';

const why = kernelGate('forward rules oracle');

interface Case {
  readonly name: string;
  /** The client's source address (default 10.244.1.5; another is added to it, a spoofed source). */
  readonly from?: string;
  readonly to: string;
  /** The rules, or how to make them when the case runs (rules about the current time). */
  readonly rules: CaseRules | (() => CaseRules);
  /** Whether the datagram is meant to arrive somewhere: checked against the kernel, so a case built to pass cannot pass by both dropping. */
  readonly arrives?: boolean;
  /** filter FORWARD's policy (default ACCEPT). */
  readonly forwardPolicy?: 'ACCEPT' | 'DROP';
  /** ipsets (`ipset restore` text) made before the rules are loaded. */
  readonly sets?: string;
  /** An nftables ruleset (`nft -f`) loaded beside the iptables rules. */
  readonly nft?: string;
  /** The datagram's payload, in hex (default twenty "x"). */
  readonly payload?: string;
  /** The TTL and TOS byte the client sends with (default 64 and 0). */
  readonly ttl?: number;
  readonly tos?: number;
}

const CLIENT = '10.244.1.5';
/** The client's interface address: the frames the node receives from it carry it (-m mac). */
const CLIENT_MAC = '02:00:00:00:01:05';
const SERVER = '192.168.0.9';
const NODE = '192.168.0.2';

const CASES: readonly Case[] = [
  { name: 'forwarded as is', to: SERVER, rules: {} },
  { name: '-i cni0 -o eth0 DROP', to: SERVER, rules: { filter: ['-A FORWARD -i cni0 -o eth0 -j DROP'] } },
  { name: '! -o eth0 DROP passes', to: SERVER, rules: { filter: ['-A FORWARD ! -o eth0 -j DROP'] } },
  {
    name: 'addresses and policy DROP',
    to: SERVER,
    rules: { filter: ['-A FORWARD -s 10.244.0.0/16 -d 192.168.0.0/24 -p udp -m udp --dport 9 -j ACCEPT'] },
    forwardPolicy: 'DROP',
  },
  {
    name: 'DNAT to another port',
    to: SERVER,
    rules: { nat: ['-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.9:10'] },
  },
  {
    name: 'DNAT to the node: INPUT',
    to: SERVER,
    rules: { nat: ['-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.2:11'] },
  },
  {
    name: 'REDIRECT: the incoming interface address',
    to: SERVER,
    rules: { nat: ['-A PREROUTING -p udp -j REDIRECT --to-ports 10'] },
  },
  { name: 'MASQUERADE out of eth0', to: SERVER, rules: { nat: ['-A POSTROUTING -o eth0 -j MASQUERADE'] } },
  {
    name: 'MASQUERADE with ports',
    to: SERVER,
    rules: { nat: ['-A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 6000'] },
  },
  {
    name: 'SNAT',
    to: SERVER,
    rules: { nat: ['-A POSTROUTING -s 10.244.1.0/24 -p udp -j SNAT --to-source 192.168.0.2:7000'] },
  },
  {
    name: 'a mark from mangle PREROUTING seen in FORWARD',
    to: SERVER,
    rules: {
      mangle: ['-A PREROUTING -j MARK --set-xmark 0x4000/0x4000'],
      filter: ['-A FORWARD -m mark --mark 0x4000/0x4000 -j DROP'],
    },
  },
  { name: 'ctstate NEW', to: SERVER, rules: { filter: ['-A FORWARD -m conntrack --ctstate NEW -j DROP'] } },
  {
    name: 'NOTRACK, then state UNTRACKED; nat skipped',
    to: SERVER,
    rules: {
      raw: ['-A PREROUTING -p udp -j NOTRACK'],
      nat: ['-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.9:11', '-A POSTROUTING -j MASQUERADE'],
      filter: ['-A FORWARD -m state --state UNTRACKED -j ACCEPT'],
    },
    forwardPolicy: 'DROP',
  },
  { name: 'REJECT in FORWARD', to: SERVER, rules: { filter: ['-A FORWARD -p udp -j REJECT'] } },
  {
    name: 'addrtype LOCAL picks the node address for a DNAT',
    to: NODE,
    rules: { nat: ['-A PREROUTING -m addrtype --dst-type LOCAL -p udp -j DNAT --to-destination 192.168.0.9:10'] },
  },
  { name: 'to the node itself: INPUT', to: NODE, rules: { filter: ['-A INPUT -i cni0 -p udp --dport 9 -j DROP'] } },
  {
    // inet_dev_addr_type: eth0's address is not local to cni0, where the packet came in.
    name: 'addrtype --limit-iface-in: the node address is LOCAL only on its own device',
    to: NODE,
    rules: { filter: ['-A INPUT -p udp -m addrtype --dst-type LOCAL --limit-iface-in -j DROP'] },
  },
  {
    name: 'addrtype LOCAL without the limit',
    to: NODE,
    rules: { filter: ['-A INPUT -p udp -m addrtype --dst-type LOCAL -j DROP'] },
  },
  { name: 'pkttype unicast', to: SERVER, rules: { filter: ['-A FORWARD -m pkttype --pkt-type unicast -j DROP'] } },
  {
    name: '-g from FORWARD falls to its policy',
    to: SERVER,
    rules: { filter: [':X - [0:0]', '-A FORWARD -g X', '-A FORWARD -j ACCEPT'] },
    forwardPolicy: 'DROP',
  },
  {
    name: "a NAT port range that holds the packet's own port keeps it (SNAT, DNAT)",
    to: SERVER,
    rules: {
      nat: [
        '-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.9:5-15',
        '-A POSTROUTING -s 10.244.1.5 -p udp -j SNAT --to-source 192.168.0.2:30000-50000',
      ],
    },
  },
  {
    name: 'MASQUERADE with a range holding the port',
    to: SERVER,
    rules: { nat: ['-A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 39000-41000'] },
  },
  {
    name: 'DNAT to a port range without the port: its first',
    to: SERVER,
    rules: { nat: ['-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.9:10-11'] },
  },
  {
    name: "DNAT to an address range: the kernel's hash of the addresses picks one",
    to: SERVER,
    rules: { nat: ['-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.20-192.168.0.27'] },
  },
  {
    name: 'DNAT to an address range, --persistent',
    to: SERVER,
    rules: { nat: ['-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.20-192.168.0.27 --persistent'] },
  },
  {
    name: 'SNAT to an address range',
    to: SERVER,
    rules: { nat: ['-A POSTROUTING -p udp -j SNAT --to-source 192.168.0.30-192.168.0.39'] },
  },
  {
    name: 'SNAT to a range holding the source: kept',
    to: SERVER,
    rules: { nat: ['-A POSTROUTING -p udp -j SNAT --to-source 10.244.1.1-10.244.1.9'] },
  },
  {
    name: 'rpfilter: the way back leaves by cni0',
    to: SERVER,
    rules: { raw: ['-A PREROUTING -m rpfilter --invert -j DROP'] },
  },
  {
    name: 'rpfilter: a spoofed source fails the strict check',
    from: '192.168.0.50',
    to: SERVER,
    rules: { raw: ['-A PREROUTING -m rpfilter --invert -j DROP'] },
  },
  {
    name: 'rpfilter --loose: any way back will do',
    from: '192.168.0.50',
    to: SERVER,
    rules: { mangle: ['-A PREROUTING -m rpfilter --loose --validmark --invert -j DROP'] },
  },
  {
    name: "rpfilter: the node's own address as source needs --accept-local",
    from: '192.168.0.2',
    to: SERVER,
    rules: { raw: ['-A PREROUTING -m rpfilter --invert -j DROP'] },
  },
  { name: "a source that is the node's own address, no rules", from: '192.168.0.2', to: SERVER, rules: {} },
  {
    // xt_owner: a packet with no socket matches when every test the rule names is negated.
    name: 'owner on a forwarded packet: ! --uid-owner 0 matches it, --socket-exists does not',
    to: SERVER,
    rules: {
      mangle: ['-A POSTROUTING -m owner --socket-exists -j ACCEPT', '-A POSTROUTING -m owner ! --uid-owner 0 -j DROP'],
    },
  },
  {
    name: 'owner on a forwarded packet: --uid-owner 0 does not match it',
    to: SERVER,
    rules: { mangle: ['-A POSTROUTING -m owner --uid-owner 0 -j DROP'] },
  },
  {
    name: 'owner on a forwarded packet: --suppl-groups is a test that is never negated',
    to: SERVER,
    rules: { mangle: ['-A POSTROUTING -m owner ! --gid-owner 5 --suppl-groups -j DROP'] },
  },
  {
    name: 'policy in FORWARD: --dir out --pol none matches, --dir in --pol ipsec does not',
    to: SERVER,
    rules: {
      filter: [
        '-A FORWARD -m policy --dir in --pol ipsec -j ACCEPT',
        '-A FORWARD -m policy --dir out --pol none -j DROP',
      ],
    },
  },
  {
    name: 'CONNMARK kept through DNAT into POSTROUTING',
    to: SERVER,
    rules: {
      mangle: ['-A PREROUTING -j CONNMARK --set-mark 0x3'],
      nat: [
        '-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.9:10',
        '-A POSTROUTING -m connmark --mark 0x3 -j MASQUERADE',
      ],
    },
  },
  // The IP header's TTL and TOS byte: ip_forward takes one off the TTL before FORWARD.
  {
    name: 'ttl: 64 in PREROUTING, 63 from FORWARD on',
    to: SERVER,
    rules: {
      mangle: ['-A PREROUTING -m ttl ! --ttl-eq 64 -j DROP', '-A POSTROUTING -m ttl --ttl-gt 63 -j DROP'],
      filter: ['-A FORWARD -m ttl --ttl-lt 63 -j DROP'],
    },
  },
  { name: 'ttl 1: ip_forward drops it', arrives: false, to: SERVER, ttl: 1, rules: {} },
  { name: 'ttl 1 to the node itself: delivered', to: NODE, ttl: 1, rules: {} },
  { name: 'ttl 2: forwarded with 1', to: SERVER, ttl: 2, rules: {} },
  {
    name: 'TTL --ttl-set 1 in PREROUTING: not forwarded',
    arrives: false,
    to: SERVER,
    rules: { mangle: ['-A PREROUTING -j TTL --ttl-set 1'] },
  },
  {
    name: 'TTL --ttl-inc and --ttl-dec after ip_forward',
    arrives: true,
    to: SERVER,
    ttl: 250,
    rules: { mangle: ['-A FORWARD -j TTL --ttl-inc 10', '-A POSTROUTING -m ttl --ttl-eq 255 -j TTL --ttl-dec 5'] },
  },
  {
    name: 'tos: a symbolic value and its mask',
    to: SERVER,
    tos: 0x12,
    rules: { filter: ['-A FORWARD -m tos --tos Minimize-Delay -j DROP'] },
  },
  {
    name: 'tos: a value under a mask, negated',
    to: SERVER,
    tos: 0x12,
    rules: { filter: ['-A FORWARD -m tos ! --tos 0x10/0xf0 -j DROP', '-A FORWARD -m tos --tos 0x12 -j DROP'] },
  },
  {
    name: 'dscp class and number',
    to: SERVER,
    tos: 0xb9,
    rules: { filter: ['-A FORWARD -m dscp ! --dscp-class EF -j DROP', '-A FORWARD -m dscp --dscp 0x2f -j DROP'] },
  },
  {
    name: 'TOS --set-tos keeps what the mask leaves; --xor-tos',
    to: SERVER,
    tos: 0xff,
    rules: { mangle: ['-A PREROUTING -j TOS --set-tos 0x08/0x0c', '-A FORWARD -j TOS --xor-tos 0x30'] },
  },
  {
    name: 'ecn: the IP ECN bits; helper: no connection has one',
    arrives: true,
    to: SERVER,
    tos: 0x01,
    rules: {
      filter: [
        '-A FORWARD -m ecn ! --ecn-ip-ect 1 -j DROP',
        '-A FORWARD -m helper --helper ftp -j DROP',
        '-A FORWARD -m ecn --ecn-ip-ect 1 -m helper ! --helper ftp -j MARK --set-mark 1',
        '-A FORWARD -m mark ! --mark 1 -j DROP',
      ],
    },
  },
  {
    name: 'TOS --and-tos and --or-tos',
    to: SERVER,
    tos: 0x5d,
    rules: { mangle: ['-A PREROUTING -j TOS --and-tos 0xf0', '-A POSTROUTING -j TOS --or-tos 0x3'] },
  },
  {
    name: 'DSCP --set-dscp-class keeps the ECN bits, then -m dscp sees it',
    arrives: true,
    to: SERVER,
    tos: 0x01,
    rules: {
      mangle: ['-A PREROUTING -j DSCP --set-dscp-class af41'],
      filter: ['-A FORWARD -m dscp --dscp 0x22 -m tos --tos 0x89 -j ACCEPT', '-A FORWARD -j DROP'],
    },
  },
  // The same fields in nftables: a forward chain's rules see the TTL ip_forward left.
  {
    name: 'nft: ip protocol, ip ttl, ip length and ip version of a forwarded datagram',
    to: SERVER,
    rules: {},
    nft: nftForward([
      'ip protocol != udp drop',
      'ip ttl != 63 drop',
      'ip length != 48 drop',
      'meta length != 48 drop',
      'ip version != 4 drop',
    ]),
  },
  {
    name: 'nft: ip protocol { tcp, udp } drops it',
    to: SERVER,
    rules: {},
    nft: nftForward(['ip protocol { tcp, udp } drop']),
  },
  { name: 'nft: ip ttl < 64 drops it in forward', to: SERVER, rules: {}, nft: nftForward(['ip ttl < 64 drop']) },
  {
    name: 'nft: ip dscp by class, ip ecn by name',
    to: SERVER,
    tos: 0xb9,
    rules: {},
    nft: nftForward(['ip dscp != ef drop', 'ip ecn != ect1 drop', 'ip dscp { cs1, af41 } drop']),
  },
  { name: 'nft: ip dscp cs0 drops a packet with TOS 0', to: SERVER, rules: {}, nft: nftForward(['ip dscp cs0 drop']) },
  {
    name: 'nft: ct zone set before conntrack, ct zone read after',
    arrives: true,
    to: SERVER,
    rules: {},
    nft: `table ip knetraw {\n  chain pre {\n    type filter hook prerouting priority -300; policy accept;\n    iifname "cni0" ct zone set 3\n  }\n}\n${nftForward(['ct zone != 3 drop', 'ct zone 3 meta mark set 0x1', 'meta mark != 0x1 drop'])}`,
  },
  {
    name: "nft: a ct helper object set on the new connection; ct helper reads an expecting connection's, so none",
    to: SERVER,
    rules: {},
    arrives: true,
    nft: `table ip knethelp {\n  ct helper tftp-9 {\n    type "tftp" protocol udp;\n  }\n  chain forward_rules {\n    type filter hook forward priority 0; policy accept;\n    ct helper "tftp" drop\n    udp dport 9 ct helper set "tftp-9"\n    ct helper "tftp" drop\n  }\n}\n`,
  },
  {
    name: 'nft: dnat to an address the source maps to',
    arrives: true,
    to: SERVER,
    rules: {},
    nft: nftPrerouting(['dnat to ip saddr map { 10.9.0.0/16 : 192.168.0.21, 10.244.1.0/25 : 192.168.0.22 }']),
  },
  {
    name: 'nft: dnat to a port the destination port maps to; a key with no element does not match',
    arrives: true,
    to: SERVER,
    rules: {},
    nft: nftPrerouting([
      'meta l4proto tcp dnat to 192.168.0.23 : tcp dport map { 9 : 10 }',
      'meta l4proto udp dnat to 192.168.0.24 : udp dport map { 9 : 11 }',
    ]),
  },
  // -m string: the payload starts 28 bytes into the datagram; the window counts from the IP header.
  {
    name: 'string: found (bm)',
    arrives: false,
    to: SERVER,
    rules: { filter: ['-A FORWARD -m string --string xxxx --algo bm -j DROP'] },
  },
  {
    name: 'string: another letter case is not found, unless --icase',
    to: SERVER,
    rules: {
      filter: [
        '-A FORWARD -m string --string XXXX --algo bm -j DROP',
        '-A FORWARD -m string --string XXXX --algo kmp --icase -j MARK --set-mark 1',
        '-A FORWARD -m mark --mark 1 -p udp -j DROP',
      ],
    },
  },
  {
    name: 'string: the window must hold the whole pattern (--from, --to)',
    arrives: true,
    to: SERVER,
    rules: {
      filter: [
        '-A FORWARD -m string --string xx --algo bm --from 47 -j DROP',
        '-A FORWARD -m string --string xx --algo bm --to 29 -j DROP',
      ],
    },
  },
  {
    name: 'string: just within the window',
    arrives: false,
    to: SERVER,
    rules: { filter: ['-A FORWARD -m string --string xx --algo bm --from 46 --to 48 -j DROP'] },
  },
  {
    name: 'string: hex blocks, literals and negation',
    to: SERVER,
    payload: '0001616263225c',
    rules: {
      filter: [
        '-A FORWARD -m string ! --hex-string "|0001|abc" --algo bm -j DROP',
        '-A FORWARD -m string --hex-string "|00 01|abc\\"|5c|" --algo kmp -j MARK --set-mark 2',
        '-A FORWARD -m mark ! --mark 2 -j DROP',
      ],
    },
  },
  {
    name: 'string: a DNS question by its name, after the DNS header',
    to: SERVER,
    payload: '12340100000100000000000003777777076578616d706c6503636f6d0000010001',
    rules: {
      filter: ['-A FORWARD -p udp -m string --hex-string "|03|www|07|example|03|com" --algo bm --from 40 -j DROP'],
    },
  },
  // -m connbytes: the first datagram of a connection has counted itself (48 bytes), the reply way nothing.
  {
    name: 'connbytes: one packet, 48 bytes, the way it came',
    arrives: true,
    to: SERVER,
    rules: {
      mangle: [
        '-A FORWARD -m connbytes --connbytes 1:1 --connbytes-mode packets --connbytes-dir original -j MARK --set-mark 1',
        '-A FORWARD -m connbytes --connbytes 48:48 --connbytes-mode bytes --connbytes-dir both -j MARK --or-mark 2',
        '-A FORWARD -m connbytes --connbytes 48 --connbytes-mode avgpkt --connbytes-dir original -j MARK --or-mark 4',
        '-A FORWARD -m connbytes --connbytes 1 --connbytes-mode packets --connbytes-dir reply -j MARK --or-mark 8',
      ],
      filter: ['-A FORWARD -m mark ! --mark 7 -j DROP'],
    },
  },
  {
    name: 'connbytes: "!" with equal ends is no negation (the kernel keeps one range); outside a range',
    to: SERVER,
    rules: {
      filter: [
        '-A FORWARD -m connbytes ! --connbytes 0:0 --connbytes-mode packets --connbytes-dir reply -j DROP',
        '-A FORWARD -m connbytes ! --connbytes 2:10 --connbytes-mode packets --connbytes-dir both -j MARK --set-mark 1',
        '-A FORWARD -m mark ! --mark 1 -j DROP',
      ],
    },
  },
  {
    name: 'connbytes: no connection yet in raw PREROUTING, so no match even negated',
    to: SERVER,
    rules: {
      raw: ['-A PREROUTING -m connbytes ! --connbytes 5:10 --connbytes-mode packets --connbytes-dir both -j DROP'],
    },
  },
  // NFQUEUE with --queue-bypass and nobody listening: the kernel accepts, as knetsim takes a program's verdict.
  {
    name: 'NFQUEUE --queue-bypass: accepted for the table, the next table still runs',
    arrives: true,
    to: SERVER,
    rules: {
      mangle: ['-A FORWARD -p udp -j NFQUEUE --queue-num 300 --queue-bypass', '-A FORWARD -j DROP'],
      filter: ['-A FORWARD -p udp -j MARK --set-mark 1'],
      nat: ['-A POSTROUTING -m mark --mark 1 -j MASQUERADE'],
    },
  },
  // -j SET: the set changes at once, for the rules after it.
  {
    name: 'SET --add-set: the next rule finds the source in the set',
    arrives: true,
    to: SERVER,
    sets: 'create seen hash:ip family inet hashsize 1024 maxelem 65536\n',
    rules: {
      filter: [
        '-A FORWARD -m set --match-set seen src -j DROP',
        '-A FORWARD -p udp -j SET --add-set seen src',
        '-A FORWARD -m set ! --match-set seen src -j DROP',
      ],
    },
  },
  {
    name: 'SET --del-set removes the element a listed set held; the port dimension from the flags',
    arrives: true,
    to: SERVER,
    sets: 'create pairs hash:ip,port family inet hashsize 1024 maxelem 65536\nadd pairs 10.244.1.5,udp:9\n',
    rules: {
      filter: [
        '-A FORWARD -m set ! --match-set pairs src,dst -j DROP',
        '-A FORWARD -j SET --del-set pairs src,dst',
        '-A FORWARD -m set --match-set pairs src,dst -j DROP',
      ],
    },
  },
  {
    name: 'SET to hash:net: the longest prefix the set holds, so a DNATed neighbour matches too',
    arrives: true,
    to: SERVER,
    sets: 'create nets hash:net family inet hashsize 1024 maxelem 65536\nadd nets 172.16.0.0/12\n',
    rules: {
      // 192.168.0.9 goes in as 192.160.0.0/12; the DNATed 192.168.0.20 is inside it (not inside a /32).
      mangle: ['-A PREROUTING -j SET --add-set nets dst'],
      nat: ['-A PREROUTING -p udp -j DNAT --to-destination 192.168.0.20'],
      filter: ['-A FORWARD -m set --match-set nets dst -j MARK --set-mark 1', '-A FORWARD -m mark ! --mark 1 -j DROP'],
    },
  },
  {
    name: 'time: windows, weekdays, days of the month and dates around now (UTC)',
    to: SERVER,
    // Made when the case runs, about the time it runs.
    rules: () => ({ filter: timeRules() }),
    arrives: true,
  },
  // -m mac: the source address of the frame the datagram came in.
  {
    name: 'mac: the client interface address matches, others do not',
    arrives: true,
    to: SERVER,
    rules: {
      raw: ['-A PREROUTING -m mac --mac-source 02:00:00:00:01:06 -j DROP'],
      filter: [
        '-A FORWARD -m mac ! --mac-source 2:0:0:0:1:5 -j DROP',
        '-A FORWARD -m mac --mac-source 02:00:00:00:01:05 -j MARK --set-mark 1',
        '-A FORWARD -m mark ! --mark 1 -j DROP',
      ],
    },
  },
  {
    name: 'CLASSIFY changes nothing netfilter sees',
    to: SERVER,
    rules: { mangle: ['-A FORWARD -j CLASSIFY --set-class 1:10'] },
  },
];

/** -m time rules around the current time (UTC), which the kernel and knetsim both read. */
function timeRules(): string[] {
  const now = Math.floor(Date.now() / 1000);
  const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19);
  const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(now * 1000).getUTCDay()];
  return [
    // Thirty minutes either side of now (past midnight the window wraps: start later than stop).
    `-A FORWARD -m time --timestart ${clock(now - 1800)} --timestop ${clock(now + 1800)} -j MARK --or-mark 1`,
    `-A FORWARD -m time --timestart ${clock(now + 6 * 3600)} --timestop ${clock(now + 7 * 3600)} -j MARK --or-mark 2`,
    `-A FORWARD -m time --weekdays ${weekday} -m time --monthdays ${new Date(now * 1000).getUTCDate()} -j MARK --or-mark 4`,
    `-A FORWARD -m time ! --weekdays ${weekday} -j MARK --or-mark 8`,
    `-A FORWARD -m time --datestart ${day(now - 86400)} --datestop ${day(now + 2 * 86400)} -j MARK --or-mark 16`,
    `-A FORWARD -m time --datestop ${day(now - 86400)} -j MARK --or-mark 32`,
    '-A FORWARD -m mark ! --mark 21 -j DROP',
  ];
}

/** The case's payload in hex. */
function payloadOf(c: Case): string {
  return c.payload ?? '78'.repeat(20);
}

/** An nft table whose nat prerouting chain holds these rules. */
function nftPrerouting(rules: readonly string[]): string {
  return `table ip knetnat {\n  chain pre {\n    type nat hook prerouting priority -100; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`;
}

/** An nft table whose forward chain holds these rules. */
function nftForward(rules: readonly string[]): string {
  return `table ip knet {\n  chain forward_rules {\n    type filter hook forward priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`;
}

function dumpOf(c: Case & { readonly rules: CaseRules }): string {
  return rulesDump(c.rules, c.forwardPolicy ? { 'filter/FORWARD': c.forwardPolicy } : {});
}

const LISTEN_SCRIPT = `
import socket, select, sys
rx = []
IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_TTL, IP_TOS = 8, 12, 13, 2, 1
for port in (9, 10, 11):
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('0.0.0.0', port))
    for option in (IP_PKTINFO, IP_RECVTTL, IP_RECVTOS):
        r.setsockopt(socket.IPPROTO_IP, option, 1)
    rx.append((port, r))
ready, _, _ = select.select([r for _, r in rx], [], [], 0.8)
for port, r in rx:
    if r in ready:
        data, anc, flags, (host, sport) = r.recvmsg(100, 256)
        to = [socket.inet_ntoa(d[8:12]) for level, kind, d in anc if kind == IP_PKTINFO][0]
        line = 'arrived at %s %s:%d from %s:%d' % (sys.argv[1], to, port, host, sport)
        if sys.argv[1] == 'server':
            ttl = [int.from_bytes(d[:4], sys.byteorder) for level, kind, d in anc if kind == IP_TTL][0]
            tos = [d[0] for level, kind, d in anc if kind == IP_TOS][0]
            line += ' ttl %d tos 0x%02x' % (ttl, tos)
        print(line)
        break
`;

const SEND_SCRIPT = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 40000))
s.setsockopt(socket.IPPROTO_IP, 2, int(sys.argv[3]))
s.setsockopt(socket.IPPROTO_IP, 1, int(sys.argv[4]))
try:
    s.sendto(bytes.fromhex(sys.argv[5]), (sys.argv[2], 9))
except OSError:
    pass
`;

/** The two scripts, written to files the namespaces' python3 runs (in beforeAll: not when the suite is skipped). */
let scripts = { dir: '', listen: '', send: '' };

function writeScripts(): void {
  const dir = mkdtempSync(join(tmpdir(), 'knetsim-forward-'));
  scripts = { dir, listen: join(dir, 'listen.py'), send: join(dir, 'send.py') };
  writeFileSync(scripts.listen, LISTEN_SCRIPT);
  writeFileSync(scripts.send, SEND_SCRIPT);
}

/** Builds client, node and server, loads the rules in the node, sends, and says where the datagram arrived. */
function kernelArrival(ns: Namespaces, c: Case): string {
  const node = ns.create('fwdnode');
  const client = ns.create('fwdclient');
  const server = ns.create('fwdserver');
  vethToPeer(node, 'cni0', '10.244.1.1/24', client, {
    peerAddress: '10.244.1.5/24',
    gateway: '10.244.1.1',
    peerMac: CLIENT_MAC,
  });
  vethToPeer(node, 'eth0', `${NODE}/24`, server, { peerAddress: `${SERVER}/24`, gateway: NODE });
  // The server also answers for a range of addresses, for DNAT to a range.
  for (let last = 20; last <= 27; last++) inNs(server, 'ip', ['addr', 'add', `192.168.0.${last}/32`, 'dev', 'peer0']);
  inNs(node, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  // Routing's own reverse-path filter off: only the rules' -m rpfilter decides.
  for (const conf of ['all', 'default', 'cni0', 'eth0'])
    inNs(node, 'sysctl', ['-qw', `net.ipv4.conf.${conf}.rp_filter=0`]);
  const from = c.from ?? CLIENT;
  if (from !== CLIENT) inNs(client, 'ip', ['addr', 'add', `${from}/32`, 'dev', 'peer0']);
  if (c.sets) inNs(node, 'ipset', ['restore'], c.sets);
  inNs(node, 'iptables-restore', [], dumpOf(c));
  if (c.nft) inNs(node, 'nft', ['-f', '-'], c.nft);
  // Listeners in the node and the server, started before the client sends; each waits 0.8 s at most.
  const out = must('sh', [
    '-c',
    `ip netns exec ${node} python3 ${scripts.listen} node & ip netns exec ${server} python3 ${scripts.listen} server & ` +
      `sleep 0.4; ip netns exec ${client} python3 ${scripts.send} ${from} ${c.to} ${c.ttl ?? 64} ${c.tos ?? 0} ${payloadOf(c)}; wait`,
  ]);
  return out.split('\n').find((x) => x.startsWith('arrived')) ?? 'nothing arrived';
}

function knetsimArrival(c: Case): string {
  let sets: SetLookup | undefined;
  if (c.sets) {
    const parsed = parseIpsetSave(c.sets);
    if (!parsed.ok) throw new Error(parsed.error.message);
    sets = setLookupOf(parsed.value);
  }
  const base = nodeFromRules(dumpOf(c), sets ? { sets } : {});
  const nft = c.nft === undefined ? null : loadNftFile(c.nft, 'case');
  if (nft && !nft.ok) throw new Error(nft.message);
  const t = tracePacket(nft ? { ...base, nft: nft.value } : base, {
    src: ip(c.from ?? CLIENT),
    dst: ip(c.to),
    protocol: 'udp',
    sport: 40000,
    dport: 9,
    payload: Buffer.from(payloadOf(c), 'hex'),
    srcMac: CLIENT_MAC,
    ...(c.ttl !== undefined ? { ttl: c.ttl } : {}),
    ...(c.tos !== undefined ? { tos: c.tos } : {}),
    origin: { kind: 'interface', iface: 'cni0' },
  });
  if (t.outcome !== 'ACCEPT') return 'nothing arrived';
  const b = t.branches[0]!;
  const [, from, sport, to, port] = /^udp (\S+):(\d+) -> (\S+):(\d+)$/.exec(b.final) ?? [];
  const header = b.exit === null ? '' : ` ttl ${b.exit.ttl} tos 0x${b.exit.tos.toString(16).padStart(2, '0')}`;
  return `arrived at ${b.exit === null ? 'node' : 'server'} ${to}:${port} from ${from}:${sport}${header}`;
}

describe.skipIf(why !== null)('rules met by a forwarded datagram: the kernel and knetsim agree', () => {
  const ns = new Namespaces();
  beforeAll(() => {
    removeStale();
    writeScripts();
  });
  afterAll(() => {
    ns.cleanup();
    rmSync(scripts.dir, { recursive: true, force: true });
  });
  it.each(CASES)('$name', (written) => {
    const c = typeof written.rules === 'function' ? { ...written, rules: written.rules() } : written;
    try {
      const kernel = kernelArrival(ns, c);
      if (c.arrives !== undefined) expect(kernel.startsWith('arrived')).toBe(c.arrives);
      expect(knetsimArrival(c)).toBe(kernel);
    } finally {
      ns.cleanup();
    }
  });
});
