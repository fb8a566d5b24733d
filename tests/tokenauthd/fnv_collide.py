#!/usr/bin/env python3
"""fnv_collide.py N - N addresses in 127.0.0.0/8 whose limits key (the dotted
address, as tokenauthd/server.c builds it for IPv4) has the same bucket under
the hash of tokenauthd/limits.c before issue 9: unkeyed 64-bit FNV-1a modulo
4096 slots.  The first N-1 fill that bucket's 8-slot probe window; on that
code the N-th crashed the service.  Skips 127.0.0.1 (the test's own client).
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 9
M = (1 << 64) - 1


def fnv(s):
    h = 1469598103934665603
    for c in s.encode():
        h = ((h ^ c) * 1099511628211) & M
    return h % 4096


buckets = {}
for b in range(0, 256):
    for c in range(2, 255):
        a = "127.0.%d.%d" % (b, c)
        v = buckets.setdefault(fnv(a), [])
        v.append(a)
        if len(v) == n:
            print(" ".join(v))
            sys.exit(0)
sys.exit(1)
