#!/usr/bin/env python3
"""doveadm_gate.py UPSTREAM PORTFILE HOOKDIR: a relay in front of Dovecot's
doveadm HTTP API that opens the race window of a recall on purpose.

It listens on 127.0.0.1 (a free port, written to PORTFILE once it
listens) and passes every request on to UPSTREAM unchanged.  Before it
passes on a request that carries an "expunge" command, it looks in HOOKDIR
for the file "hook" (every expunge waits while one runs it): if there is one, it runs each of its lines as a
command (split like a shell would, but run without one) and waits for it,
then removes the file.  So a test can make a client download a copy after
recalld decided to remove it and before Dovecot removes it: the
deterministic form of the race in issue #4.

Each request is logged to HOOKDIR/log, one line each:
  "pass CMD,CMD,..." for a request passed on,
  "hook EXIT ARGV0" for each command the hook ran (before its request)."""
import http.server
import json
import os
import shlex
import subprocess
import sys
import threading
import urllib.error
import urllib.request

upstream, portfile, hookdir = sys.argv[1], sys.argv[2], sys.argv[3]


def log(line):
    with open(os.path.join(hookdir, "log"), "a") as f:
        f.write(line + "\n")


# recalld sends several requests at once: every expunge waits here until
# the hook has run to its end.
hook_lock = threading.Lock()


def run_hook():
    path = os.path.join(hookdir, "hook")
    with hook_lock:
        try:
            with open(path) as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
        except FileNotFoundError:
            return
        os.unlink(path)
        for ln in lines:
            argv = shlex.split(ln)
            r = subprocess.run(argv, stdout=subprocess.DEVNULL, timeout=60)
            log("hook %d %s" % (r.returncode, os.path.basename(argv[0])))


class Gate(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            names = [c[0] for c in json.loads(body)]
        except (ValueError, TypeError, IndexError, KeyError):
            names = ["?"]
        if "expunge" in names:
            run_hook()
        log("pass " + ",".join(names))
        req = urllib.request.Request(upstream, data=body, method="POST")
        for h in ("Authorization", "Content-Type"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gate)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
