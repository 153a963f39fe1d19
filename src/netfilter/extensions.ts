// The registry of match and target extensions iptables knows, by name.
import type { L4Protocol } from '../net';
import type { MatchExtension, TargetExtension } from './extension';
import { addrtypeMatch, rpfilterMatch } from './matches/addrtype-match';
import { connbytesMatch } from './matches/connbytes-match';
import { connlimitMatch } from './matches/connlimit-match';
import { conntrackMatch, stateMatch } from './matches/conntrack-match';
import { hashlimitMatch } from './matches/hashlimit-match';
import { helperMatch } from './matches/helper-match';
import { icmpMatch } from './matches/icmp-match';
import { dscpMatch, ecnMatch, tosMatch, ttlMatch } from './matches/ip-header-matches';
import { ipvsMatch } from './matches/ipvs-match';
import { macMatch } from './matches/mac-match';
import { multiportMatch } from './matches/multiport-match';
import { ownerMatch } from './matches/owner-match';
import { policyMatch } from './matches/policy-match';
import { sctpMatch, tcpMatch, udpMatch } from './matches/port-matches';
import { quotaMatch } from './matches/quota-match';
import { iprangeMatch, lengthMatch } from './matches/range-matches';
import { recentMatch } from './matches/recent-match';
import { setMatch } from './matches/set-match';
import {
  commentMatch,
  connmarkMatch,
  limitMatch,
  markMatch,
  nfacctMatch,
  physdevMatch,
  pkttypeMatch,
} from './matches/simple-matches';
import { socketMatch } from './matches/socket-match';
import { statisticMatch } from './matches/statistic-match';
import { stringMatch } from './matches/string-match';
import { timeMatch } from './matches/time-match';
import { classifyTarget, dscpTarget, tosTarget, ttlTarget } from './targets/ip-header-targets';
import { ctTarget, logTarget, nflogTarget, notrackTarget, traceTarget } from './targets/log-targets';
import { connmarkTarget, markTarget } from './targets/mark-targets';
import { dnatTarget, masqueradeTarget, redirectTarget, snatTarget } from './targets/nat-targets';
import { nfqueueTarget } from './targets/nfqueue-target';
import { setTarget } from './targets/set-target';
import { tcpmssTarget } from './targets/tcpmss-target';
import { checksumTarget, tproxyTarget } from './targets/tproxy-target';
import { acceptTarget, dropTarget, rejectTarget, returnTarget } from './targets/verdict-targets';

const MATCHES: readonly MatchExtension[] = [
  tcpMatch,
  udpMatch,
  sctpMatch,
  icmpMatch,
  commentMatch,
  markMatch,
  connmarkMatch,
  conntrackMatch,
  stateMatch,
  addrtypeMatch,
  statisticMatch,
  recentMatch,
  setMatch,
  multiportMatch,
  ownerMatch,
  policyMatch,
  physdevMatch,
  limitMatch,
  nfacctMatch,
  ipvsMatch,
  iprangeMatch,
  lengthMatch,
  pkttypeMatch,
  rpfilterMatch,
  socketMatch,
  hashlimitMatch,
  ttlMatch,
  tosMatch,
  dscpMatch,
  stringMatch,
  connbytesMatch,
  macMatch,
  quotaMatch,
  connlimitMatch,
  timeMatch,
  ecnMatch,
  helperMatch,
];

const TARGETS: readonly TargetExtension[] = [
  acceptTarget,
  dropTarget,
  returnTarget,
  rejectTarget,
  dnatTarget,
  snatTarget,
  masqueradeTarget,
  redirectTarget,
  markTarget,
  connmarkTarget,
  logTarget,
  traceTarget,
  notrackTarget,
  ctTarget,
  tcpmssTarget,
  nflogTarget,
  tproxyTarget,
  checksumTarget,
  ttlTarget,
  tosTarget,
  dscpTarget,
  classifyTarget,
  nfqueueTarget,
  setTarget,
];

const matchByName = new Map(MATCHES.map((m) => [m.name, m]));
const targetByName = new Map(TARGETS.map((t) => [t.name, t]));

/**
 * Target extensions iptables has that knetsim does not model: a user chain may not take their names
 * either (iptables looks the name up among every target it could load).
 */
const OTHER_TARGET_NAMES: ReadonlySet<string> = new Set([
  'AUDIT',
  'CLUSTERIP',
  'CONNSECMARK',
  'ECN',
  'HMARK',
  'IDLETIMER',
  'LED',
  'NETMAP',
  'QUEUE',
  'RATEEST',
  'SECMARK',
  'SYNPROXY',
  'TCPOPTSTRIP',
  'TEE',
]);

/** The verdicts iptables-restore keeps to itself: not even a ":" declaration may take their names. */
const STANDARD_TARGETS: ReadonlySet<string> = new Set(['ACCEPT', 'DROP', 'QUEUE', 'RETURN']);

/**
 * Why iptables refuses a name for a new user chain, or null: at most 28 characters, and for -N and
 * -E's new name no target's name; a ":" declaration (`declared`) is refused only the standard
 * verdicts' (iptables-restore 1.8.9 takes ":LOG -" and refuses "-N LOG").
 */
export function newChainNameProblem(name: string, declared = false): string | null {
  if (name.length === 0) return 'a chain name is needed';
  if (name.length > 28) return `chain name "${name}" is longer than 28 characters`;
  const clash = declared ? STANDARD_TARGETS.has(name) : targetByName.has(name) || OTHER_TARGET_NAMES.has(name);
  if (clash) return `chain name "${name}" may not clash with target name`;
  return null;
}

export function findMatch(name: string): MatchExtension | undefined {
  return matchByName.get(name);
}

export function findTarget(name: string): TargetExtension | undefined {
  return targetByName.get(name);
}

export function implicitMatchFor(protocol: L4Protocol): MatchExtension | undefined {
  return MATCHES.find((m) => m.implicitFor === protocol);
}

export function matchNames(): string[] {
  return MATCHES.map((m) => m.name);
}

export function targetNames(): string[] {
  return TARGETS.map((t) => t.name);
}

/** Match extensions iptables 1.8.9 has (libxt_*, libipt_*) that knetsim does not model. */
const OTHER_MATCH_NAMES: ReadonlySet<string> = new Set([
  'ah',
  'bpf',
  'cgroup',
  'cluster',
  'connlabel',
  'cpu',
  'dccp',
  'devgroup',
  'esp',
  'ipcomp',
  'l2tp',
  'osf',
  'rateest',
  'realm',
  'tcpmss',
  'u32',
]);

/** The words for a -m that names a match iptables has and knetsim does not model (null for any other name). */
export function unmodelledMatch(name: string): string | null {
  return OTHER_MATCH_NAMES.has(name) ? `match ${name} is one iptables has but knetsim does not model` : null;
}

/** The words for a -j that names a target iptables has and knetsim does not model (null for any other name). */
export function unmodelledTarget(name: string): string | null {
  return OTHER_TARGET_NAMES.has(name) && name !== 'QUEUE'
    ? `target ${name} is one iptables has but knetsim does not model`
    : null;
}
