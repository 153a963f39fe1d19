#!/usr/bin/env bash
# Regenerates worker-1.iptables-save and worker-1.routes from the real kernel: loads
# worker-1.kube-proxy.iptables-restore into a throw-away network namespace that has
# worker-1's devices and addresses, and saves what the kernel then holds.
# Needs root, iptables (nf_tables backend), iproute2 and python3. The namespace has no
# link to this machine's interfaces and is deleted on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")"
ns="kntest-$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }

# The nfacct counters kube-proxy creates (nfacct.Ensure) before it references them with -m nfacct.
in_ns python3 - <<'PY'
import socket, struct
NETLINK_NETFILTER, NFNL_SUBSYS_ACCT, NFNL_MSG_ACCT_NEW, NFACCT_NAME = 12, 7, 0, 1
NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE = 0x1, 0x4, 0x400
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.bind((0, 0))
for seq, name in enumerate([b"ct_state_invalid_dropped_pkts", b"localhost_nps_accepted_pkts"], 1):
    value = name + b"\0"
    attr = struct.pack("HH", 4 + len(value), NFACCT_NAME) + value
    attr += b"\0" * (-len(attr) % 4)
    body = struct.pack("BBH", socket.AF_UNSPEC, 0, 0) + attr
    s.send(struct.pack("IHHII", 16 + len(body), (NFNL_SUBSYS_ACCT << 8) | NFNL_MSG_ACCT_NEW,
                       NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, seq, 0) + body)
    err = struct.unpack("i", s.recv(4096)[16:20])[0]
    if err != 0:
        raise SystemExit(f"nfacct add {name.decode()}: errno {-err}")
PY

# worker-1's devices. No dummy driver here, so eth0 is one end of a veth pair whose other
# end stays in the namespace; a pod's veth on cni0 gives the bridge its carrier.
in_ns ip link set lo up
in_ns ip link add eth0 type veth peer name lan0
in_ns ip link set lan0 up
in_ns ip addr add 192.168.122.31/24 dev eth0
in_ns ip link set eth0 up
in_ns ip route add default via 192.168.122.1 dev eth0
in_ns ip link add flannel.1 type vxlan id 1 local 192.168.122.31 dev eth0 dstport 8472 nolearning
in_ns ip addr add 10.244.1.0/32 dev flannel.1
in_ns ip link set flannel.1 up
for n in 0 2 3; do
  in_ns ip route add "10.244.$n.0/24" via "10.244.$n.0" dev flannel.1 onlink
done
in_ns ip link add cni0 type bridge
in_ns ip addr add 10.244.1.1/24 dev cni0
in_ns ip link add veth0pod type veth peer name pod0
in_ns ip link set veth0pod master cni0
in_ns ip link set veth0pod up
in_ns ip link set pod0 up
in_ns ip link set cni0 up

in_ns iptables-restore < worker-1.kube-proxy.iptables-restore
in_ns iptables-save > worker-1.iptables-save
# IPv6 routes (fe80::/64, ff00::/8, ...) are left out: every IPv4 line is free of ':'.
in_ns ip route show table all | grep -v ':' > worker-1.routes
