// The conntrack helpers Linux has (nf_conntrack_*), with the transport protocols each is
// registered for: CT --helper and nft's ct helper objects name one, and the kernel refuses a
// helper it has not for that protocol (ENOENT). Probed on a 6.x kernel with every helper built in.
export const CONNTRACK_HELPERS: ReadonlyMap<string, readonly ('tcp' | 'udp')[]> = new Map([
  ['ftp', ['tcp']],
  ['sip', ['udp', 'tcp']],
  ['tftp', ['udp']],
  ['irc', ['tcp']],
  ['amanda', ['udp']],
  ['pptp', ['tcp']],
  ['sane', ['tcp']],
  ['snmp', ['udp']],
  ['snmp_trap', ['udp']],
  ['netbios-ns', ['udp']],
  ['RAS', ['udp']],
  ['Q.931', ['tcp']],
  ['H.245', ['udp']],
]);

/** Whether the kernel has helper `name` for `protocol` ("tcp", "udp"; anything else: none). */
export function hasConntrackHelper(name: string, protocol: string | null): boolean {
  return (CONNTRACK_HELPERS.get(name) as readonly string[] | undefined)?.includes(protocol ?? '') ?? false;
}
