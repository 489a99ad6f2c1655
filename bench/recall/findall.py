#!/usr/bin/env python3
"""findall.py URL KEYFILE MSGID USERS...: what the find cost before it
looked at recent mail first: one "fetch" per user of the copies whose
Message-ID header is MSGID in every mailbox, over all the mail (so Dovecot
reads the headers of every message it has not cached), 8 requests in
flight.  Prints "SECONDS COPIES_FOUND"."""
import base64
import json
import sys
import threading
import time
import urllib.request

url, keyfile, msgid = sys.argv[1], sys.argv[2], sys.argv[3]
users = sys.argv[4:]
with open(keyfile) as f:
    key = f.readline().strip()
auth = "X-Dovecot-API " + base64.b64encode(key.encode()).decode()
found = []
lock = threading.Lock()


def worker():
    while True:
        with lock:
            if not users:
                return
            u = users.pop()
        cmd = [["fetch", {"user": u, "field": ["mailbox", "uid", "flags"],
                          "query": ["mailbox", "*", "header", "Message-ID",
                                    msgid]}, "f"]]
        req = urllib.request.Request(url, data=json.dumps(cmd).encode(),
                                     headers={"Authorization": auth,
                                              "Content-Type":
                                              "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            ans = json.load(r)
        with lock:
            if ans[0][0] == "doveadmResponse":
                found.extend(ans[0][1])


t0 = time.time()
threads = [threading.Thread(target=worker) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("%.2f %d" % (time.time() - t0, len(found)))
