#!/usr/bin/env python3
# Sends one packet from inside a test namespace: a TCP SYN crafted on a raw
# socket (no retransmits, exact source port), or a UDP datagram.
# usage: send-packet.py tcp|udp SRC SPORT DST DPORT   (or those five words a line on stdin)
import errno
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def send(proto: str, src: str, sport: int, dst: str, dport: int) -> None:
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        s.sendto(b"knetsim", (dst, dport))
    else:
        tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(ip + tcp, (dst, 0))


def send_one(args: list) -> None:
    try:
        send(args[0], args[1], int(args[2]), args[3], int(args[4]))
    except OSError as e:
        # Netfilter dropping or rejecting a locally sent packet shows up as an error of sendto: an outcome, not a failure.
        if e.errno not in (errno.EPERM, errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH):
            raise
        print(f"sendto: {e.strerror}")


# One packet from the arguments, or one packet a line from standard input.
if len(sys.argv) > 1:
    send_one(sys.argv[1:])
else:
    for line in sys.stdin:
        if line.strip():
            send_one(line.split())
