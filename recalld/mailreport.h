/*
 * mailreport - mail the report of a finished request to its sender.
 *
 * After every real (not dry-run) request, recall.c calls
 * mailreport_send(): it composes the report (dsn.h) from the request's
 * outcomes, the message's subject and submission time (table messages)
 * and the original header (the request's first quarantined copy, else any
 * earlier quarantined copy of the message, else only the Message-ID), and
 * hands it to recalld.sendmail (mailer.h) for report_to, with envelope
 * sender recalld.report_sender.  The result is logged and audited
 * (action "report").  A failure to mail never fails the request.
 *
 * Blocking (one sendmail run).  Borrowed arguments.
 */
#ifndef RECALL_MAILREPORT_H
#define RECALL_MAILREPORT_H

#include "recall.h"
#include "records.h"

void mailreport_send(const struct recall_env *env, const char *actor,
    const struct records_message *m, const struct report *rep,
    const char *report_to);

#endif
