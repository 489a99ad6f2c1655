#!/usr/bin/env python3
"""smtplat.py HOST PORT N FROM TO [RAW]: send N small messages one after
the other over one SMTP session and print the per-message latency (MAIL
FROM to the 250 after the final dot) as "p50_ms p99_ms mean_ms"; with RAW,
also append every sample (ms, one a line) to the file RAW."""
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
if len(sys.argv) > 6:
    with open(sys.argv[6], "a") as f:
        f.write("".join("%.3f\n" % v for v in lat))
lat.sort()
def pct(p):
    return lat[min(len(lat) - 1, int(round(p / 100.0 * len(lat) + 0.5)) - 1)]
print("%.2f %.2f %.2f" % (pct(50), pct(99), sum(lat) / len(lat)))
