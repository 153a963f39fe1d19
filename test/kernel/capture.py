#!/usr/bin/env python3
# Captures the IPv4 frames one interface of a test namespace sees, for the VXLAN
# oracle test (no tcpdump needed): a raw AF_PACKET socket bound to IFACE prints
# "ready" once listening, then one line per frame, "<pkttype> <hex>", until
# SECONDS have passed or the file STOP exists, then "end".
# usage: capture.py IFACE SECONDS [STOP]
import os
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003

iface, seconds = sys.argv[1], float(sys.argv[2])
stop = sys.argv[3] if len(sys.argv) > 3 else None
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.bind((iface, ETH_P_ALL))
print("ready", flush=True)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline and not (stop and os.path.exists(stop)):
    ready, _, _ = select.select([s], [], [], 0.05)
    if not ready:
        continue
    frame, addr = s.recvfrom(65535)
    if frame[12:14] == b"\x08\x00":
        print(f"{addr[2]} {frame.hex()}", flush=True)
print("end", flush=True)
