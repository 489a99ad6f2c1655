#!/usr/bin/env python3
"""pop3client.py PORT USER FROM-IP STEP...: a raw POP3 session to
127.0.0.1:PORT from FROM-IP (so the download has a known client address),
logged in as USER with password USER + "pw", then each STEP in order, then
QUIT.  A STEP is a POP3 command (the multi-line answers of RETR, TOP and
LIST are read to the final "."), or "pause:DIR": touch DIR/ready and wait
(60 s at most) until DIR/go exists, keeping the session open.  Prints one
line per command: "COMMAND: first answer line (N lines)"."""
import os
import socket
import sys
import time

port, user, ip, steps = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
s = socket.socket()
s.settimeout(30)
s.bind((ip, 0))
s.connect(("127.0.0.1", port))
f = s.makefile("rwb")


def cmd(c):
    if c is not None:
        f.write(c.encode() + b"\r\n")
        f.flush()
    out = [f.readline().decode().rstrip()]
    verb = (c or "").split(" ")[0].upper()
    multi = verb in ("RETR", "TOP") or (c or "").strip().upper() == "LIST"
    if multi and out[0].startswith("+OK"):
        while True:
            line = f.readline().decode().rstrip()
            if line == ".":
                break
            out.append(line)
    print("%s: %s (%d lines)" % (verb or "greeting", out[0], len(out)))
    return out


cmd(None)
cmd("USER " + user)
cmd("PASS " + user + "pw")
for step in steps:
    if step.startswith("pause:"):
        d = step[len("pause:"):]
        open(os.path.join(d, "ready"), "w").close()
        for _ in range(600):
            if os.path.exists(os.path.join(d, "go")):
                break
            time.sleep(0.1)
        continue
    cmd(step)
cmd("QUIT")
s.close()
