// The iptables rules flanneld keeps on every node (ip-masq on, the default of
// the kube-flannel manifest): FLANNEL-POSTRTG in nat POSTROUTING, which leaves
// pod↔pod traffic and kube-proxy-marked packets alone and masquerades pods
// talking to the outside; and FLANNEL-FWD in filter FORWARD, which accepts
// anything to or from the flannel network. Order and text are flanneld's.

const MASQ = '-m comment --comment "flanneld masq"';
const FWD = '-m comment --comment "flanneld forward"';

/** `-A` lines for the nat table, as iptables-save prints them. */
export function flannelNatRules(clusterCIDR: string, podCIDR: string, randomFully = true): string[] {
  const masquerade = randomFully ? 'MASQUERADE --random-fully' : 'MASQUERADE';
  return [
    `-A POSTROUTING ${MASQ} -j FLANNEL-POSTRTG`,
    // kube-proxy already decided on these (its 0x4000 mark): do not NAT twice.
    `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${podCIDR} -d ${clusterCIDR} ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${clusterCIDR} -d ${podCIDR} ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG ! -s ${clusterCIDR} -d ${podCIDR} ${MASQ} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${clusterCIDR} ! -d 224.0.0.0/4 ${MASQ} -j ${masquerade}`,
    `-A FLANNEL-POSTRTG ! -s ${clusterCIDR} -d ${clusterCIDR} ${MASQ} -j ${masquerade}`,
  ];
}

/** `-A` lines for the filter table. */
export function flannelFilterRules(clusterCIDR: string): string[] {
  return [
    `-A FORWARD ${FWD} -j FLANNEL-FWD`,
    `-A FLANNEL-FWD -s ${clusterCIDR} ${FWD} -j ACCEPT`,
    `-A FLANNEL-FWD -d ${clusterCIDR} ${FWD} -j ACCEPT`,
  ];
}

/** An iptables-restore document holding only flannel's chains and rules (appended, never flushing). */
export function flannelRestore(clusterCIDR: string, podCIDR: string, randomFully = true): string {
  return [
    '*nat',
    ':FLANNEL-POSTRTG - [0:0]',
    ...flannelNatRules(clusterCIDR, podCIDR, randomFully),
    'COMMIT',
    '*filter',
    ':FLANNEL-FWD - [0:0]',
    ...flannelFilterRules(clusterCIDR),
    'COMMIT',
    '',
  ].join('\n');
}
