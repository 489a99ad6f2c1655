/*
 * fake_libmilter - link-time fakes of the smfi_* functions the milter
 * calls, for tests/unit/test_milter_*.c.  A fake context records macros
 * set by the test and the header edits the milter asks for.
 */
#ifndef RECALL_FAKE_LIBMILTER_H
#define RECALL_FAKE_LIBMILTER_H

#include <stddef.h>

#define FAKE_MAX_MACROS 32
#define FAKE_MAX_EDITS 4096

enum fake_edit_op { FAKE_ADD, FAKE_CHANGE, FAKE_INSERT, FAKE_DELRCPT,
	FAKE_QUARANTINE };

struct fake_edit {
	enum fake_edit_op op;
	char *name;
	int index;
	char *value;		/* NULL: delete (FAKE_CHANGE); the address
				   (FAKE_DELRCPT) or reason (FAKE_QUARANTINE) */
};

struct smfi_str {
	void *priv;
	char *macro_name[FAKE_MAX_MACROS];
	char *macro_value[FAKE_MAX_MACROS];
	size_t n_macros;
	struct fake_edit edits[FAKE_MAX_EDITS];
	size_t n_edits;
	char *reply;		/* "451 4.3.0 text" of smfi_setreply */
	int fail_edits;		/* smfi_addheader/chgheader fail when set */
	char *symlist[8];
};

struct smfi_str *fake_ctx_new(void);
void fake_ctx_free(struct smfi_str **ctx);
/* Define (value) or undefine (NULL) a macro. */
void fake_macro(struct smfi_str *ctx, const char *name, const char *value);
void fake_clear_edits(struct smfi_str *ctx);
/* How many edits with op and (case-insensitive) name; value NULL = any. */
size_t fake_count(const struct smfi_str *ctx, enum fake_edit_op op,
    const char *name);
/* The value of the n-th added header name, or NULL. */
const char *fake_added(const struct smfi_str *ctx, const char *name,
    size_t n);

#endif
