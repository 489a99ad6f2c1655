/*
 * request - parse and validate one control-socket request.
 *
 *   {"op": "recall", "ref": "MSGREF", "dry_run": false, "as": null}
 *   {"op": "status", "ref": "MSGREF|REQUEST-ID"}
 *
 * Strict: the payload must be one JSON object; op and ref are required
 * strings; dry_run (bool) and as (string or null) are optional and allowed
 * for "recall" only; any other key, a duplicate key, a wrong type, an empty
 * or over-long ref, or a control character in ref/as is an error.  The
 * error text is meant for the user.
 *
 * Ownership: a struct request owns its strings; request_clear() frees
 * them.  *error_r is a heap string the caller frees.  Pure (jansson only).
 */
#ifndef RECALL_REQUEST_H
#define RECALL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum request_op { REQUEST_RECALL, REQUEST_STATUS };

struct request {
	enum request_op op;
	char *ref;	/* as given; resolved by recall.c */
	bool dry_run;
	char *as;	/* NULL when not given */
};

int request_parse(const char *payload, size_t len, struct request *req,
    char **error_r);
void request_clear(struct request *req);
const char *request_op_name(enum request_op op);

/*
 * Is ref a request id (1 to 18 decimal digits)?  A recall id has 24 hex
 * digits and a Message-ID an '@', so the forms never overlap.
 */
bool request_ref_is_request_id(const char *ref, long long *id_r);

#endif
