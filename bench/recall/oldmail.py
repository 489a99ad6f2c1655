#!/usr/bin/env python3
"""oldmail.py MAILDIR M: put M old messages (2 KB each, received one every
ten minutes from 2023-11-14 on) straight into MAILDIR/cur, as years of mail
in a real mailbox: Dovecot indexes them when the mailbox is next opened,
and has no header of theirs cached."""
import os
import sys

maildir, m = sys.argv[1], int(sys.argv[2])
cur = os.path.join(maildir, "cur")
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(maildir, d), exist_ok=True)
body = ("old mail " * 250) + "\n"
for k in range(m):
    t = 1700000000 + k * 600
    path = os.path.join(cur, "%d.M%dP1.old,S=%d:2,S" % (t, k, 2300))
    with open(path, "w") as f:
        f.write("From: someone@ext.test\nTo: user@example.test\n"
                "Subject: old mail %d\nMessage-ID: <old.%d@ext.test>\n"
                "Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n%s" % (k, k, body))
    os.utime(path, (t, t))
