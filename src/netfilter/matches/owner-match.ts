// -m owner: who owns the local socket a packet was sent from (xt_owner). Only packets made
// on this node have one, so the kernel allows it at OUTPUT and POSTROUTING alone. A packet
// without a socket (forwarded) matches exactly when every test the rule names is negated,
// as owner_mt answers ((match ^ invert) == 0).
import { type MatchExtension, type NfPacket, optionOf, type ParsedOption } from '../extension';
import { parseCNumber } from '../values';

/** The highest id the tools take (xtables_strtoui with UINT32_MAX - 1). */
const MAX_ID = 4294967294;

/**
 * The users and groups every Debian node has, with the ids base-passwd fixes for them
 * (/usr/share/base-passwd/passwd.master and group.master); iptables resolves a name through the
 * node's own files, so others (made by packages or admins) differ from node to node and are refused.
 */
const USERS: ReadonlyMap<string, number> = new Map([
  ['root', 0],
  ['daemon', 1],
  ['bin', 2],
  ['sys', 3],
  ['sync', 4],
  ['games', 5],
  ['man', 6],
  ['lp', 7],
  ['mail', 8],
  ['news', 9],
  ['uucp', 10],
  ['proxy', 13],
  ['www-data', 33],
  ['backup', 34],
  ['list', 38],
  ['irc', 39],
  ['_apt', 42],
  ['nobody', 65534],
]);
const GROUPS: ReadonlyMap<string, number> = new Map([
  ['root', 0],
  ['daemon', 1],
  ['bin', 2],
  ['sys', 3],
  ['adm', 4],
  ['tty', 5],
  ['disk', 6],
  ['lp', 7],
  ['mail', 8],
  ['news', 9],
  ['uucp', 10],
  ['man', 12],
  ['proxy', 13],
  ['kmem', 15],
  ['dialout', 20],
  ['fax', 21],
  ['voice', 22],
  ['cdrom', 24],
  ['floppy', 25],
  ['tape', 26],
  ['sudo', 27],
  ['audio', 29],
  ['dip', 30],
  ['www-data', 33],
  ['backup', 34],
  ['operator', 37],
  ['list', 38],
  ['irc', 39],
  ['src', 40],
  ['shadow', 42],
  ['utmp', 43],
  ['video', 44],
  ['sasl', 45],
  ['plugdev', 46],
  ['staff', 50],
  ['games', 60],
  ['users', 100],
  ['nogroup', 65534],
]);

/**
 * A known name, or "N", "N-M" or "N:M" with numbers as strtoul reads them (base 0: 0x hex, a
 * leading 0 octal): the id range; a message when bad.
 */
export function parseOwnerIds(option: ParsedOption): { min: number; max: number } | string {
  const text = option.args[0] ?? '';
  const bad = `Bad value for "${option.name}" option: "${text}"`;
  const named = (option.name === '--gid-owner' ? GROUPS : USERS).get(text);
  if (named !== undefined) return { min: named, max: named };
  const cut = text.search(/[-:]/);
  const min = parseCNumber(cut < 0 ? text : text.slice(0, cut), MAX_ID);
  const max = cut < 0 ? min : parseCNumber(text.slice(cut + 1), MAX_ID);
  if (min === null || max === null) return `${bad} (a number, a range N-M, or a name every Debian node has)`;
  // iptables takes it; the kernel refuses the rule (xt_owner checkentry).
  if (min > max) return `"${text}" is a range whose first id is above its last`;
  return { min, max };
}

export const ownerMatch: MatchExtension = {
  name: 'owner',
  hooks: ['OUTPUT', 'POSTROUTING'],
  options: [
    { name: '--uid-owner', args: 1, negatable: true },
    { name: '--gid-owner', args: 1, negatable: true },
    { name: '--socket-exists', args: 0, negatable: true },
    { name: '--suppl-groups', args: 0 },
  ],
  compile(options) {
    const uidOption = optionOf(options, '--uid-owner');
    const gidOption = optionOf(options, '--gid-owner');
    const socketOption = optionOf(options, '--socket-exists');
    if (!uidOption && !gidOption && !socketOption)
      return 'At least one of --uid-owner, --gid-owner or --socket-exists is required';
    const suppl = options.findIndex((o) => o.name === '--suppl-groups');
    if (suppl >= 0 && !options.slice(0, suppl).some((o) => o.name === '--gid-owner'))
      return 'Bad value for "--suppl-groups" option: "you need to use --gid-owner first"';
    const uids = uidOption ? parseOwnerIds(uidOption) : null;
    if (typeof uids === 'string') return uids;
    const gids = gidOption ? parseOwnerIds(gidOption) : null;
    if (typeof gids === 'string') return gids;
    // Every test the rule names is negated: what a packet without a socket matches. --suppl-groups
    // is a test bit of its own that cannot be negated, so a rule with it never matches such a packet.
    const allNegated = options.every((o) => o.negated);
    const test = (p: NfPacket): boolean => {
      const socket = p.socket;
      if (!socket) return allNegated;
      if (socketOption?.negated) return false;
      if (uids && uidOption && (socket.uid >= uids.min && socket.uid <= uids.max) === uidOption.negated) return false;
      if (gids && gidOption) {
        const inRange = (g: number) => g >= gids.min && g <= gids.max;
        const member = inRange(socket.gid) || (suppl >= 0 && socket.groups.some(inRange));
        if (member === gidOption.negated) return false;
      }
      return true;
    };
    return { test };
  },
};
