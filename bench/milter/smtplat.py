#!/usr/bin/env python3
"""smtplat.py HOST PORT N FROM TO: send N small messages one after the
other over one SMTP session and print the per-message latency (MAIL FROM
to the 250 after the final dot) as "p50_ms p99_ms mean_ms"."""
import smtplib
import sys
import time

host, port, n, sender, rcpt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
s = smtplib.SMTP(host, port, timeout=30)
s.ehlo("bench.lab.test")
lat = []
for i in range(n):
    msg = ("From: %s\r\nTo: %s\r\nSubject: latency %d\r\nMessage-ID: <lat.%d.%f@bench.test>\r\n\r\nhello\r\n"
           % (sender, rcpt, i, i, time.time()))
    t0 = time.perf_counter()
    s.sendmail(sender, [rcpt], msg)
    lat.append((time.perf_counter() - t0) * 1000.0)
s.quit()
lat.sort()
def pct(p):
    return lat[min(len(lat) - 1, int(round(p / 100.0 * len(lat) + 0.5)) - 1)]
print("%.2f %.2f %.2f" % (pct(50), pct(99), sum(lat) / len(lat)))
