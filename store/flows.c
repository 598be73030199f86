#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util.h"

static void
bind_flow(sqlite3_stmt *st, const struct store_flow *flow)
{
	sqlite3_bind_text(st, 1, flow->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, flow->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, flow->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, flow->created_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, flow->updated_at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, flow->doc, -1, SQLITE_STATIC);
}

static void
read_flow(sqlite3_stmt *st, struct store_flow *out)
{
	out->tenant = store_col_text(st, 0);
	out->id = store_col_text(st, 1);
	out->status = store_col_text(st, 2);
	out->created_at = store_col_text(st, 3);
	out->updated_at = store_col_text(st, 4);
	out->doc = store_col_text(st, 5);
}

void
store_flow_clear(struct store_flow *flow)
{
	free(flow->tenant);
	free(flow->id);
	free(flow->status);
	free(flow->created_at);
	free(flow->updated_at);
	free(flow->doc);
	memset(flow, 0, sizeof(*flow));
}

enum store_res
store_flow_insert(struct store *store, const struct store_flow *flow)
{
	sqlite3_stmt *st = store_stmt(store, ST_FLOW_INSERT);
	int rc;

	bind_flow(st, flow);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return STORE_CONFLICT;
	if (rc != SQLITE_DONE)
		return store_fail(store, "inserting a flow");
	return STORE_OK;
}

enum store_res
store_flow_update(struct store *store, const struct store_flow *flow)
{
	sqlite3_stmt *st = store_stmt(store, ST_FLOW_UPDATE);
	int rc;

	bind_flow(st, flow);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(store, "updating a flow");
	return sqlite3_changes(store->db) ? STORE_OK : STORE_NOTFOUND;
}

enum store_res
store_flow_delete(struct store *store, const char *tenant, const char *id)
{
	sqlite3_stmt *st = store_stmt(store, ST_FLOW_DELETE);
	int rc;

	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(store, "deleting a flow");
	return sqlite3_changes(store->db) ? STORE_OK : STORE_NOTFOUND;
}

enum store_res
store_flow_get(struct store *store, const char *tenant, const char *id,
    struct store_flow *out)
{
	sqlite3_stmt *st;
	enum store_res res = STORE_NOTFOUND;
	int rc;

	if (tenant != NULL) {
		st = store_stmt(store, ST_FLOW_GET);
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	} else {
		st = store_stmt(store, ST_FLOW_GET_ANY);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_flow(st, out);
		res = STORE_OK;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			store_flow_clear(out);
			res = STORE_AMBIGUOUS;
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		res = store_fail(store, "reading a flow");
	sqlite3_reset(st);
	return res;
}

enum store_res
store_flow_each(struct store *store, const char *tenant,
    int (*cb)(const struct store_flow *, void *), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (tenant != NULL) {
		st = store_stmt(store, ST_FLOW_LIST);
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	} else
		st = store_stmt(store, ST_FLOW_LIST_ALL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_flow flow;
		int stop;

		read_flow(st, &flow);
		stop = cb(&flow, arg);
		store_flow_clear(&flow);
		if (stop) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(store, "listing flows");
	return STORE_OK;
}

enum store_res
store_flow_count(struct store *store, const char *tenant, long *total,
    long *active)
{
	sqlite3_stmt *st;
	int rc;

	if (tenant != NULL) {
		st = store_stmt(store, ST_FLOW_COUNT);
		sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	} else
		st = store_stmt(store, ST_FLOW_COUNT_ALL);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		*active = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? STORE_OK : store_fail(store, "counting flows");
}
