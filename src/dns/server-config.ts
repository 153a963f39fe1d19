// What a Corefile configures, per server block on port 53: the plugins that change
// answers (kubernetes, hosts, forward, autopath, transfer, rewrite, loadbalance; cache observes) with their
// options, and the observing plugins accepted without effect.
import {
  type Corefile,
  CorefileError,
  type CorefileFiles,
  type Directive,
  normalizeZoneArgs,
  parseCorefile,
  placeOf,
} from './corefile';
import { type HostsConfig, type HostsMap, parseHosts } from './hosts-plugin';
import { type LabelRequirement, LabelSelectorError, parseLabelSelector } from './label-selector';
import { reverseKind } from './reverse-name';
import { type NameRewrite, parseRewrite } from './rewrite';

export type PodMode = 'disabled' | 'verified' | 'insecure';

export interface KubernetesConfig {
  /** Authoritative zones, fully qualified, in the order given. */
  readonly zones: readonly string[];
  /** The first non-reverse zone: the one PTR answers and NS names use. */
  readonly primaryZone: string;
  /** Exposed namespaces; empty = all. */
  readonly namespaces: ReadonlySet<string>;
  readonly pods: PodMode;
  readonly endpointPodNames: boolean;
  readonly ttl: number;
  /** Zones a name error falls through to the next plugin for; undefined = no fallthrough. */
  readonly fallthrough?: readonly string[];
  readonly ignoreEmptyService: boolean;
  /** `noendpoints`: no endpoint cache, so headless and endpoint names do not resolve. */
  readonly noEndpoints: boolean;
  /** `zonal`: zone-scoped names (`ZONE.pin|prefer._zone.svc.ns.svc.zone`) for headless Services. */
  readonly zonal: boolean;
  /** `labels` selector: services, EndpointSlices and pods outside it are invisible. */
  readonly labels?: readonly LabelRequirement[];
  /** `namespace_labels` selector: namespaces outside it do not exist for the plugin. */
  readonly namespaceLabels?: readonly LabelRequirement[];
}

function selector(d: Directive, option: string): LabelRequirement[] {
  if (d.args.length === 0) fail(d, 'needs a label selector');
  const text = d.args.join(' ');
  try {
    return parseLabelSelector(text);
  } catch (e) {
    if (e instanceof LabelSelectorError) fail(d, `unable to parse ${option} selector value: '${text}': ${e.message}`);
    throw e;
  }
}

export interface ForwardConfig {
  /** The zone forwarded (`.` for everything). */
  readonly from: string;
  readonly except: readonly string[];
  readonly to: readonly string[];
}

export interface ServerConfig {
  readonly zones: readonly string[];
  readonly line: number;
  readonly kubernetes?: KubernetesConfig;
  readonly forward?: ForwardConfig;
  /** `autopath @kubernetes`: the zones it works in. */
  readonly autopath?: { readonly zones: readonly string[] };
  /** `hosts`: names from a hosts file and inline lines. */
  readonly hosts?: HostsConfig;
  /** `transfer { to ... }`: zones zone transfers are allowed for. */
  readonly transfer?: { readonly zones: readonly string[]; readonly to: readonly string[] };
  /** `rewrite name ...` rules, in Corefile order. */
  readonly rewrites: readonly NameRewrite[];
  /** `loadbalance`: shuffles A/AAAA order per answer; knetsim keeps CoreDNS's order. */
  readonly loadbalance: boolean;
}

export interface DnsServerConfig {
  /** Server blocks listening on port 53, in Corefile order. */
  readonly servers: readonly ServerConfig[];
}

/** Plugins that observe or operate the server and never change an answer. */
const OBSERVERS = new Set([
  'errors',
  'health',
  'ready',
  'prometheus',
  'log',
  'loop',
  'reload',
  'debug',
  'bind',
  'cancel',
  'trace',
  'metadata',
  'pprof',
  'dnstap',
  'timeouts',
  'bufsize',
  'nsid',
  // A cache hands the first answer on unchanged; knetsim asks every question once.
  'cache',
]);

const DEFAULT_TTL = 5;

function fail(d: Directive, message: string): never {
  throw new CorefileError(`${placeOf(d)}: ${d.name}: ${message}`);
}

function kubernetesConfig(d: Directive, serverZones: readonly string[]): KubernetesConfig {
  const zones = d.args.length > 0 ? normalizeZoneArgs(d.args, d) : [...serverZones];
  const primaryZone = zones.find((z) => reverseKind(z) === 0);
  if (primaryZone === undefined) fail(d, 'non-reverse zone name must be used');
  let pods: PodMode = 'disabled';
  let ttl = DEFAULT_TTL;
  let fallthrough: string[] | undefined;
  let ignoreEmptyService = false;
  let noEndpoints = false;
  let endpointPodNames = false;
  let zonal = false;
  let labels: LabelRequirement[] | undefined;
  let namespaceLabels: LabelRequirement[] | undefined;
  const namespaces = new Set<string>();
  for (const o of d.block) {
    switch (o.name) {
      case 'pods':
        if (o.args.length !== 1 || !['disabled', 'verified', 'insecure'].includes(o.args[0]!))
          fail(o, `wrong value for pods: ${o.args.join(' ')}, must be one of: disabled, verified, insecure`);
        pods = o.args[0] as PodMode;
        break;
      case 'namespaces':
        if (o.args.length === 0) fail(o, 'needs at least one namespace');
        for (const n of o.args) namespaces.add(n);
        break;
      case 'ttl': {
        // Go's strconv.Atoi: decimal digits with an optional sign; later arguments are ignored.
        if (o.args.length === 0 || !/^[+-]?\d+$/.test(o.args[0]!))
          fail(o, `"${o.args.join(' ')}" is not a number of seconds`);
        const t = Number(o.args[0]);
        if (t < 0 || t > 3600) fail(o, `ttl must be in range [0, 3600]: ${t}`);
        ttl = t;
        break;
      }
      case 'fallthrough':
        fallthrough = o.args.length > 0 ? normalizeZoneArgs(o.args, o) : ['.'];
        break;
      case 'ignore':
        // A bare `ignore` is accepted and changes nothing, as in CoreDNS.
        if (o.args.length === 0) break;
        if (o.args[0] !== 'empty_service') fail(o, `unable to parse ignore value: '${o.args[0]}'`);
        ignoreEmptyService = true;
        break;
      case 'noendpoints':
        if (o.args.length !== 0) fail(o, 'takes no arguments');
        noEndpoints = true;
        break;
      case 'endpoint_pod_names':
        if (o.args.length !== 0) fail(o, 'takes no arguments');
        endpointPodNames = true;
        break;
      case 'zonal':
        if (o.args.length !== 0) fail(o, 'takes no arguments');
        zonal = true;
        break;
      case 'labels':
        labels = selector(o, 'label');
        break;
      case 'namespace_labels':
        namespaceLabels = selector(o, 'namespace_label');
        break;
      case 'multicluster':
        return fail(o, 'multicluster zones (ServiceImports, MCS API) are not modelled');
      // Connection settings to the API server: no effect on a simulated cluster, but
      // checked as CoreDNS checks them.
      case 'endpoint':
        if (o.args.length === 0) fail(o, 'needs the API server address');
        break;
      case 'tls':
        if (o.args.length !== 3) fail(o, 'takes cert, key and cacertfile');
        break;
      case 'kubeconfig':
        if (o.args.length !== 1 && o.args.length !== 2) fail(o, 'takes a kubeconfig file and an optional context');
        break;
      case 'startup_timeout':
        if (o.args.length === 0 || !/^([0-9]*(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$/.test(o.args[0]!) || o.args[0] === '.s')
          fail(o, `failed to parse startup_timeout: ${o.args[0] ?? ''}`);
        break;
      case 'apiserver_qps':
      case 'apiserver_burst':
      case 'apiserver_max_inflight': {
        const number = o.name === 'apiserver_qps' ? /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/ : /^[+-]?\d+$/;
        if (o.args.length !== 1 || !number.test(o.args[0]!)) fail(o, `invalid ${o.name} "${o.args.join(' ')}"`);
        if (Number(o.args[0]) < 0) fail(o, `${o.name} must be >= 0`);
        break;
      }
      default:
        fail(o, `unknown property '${o.name}'`);
    }
  }
  if (zonal && noEndpoints) fail(d, 'zonal requires the endpoint cache; remove noendpoints');
  if (namespaces.size > 0 && namespaceLabels) fail(d, 'namespaces and namespace_labels cannot both be set');
  return {
    zones,
    primaryZone,
    namespaces,
    pods,
    endpointPodNames,
    zonal,
    ttl,
    ...(fallthrough ? { fallthrough } : {}),
    ignoreEmptyService,
    noEndpoints,
    ...(labels !== undefined ? { labels } : {}),
    ...(namespaceLabels !== undefined ? { namespaceLabels } : {}),
  };
}

function forwardConfig(d: Directive): ForwardConfig {
  if (d.args.length < 2) fail(d, 'needs a zone and at least one upstream');
  const [from, ...to] = d.args as [string, ...string[]];
  const except: string[] = [];
  for (const o of d.block) if (o.name === 'except') except.push(...normalizeZoneArgs(o.args, o));
  return { from: normalizeZoneArgs([from], d)[0]!, except, to };
}

/** A Go duration (time.ParseDuration): "0", or numbers with units ns, us, µs, ms, s, m, h; a sign allowed. */
const GO_DURATION = /^[+-]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;

/** `hosts [FILE [ZONES...]] { INLINE... ttl no_reverse reload fallthrough fallthrough_unsupported }`, as its setup reads it. */
function hostsConfig(d: Directive, serverZones: readonly string[], files: CorefileFiles): HostsConfig {
  // A relative file is relative to CoreDNS's working directory (/ in its image; no `root` plugin is modelled).
  const path = d.args[0] === undefined ? '/etc/hosts' : d.args[0].startsWith('/') ? d.args[0] : `/${d.args[0]}`;
  const origins = d.args.length > 1 ? normalizeZoneArgs(d.args.slice(1), d) : [...serverZones];
  let ttl = 3600;
  let autoReverse = true;
  let fallthrough: string[] | undefined;
  let fallthroughUnsupported = false;
  const inline: string[] = [];
  for (const o of d.block) {
    switch (o.name) {
      case 'fallthrough':
        fallthrough = o.args.length > 0 ? normalizeZoneArgs(o.args, o) : ['.'];
        break;
      case 'fallthrough_unsupported':
        if (o.args.length !== 0) fail(o, 'Wrong argument count or unexpected line ending');
        fallthroughUnsupported = true;
        break;
      case 'no_reverse':
        autoReverse = false;
        break;
      case 'ttl': {
        if (o.args.length === 0) fail(o, 'ttl needs a time in second');
        if (!/^[+-]?\d+$/.test(o.args[0]!)) fail(o, 'ttl needs a number of second');
        const t = Number(o.args[0]);
        if (t <= 0 || t > 65535) fail(o, 'ttl provided is invalid');
        ttl = t;
        break;
      }
      case 'reload':
        if (o.args.length !== 1) fail(o, 'reload needs a duration (zero seconds to disable)');
        if (!GO_DURATION.test(o.args[0]!)) fail(o, `invalid duration for reload '${o.args[0]}'`);
        if (o.args[0]!.startsWith('-') && /[1-9]/.test(o.args[0]!))
          fail(o, `invalid negative duration for reload '${o.args[0]}'`);
        break;
      default:
        // Lines before a fallthrough are hosts lines of their own; after it, CoreDNS knows no such option.
        if (fallthrough !== undefined) fail(o, `unknown property '${o.name}'`);
        inline.push([o.name, ...o.args].join(' '));
    }
  }
  if (fallthroughUnsupported && fallthrough === undefined) fail(d, 'fallthrough_unsupported requires fallthrough');
  // A missing file is only a warning in CoreDNS: the inline lines are served alone.
  const maps: HostsMap[] = [parseHosts(files.get(path) ?? '', origins, autoReverse)];
  if (inline.length > 0) maps.push(parseHosts(inline.join('\n'), origins, autoReverse));
  return {
    path,
    origins,
    ttl,
    ...(fallthrough ? { fallthrough } : {}),
    fallthroughUnsupported,
    maps,
  };
}

function serverConfig(block: Corefile['blocks'][number], files: CorefileFiles): ServerConfig {
  const zones = block.zones.map((z) => z.zone);
  let kubernetes: KubernetesConfig | undefined;
  let forward: ForwardConfig | undefined;
  let autopath: ServerConfig['autopath'];
  let transfer: ServerConfig['transfer'];
  let hosts: HostsConfig | undefined;
  let loadbalance = false;
  const rewrites: NameRewrite[] = [];
  for (const d of block.directives) {
    switch (d.name) {
      case 'kubernetes':
        if (kubernetes) fail(d, 'given twice in one server block');
        kubernetes = kubernetesConfig(d, zones);
        break;
      case 'forward':
        if (forward) fail(d, 'given twice in one server block');
        forward = forwardConfig(d);
        break;
      case 'autopath': {
        const plugins = d.args.filter((a) => a.startsWith('@'));
        if (plugins.length !== 1 || plugins[0] !== '@kubernetes')
          fail(d, 'only "autopath @kubernetes" is modelled (a resolv.conf search path is not)');
        // Without `pods verified` CoreDNS's kubernetes plugin offers no search path, so
        // autopath then changes nothing; that is left to the lookup.
        const z = d.args.filter((a) => !a.startsWith('@'));
        autopath = { zones: z.length > 0 ? normalizeZoneArgs(z, d) : zones };
        break;
      }
      case 'transfer': {
        const to = d.block.filter((o) => o.name === 'to').flatMap((o) => o.args);
        transfer = { zones: d.args.length > 0 ? normalizeZoneArgs(d.args, d) : zones, to };
        break;
      }
      case 'loadbalance':
        loadbalance = true;
        break;
      case 'hosts':
        if (hosts) fail(d, 'this plugin can only be used once per Server Block');
        hosts = hostsConfig(d, zones, files);
        break;
      case 'rewrite':
        rewrites.push(...parseRewrite(d));
        break;
      default:
        if (!OBSERVERS.has(d.name))
          fail(
            d,
            `plugin "${d.name}" is not modelled (modelled: kubernetes, hosts, forward, autopath, transfer, rewrite name, loadbalance; accepted without effect: ${[...OBSERVERS].join(', ')})`,
          );
    }
  }
  return {
    zones,
    line: block.line,
    ...(kubernetes ? { kubernetes } : {}),
    ...(forward ? { forward } : {}),
    ...(autopath ? { autopath } : {}),
    ...(transfer ? { transfer } : {}),
    ...(hosts ? { hosts } : {}),
    rewrites,
    loadbalance,
  };
}

/** Reads a Corefile's port-53 server blocks; a problem is a CorefileError naming the line. */
export function readDnsServerConfig(corefileText: string, files: CorefileFiles = new Map()): DnsServerConfig {
  const corefile = parseCorefile(corefileText, files);
  const servers = corefile.blocks.filter((b) => b.zones.some((z) => z.port === 53)).map((b) => serverConfig(b, files));
  if (servers.length === 0) throw new CorefileError('no server block listens on port 53');
  return { servers };
}
