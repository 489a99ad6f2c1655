#!/usr/bin/env python3
"""genlog.py postfix|dovecot N FILE: N lines of a realistic log, shaped
after lines captured from the lab (tests/lab/lab.sh; Postfix 3.7,
Dovecot 2.3.19): every message is accepted, cleaned up, queued and
delivered over LMTP (some to two recipients, some relayed, some deferred);
Dovecot saves it, and IMAP/POP3 clients log in, fetch, flag and expunge."""
import random
import sys

kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(42)
HEX = "0123456789ABCDEF"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
users = ["alice", "bob", "carol", "dave", "erin"] + ["u%04d" % i for i in range(500)]


def qid():
    return "".join(rnd.choice(HEX) for _ in range(11))


def sess():
    return "".join(rnd.choice(B64) for _ in range(22))


def stamp(t):
    h, m, s = (t // 3600) % 24, (t // 60) % 60, t % 60
    return "Nov 27 %02d:%02d:%02d" % (h, m, s)


def postfix(t, pid):
    q, s = qid(), stamp(t)
    u = rnd.choice(users)
    out = [
        f"{s} mx postfix/smtpd[{pid}]: connect from localhost[127.0.0.1]",
        f"{s} mx postfix/smtpd[{pid}]: {q}: client=localhost[127.0.0.1]",
        f"{s} mx postfix/cleanup[{pid+1}]: {q}: message-id=<{t}.{pid}@vm>",
        f"{s} mx postfix/qmgr[{pid+2}]: {q}: from=<sender@example.test>, size=454, nrcpt=1 (queue active)",
        f"{s} mx postfix/smtpd[{pid}]: disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
    ]
    r = rnd.random()
    if r < 0.8:
        out.append(f"{s} mx postfix/lmtp[{pid+3}]: {q}: to=<{u}@example.test>, relay=mx.lab.test[/var/run/dovecot/lmtp], delay=0.02, delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 <{u}@example.test> {sess()} Saved)")
        if r < 0.3:
            out.append(f"{s} mx postfix/lmtp[{pid+3}]: {q}: to=<bob@example.test>, orig_to=<team@example.test>, relay=mx.lab.test[/var/run/dovecot/lmtp], delay=0.01, delays=0/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 <bob@example.test> {sess()}:R2 Saved)")
    elif r < 0.95:
        out.append(f"{s} mx postfix/smtp[{pid+4}]: {q}: to=<x{pid}@ext.test>, relay=127.0.0.1[127.0.0.1]:25285, delay=0.02, delays=0/0.01/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok)")
    else:
        out.append(f"{s} mx postfix/smtp[{pid+4}]: {q}: to=<u@defer.test>, relay=127.0.0.1[127.0.0.1]:25286, delay=0.02, delays=0.01/0/0/0.01, dsn=4.3.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.3.0 Error: command failed (in reply to RCPT TO command))")
    out.append(f"{s} mx postfix/qmgr[{pid+2}]: {q}: removed")
    return out


def iso(t, us):
    h, m, s = (t // 3600) % 24, (t // 60) % 60, t % 60
    return "2026-11-27T%02d:%02d:%02d.%06dZ" % (h, m, s, us)


def dovecot(t, pid):
    s, u, se, uid = stamp(t), rnd.choice(users), sess(), rnd.randint(1, 5000)
    mid = f"<{t}.{pid}@vm>"
    out = [
        f"{s} lmtp({pid}): Info: Connect from local",
        f'{s} stats: Info: {{"event":"mail_opened","hostname":"vm","start_time":"{iso(t, 1)}","end_time":"{iso(t, 2)}","categories":["maildir","mail","storage","lmtp","smtp-server","service:lmtp","mailbox"],"fields":{{"reason_code":["lmtp:cmd_data"],"duration":21,"protocol":"lmtp","remote_pid":22104,"remote_uid":102,"connection_id":"{se}","session":"{se}","transaction_id":"{se}","mail_from":"sender@example.test","mail_from_raw":"sender@example.test","rcpt_to":"{u}@example.test","user":"{u}","reason":"access","mailbox":"INBOX","seq":1,"uid":{uid},"mail_age_days":0}}}}',
        f"{s} lmtp({u})<{pid}><{se}><rip=><lip=><auth={u}>: Info: save: box=INBOX, uid={uid}, msgid={mid}, size=673, vsize=694, from=sender@example.test, subject=test message {pid}, flags=()",
        f"{s} lmtp({u})<{pid}><{se}><rip=><lip=><auth={u}>: Info: msgid={mid}: saved mail to INBOX",
        f"{s} lmtp({pid}): Info: Disconnect from local: Logged out (state=READY)",
    ]
    r = rnd.random()
    se2 = sess()
    if r < 0.5:
        ip, port = ("127.0.0.2", 143) if r < 0.3 else ("127.0.0.1", 8143)
        out += [
            f'{s} stats: Info: {{"event":"auth_client_request_finished","hostname":"vm","start_time":"{iso(t, 3)}","end_time":"{iso(t, 4)}","categories":["auth-client","service:imap-login"],"fields":{{"duration":226,"id":1,"mechanism":"PLAIN","service":"imap","transport":"insecure","session":"{se2}","local_ip":"127.0.0.1","remote_ip":"{ip}","local_port":{port},"remote_port":41393,"real_local_ip":"127.0.0.1","real_remote_ip":"{ip}","real_local_port":{port},"real_remote_port":41393,"user":"{u}"}}}}',
            f"{s} imap-login: Info: Login: user=<{u}>, method=PLAIN, rip={ip}, lip=127.0.0.1, mpid={pid}, session=<{se2}>",
            f'{s} stats: Info: {{"event":"mail_opened","hostname":"vm","start_time":"{iso(t, 5)}","end_time":"{iso(t, 6)}","categories":["maildir","mail","storage","service:imap","mailbox","imap"],"fields":{{"user":"{u}","local_ip":"127.0.0.1","local_port":{port},"remote_ip":"{ip}","remote_port":41393,"session":"{se2}","duration":39,"cmd_name":"UID FETCH","reason_code":["imap:cmd_uid_fetch","imap:fetch_body"],"mailbox":"INBOX","reason":"prefetch","seq":1,"uid":{uid},"mail_age_days":0}}}}',
            f"{s} imap({u})<{pid}><{se2}><rip={ip}><lip=127.0.0.1><auth={u}>: Info: flag_change: box=INBOX, uid={uid}, msgid={mid}, size=673, vsize=694, from=sender@example.test, subject=test message {pid}, flags=(\\Seen \\Recent)",
            f"{s} imap({u})<{pid}><{se2}><rip={ip}><lip=127.0.0.1><auth={u}>: Info: Disconnected: Logged out in=60 out=1609 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=1 body_bytes=694",
        ]
    elif r < 0.6:
        out += [
            f'{s} stats: Info: {{"event":"auth_client_request_finished","hostname":"vm","start_time":"{iso(t, 3)}","end_time":"{iso(t, 4)}","categories":["service:pop3-login","auth-client"],"fields":{{"duration":180,"id":1,"mechanism":"PLAIN","service":"pop3","transport":"trusted","session":"{se2}","local_ip":"127.0.0.1","remote_ip":"127.0.0.1","local_port":110,"remote_port":48304,"real_local_ip":"127.0.0.1","real_remote_ip":"127.0.0.1","real_local_port":110,"real_remote_port":48304,"user":"{u}"}}}}',
            f"{s} pop3-login: Info: Login: user=<{u}>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid={pid}, secured, session=<{se2}>",
            f'{s} stats: Info: {{"event":"mail_opened","hostname":"vm","start_time":"{iso(t, 5)}","end_time":"{iso(t, 6)}","categories":["maildir","service:pop3","mail","storage","mailbox"],"fields":{{"reason_code":["pop3:cmd_retr"],"duration":39,"user":"{u}","session":"{se2}","mailbox":"INBOX","reason":"access","seq":1,"uid":{uid},"mail_age_days":0}}}}',
            f"{s} pop3({u})<{pid}><{se2}><rip=127.0.0.1><lip=127.0.0.1><auth={u}>: Info: expunge: box=INBOX, uid={uid}, msgid={mid}, size=673, vsize=694, from=sender@example.test, subject=test message {pid}, flags=()",
            f"{s} pop3({u})<{pid}><{se2}><rip=127.0.0.1><lip=127.0.0.1><auth={u}>: Info: Disconnected: Logged out top=0/0, retr=1/500, del=1/2, size=1125",
        ]
    return out


gen = postfix if kind == "postfix" else dovecot
written, t, pid = 0, 0, 10000
with open(path, "w") as f:
    while written < n:
        for line in gen(t, pid):
            if written >= n:
                break
            f.write(line + "\n")
            written += 1
        t += 1
        pid += 7
