// Header sizes in bytes, as on the wire (no options, no VLAN tag, no FCS).
export const ETHERNET_HEADER = 14;
export const IPV4_HEADER = 20;
export const TCP_HEADER = 20;
export const UDP_HEADER = 8;
export const VXLAN_HEADER = 8;
