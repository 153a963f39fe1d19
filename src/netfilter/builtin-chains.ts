// Each table's built-in chains, in the order the kernel registers them (and a
// fresh table lists them): what a table has before any script touches it.
import type { Hook, TableName } from './extension';

export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly Hook[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  // SELinux's labelling table (iptable_security), walked right after filter (NF_IP_PRI_SECURITY 50).
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};
