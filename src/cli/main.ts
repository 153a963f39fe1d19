// The knetsim command line: parses arguments, loads input, asks the engine or a
// controller, renders. Bad input ends with one message and exit status 2.
import { Command, CommanderError } from 'commander';
import { type BenchOptions, runBench } from './bench-command';
import { runDemo } from './demo-command';
import { type DnsOptions, runDns } from './dns-command';
import { loadScenarioInput, withMode } from './load-scenario-input';
import { loadSetsForTrace } from './load-sets';
import { runRules } from './rules-command';
import { runClusterWalk, scenarioRequest } from './scenario-trace';
import { serveDns } from './serve-dns-command';
import { runSync, type SyncOptions } from './sync-command';
import { buildDumpNode, dumpResolver, runTrace, type TraceOptions } from './trace-command';
import { UserError } from './user-error';

function program(): Command {
  const cmd = new Command('knetsim')
    .description('Simulates what a Kubernetes node kernel does with a packet, and why.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  cmd
    .command('trace')
    .description('one packet, hop by hop, through a node (from a real node dump with --rules)')
    .argument('[scenario]', 'scenario YAML (Kubernetes objects), or omit with --rules')
    .option('--rules <dump>', 'an iptables-save dump of a real node')
    .option('--nft <dump>', 'an nft list ruleset dump of a real node (or an nft -f transaction)')
    .option('--ipset <dump>', 'an ipset save dump of that node')
    .option('--ipvs <dump>', 'an ipvsadm -S -n dump of that node')
    .option('--routes <dump>', 'ip route (table all) of that node')
    .option('--ip-rules <dump>', 'ip rule show of that node (policy routing; needs --routes with every table)')
    .option('--conntrack <dump>', 'conntrack -L of that node: a packet of a listed connection meets its entry and NAT')
    .option('--node-ip <ips>', "the node's own addresses, comma-separated (when no route dump tells them)")
    .option('--from <src>', 'source: an IP (a node address or 127.0.0.1 = locally generated)')
    .option('--to <dst>', 'destination IP:PORT (ICMP: the IP alone)')
    .option('--proto <p>', 'tcp, udp, sctp or icmp', 'tcp')
    .option(
      '--icmp-type <type>',
      'with --proto icmp: the message, by name or TYPE[/CODE] as iptables takes it (default echo-request)',
    )
    .option('--sport <port>', 'source port', undefined)
    .option('--length <bytes>', 'total IPv4 length of the packet (default 60 for TCP, 84 for ICMP, 64 otherwise)')
    .option('--no-df', "clear the don't-fragment bit (fragmented, not dropped, at a smaller MTU)")
    .option('--ttl <n>', 'the IP TTL the packet arrives or is sent with (default 64)')
    .option('--payload <text>', 'the payload (C escapes: \\r \\n \\t \\xHH), for -m string; sets the length')
    .option(
      '--at <time>',
      'the wall-clock time the packet is seen at, for -m time (YYYY-MM-DDThh:mm[:ss], UTC; default now)',
    )
    .option('--src-mac <mac>', 'the source MAC of the frame the packet arrives in, for -m mac (default: unknown)')
    .option('--tos <byte>', 'the IP TOS byte: DSCP << 2 | ECN, e.g. 0xb8 for EF (default 0)')
    .option('--uid <id>', 'a packet made on the node: the user owning its socket, for -m owner (default 0, root)')
    .option('--gid <id>', 'a packet made on the node: the group owning its socket, for -m owner (default 0)')
    .option('--node <name>', 'node name')
    .option('--mode <mode>', "proxy mode instead of the Cluster document's: iptables, ipvs, nftables or userspace")
    .option('--batch <file>', 'one JSON object a line: {"from","to","proto"}')
    .option('--sample <n>', 'send N packets, each taking one random path, and count where they go')
    .option('--seed <n>', 'seed for --sample (default 1)')
    .option('--json', 'print the result as JSON')
    .option('--across', 'follow the packet across nodes (scenario only): underlay, VXLAN, the far node')
    .option('--reply', 'with --across: one connection (path drawn by --seed), then its reply back through conntrack')
    .option(
      '--expect <outcome>',
      'exit 1 unless every way the packet may go ends so: ACCEPT, DROP, REJECT, NO_ROUTE or NO_ENDPOINTS (a --batch line may carry its own "expect")',
    )
    .action(async (scenario: string | undefined, o: TraceOptions) => {
      if (scenario !== undefined && (o.rules || o.nft))
        throw new UserError('trace: give a scenario or --rules/--nft DUMP, not both');
      if (o.reply && !o.across) throw new UserError('trace: --reply goes with --across');
      if (scenario !== undefined) {
        // A real node's dumps describe that node; a scenario's nodes are built from its objects.
        const dumpOnly = (
          [
            ['ipset', '--ipset'],
            ['ipvs', '--ipvs'],
            ['routes', '--routes'],
            ['ipRules', '--ip-rules'],
            ['conntrack', '--conntrack'],
            ['nodeIp', '--node-ip'],
          ] as const
        ).find(([key]) => o[key] !== undefined);
        if (dumpOnly)
          throw new UserError(`trace: ${dumpOnly[1]} goes with --rules/--nft (a real node's dumps), not a scenario`);
      }
      if (o.across && scenario === undefined) throw new UserError('trace: --across needs a scenario (every node)');
      if (scenario === undefined) {
        runTrace(o, dumpResolver(buildDumpNode(o, loadSetsForTrace)), process.stdout);
        return;
      }
      const loaded = withMode(await loadScenarioInput(scenario), o.mode);
      if (o.across) {
        runClusterWalk(loaded, o, process.stdout);
        return;
      }
      runTrace(o, (from, to, proto, sport) => scenarioRequest(loaded, from, to, proto, o.node, sport), process.stdout);
    });

  cmd
    .command('rules')
    .description('the data-plane state a node would have (what iptables-save shows there)')
    .argument('<scenario>', 'scenario YAML ("-" for standard input)')
    .option('--node <name>', 'node')
    .option('--mode <mode>', "proxy mode instead of the Cluster document's: iptables, ipvs, nftables or userspace")
    .option(
      '--format <format>',
      'iptables-save, iptables-restore, nft, nft-list, json, ipset, ipvsadm, routes, neigh, fdb or summary',
      'iptables-save',
    )
    .action((scenario: string, o: { node?: string; format: string; mode?: string }) =>
      runRules(scenario, o, process.stdout),
    );

  cmd
    .command('dns')
    .description("CoreDNS's answer to a name, printed as dig prints it (with --from: as the pod's resolver asks)")
    .argument('<scenario>', 'scenario YAML ("-" for standard input)')
    .argument('[name]', 'the name to look up')
    .option(
      '--type <type>',
      'query type: A (default), AAAA, SRV, PTR, TXT, CNAME, NS, SOA, MX, AXFR, ...; with --from and no --type: A and AAAA, as getaddrinfo asks',
    )
    .option('--from <pod>', "ask as this pod's resolver does (namespace/name): search list, ndots")
    .option('--json', 'print the result as JSON')
    .option('--batch <file>', 'one JSON object a line: {"name","type","from"?}; one JSON result a line')
    .option('--zone-file [zone]', "print the cluster's records as a standard zone file")
    .action((scenario: string, name: string | undefined, o: DnsOptions) => runDns(scenario, name, o, process.stdout));

  cmd
    .command('serve-dns')
    .description('a real DNS server (UDP and TCP) answering from the scenario as CoreDNS would')
    .argument('<scenario>', 'scenario YAML ("-" for standard input)')
    .option('--listen <host:port>', 'address to listen on (port 0: a free port)', '127.0.0.1:5353')
    .action(async (scenario: string, o: { listen: string }) => {
      const server = await serveDns(scenario, o, (line) => process.stderr.write(`[INFO] ${line}\n`));
      process.stderr.write(`knetsim: serving DNS on ${server.address}:${server.port} (udp and tcp)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  cmd
    .command('sync')
    .description('what kube-proxy sends the kernel on each sync as the cluster goes from one state to the next')
    .argument('<scenario>', 'the first state (scenario YAML)')
    .option('--then <scenario>', 'the next state (repeat for more)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--node <name>', 'node')
    .option('--mode <mode>', "proxy mode instead of the Cluster document's: iptables, ipvs, nftables or userspace")
    .option('--full-every <n>', "a full sync every N syncs (kube-proxy's periodic resync); 0: never")
    .option('--graceful', 'IPVS: removed TCP real servers still have connections (weight 0 first, deleted next sync)')
    .option('--json', 'print the steps as JSON')
    .action((scenario: string, o: SyncOptions) => runSync(scenario, o, process.stdout));

  cmd
    .command('bench')
    .description('the benchmark suites: proxy modes, flannel backends, DNS, knetsim itself, the real kernel')
    .option('--suite <names>', 'targets, modes, cni, dns, engine, kernel or all (comma-separated)', 'all')
    .option('--services <counts>', 'Service counts to measure at, comma-separated (default 1000,10000,30000)')
    .option('--json <file>', 'write the results as JSON')
    .option('--html <file>', 'write the results as an HTML page')
    .option('--quick', 'small sizes: done in about a minute')
    .action((o: BenchOptions) => {
      const status = runBench(o);
      if (status !== 0) process.exitCode = status;
    });

  cmd
    .command('demo')
    .description('trace a few characteristic packets through the bundled example node')
    .action(() => runDemo(process.stdout));
  return cmd;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof UserError) {
      process.stderr.write(`knetsim: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`knetsim: internal error: ${(e as Error).message}\n`);
    if (process.env.KNETSIM_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 70;
  }
}

// A reader that stops early (`knetsim demo | head`) closes the pipe: the rest of the output has
// nowhere to go, so the command ends quietly with the status it had (0, or 1 for an unmet
// --expect), not with a stack trace. (A C program would die of SIGPIPE, 141 to a shell.)
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await main(process.argv.slice(2));
