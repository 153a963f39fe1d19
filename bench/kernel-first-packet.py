#!/usr/bin/env python3
# Times a burst of new connections' first packets through the kernel's LOCAL_OUT path
# from inside a network namespace: TCP SYNs on a raw socket (each a new connection,
# its own source port), sendto returning once netfilter (conntrack, nat, filter) has run.
# usage: kernel-first-packet.py SRC DST DPORT COUNT FIRST_SPORT -> prints microseconds per packet
import socket
import struct
import sys
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


src, dst, dport, count, first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
packets = []
for i in range(count):
    sport = first + i
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    packets.append(ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + tcp)
t0 = time.perf_counter_ns()
for p in packets:
    try:
        s.sendto(p, (dst, 0))
    except OSError:
        pass
print((time.perf_counter_ns() - t0) / count / 1000)
