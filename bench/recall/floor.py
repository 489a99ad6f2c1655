#!/usr/bin/env python3
"""floor.py URL KEYFILE MSGID USERS...: what Dovecot alone needs to take
back one message from USERS' mailboxes, the way recalld asks it, without
recalld: one wildcard "fetch" (with the text) per group of users sharing a
4-character prefix, 8 requests in flight, then one wildcard "expunge" per
group naming each copy by mailbox GUID and uid.  Prints
"FETCH_S EXPUNGE_S COPIES_FOUND".  The baseline of bench/recall/run.sh:
recalld's own cost is the recall's time over this."""
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


def post(cmds):
    req = urllib.request.Request(url, data=json.dumps(cmds).encode(),
                                 headers={"Authorization": auth,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def parallel(jobs, n=8):
    """Run the callables in jobs, n at a time."""
    lock = threading.Lock()
    todo = list(jobs)

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                job = todo.pop()
            job()
    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


patterns = sorted({u[:4] + "*" for u in users})
query = ["mailbox", "*", "header", "Message-ID", msgid]
found = {}


def fetch(p):
    def run():
        r = post([["fetch", {"user": p, "field": ["mailbox", "uid",
                   "mailbox-guid", "flags", "text"], "query": query}, "f"]])
        found[p] = r[0][1] if r[0][0] == "doveadmResponse" else []
    return run


t0 = time.time()
parallel([fetch(p) for p in patterns])
t_fetch = time.time() - t0


def expunge(p):
    def run():
        rows = found[p]
        if not rows:
            return
        sel = ["("]
        for i, c in enumerate(rows):
            if i:
                sel.append("OR")
            sel += ["(", "mailbox-guid", c["mailbox-guid"], "uid", c["uid"],
                    ")"]
        sel.append(")")
        post([["expunge", {"user": p, "query": ["mailbox", "INBOX", "unseen"]
               + query[2:] + sel}, "e"]])
    return run


t0 = time.time()
parallel([expunge(p) for p in patterns])
t_expunge = time.time() - t0
print("%.2f %.2f %d" % (t_fetch, t_expunge, sum(len(v) for v in found.values())))
