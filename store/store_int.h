/* Shared between the files of store/ only. */
#ifndef IVRD_STORE_INT_H
#define IVRD_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

enum store_stmt {
	ST_FLOW_INSERT,
	ST_FLOW_UPDATE,
	ST_FLOW_DELETE,
	ST_FLOW_GET,
	ST_FLOW_GET_ANY,
	ST_FLOW_LIST,
	ST_FLOW_LIST_ALL,
	ST_FLOW_COUNT,
	ST_FLOW_COUNT_ALL,
	ST_TOKEN_INSERT,
	ST_TOKEN_GET,
	ST_TOKEN_REVOKE,
	ST_TOKEN_NAME_COUNT,
	ST_TOKEN_LIST,
	ST_CALL_PUT,
	ST_CALL_GET,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[ST_COUNT];
	char		*path;
	int		 batch_depth;	/* store_batch_begin nesting */
};

/* Resets and returns the prepared statement, bindings cleared. */
sqlite3_stmt	*store_stmt(struct store *store, enum store_stmt which);
/* Logs the last sqlite error with context; returns STORE_ERR. */
enum store_res	 store_fail(struct store *store, const char *what);
/* Copies column i as a new string ("" for NULL). */
char		*store_col_text(sqlite3_stmt *st, int i);
/* Column i as a new string, or NULL for SQL NULL. */
char		*store_col_opt(sqlite3_stmt *st, int i);
/* Binds s, or SQL NULL when s is NULL (s must outlive the step). */
void		 store_bind_opt(sqlite3_stmt *st, int i, const char *s);

#endif
