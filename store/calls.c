#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util.h"


void
store_call_clear(struct store_call *c)
{
	char **fields[] = { &c->id, &c->uniqueid, &c->tenant, &c->flow_id,
	    &c->phone_number_uuid, &c->from_number, &c->to_number,
	    &c->direction, &c->status, &c->started_at, &c->answered_at,
	    &c->ended_at, &c->language, &c->outcome, &c->recording_path,
	    &c->timeline };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		free(*fields[i]);
	memset(c, 0, sizeof(*c));
	c->duration_ms = -1;
}

enum store_res
store_call_put(struct store *store, const struct store_call *c)
{
	sqlite3_stmt *st = store_stmt(store, ST_CALL_PUT);
	int rc;

	store_bind_opt(st, 1, c->id);
	store_bind_opt(st, 2, c->uniqueid);
	store_bind_opt(st, 3, c->tenant);
	store_bind_opt(st, 4, c->flow_id);
	store_bind_opt(st, 5, c->phone_number_uuid);
	store_bind_opt(st, 6, c->from_number);
	store_bind_opt(st, 7, c->to_number);
	store_bind_opt(st, 8, c->direction ? c->direction : "inbound");
	store_bind_opt(st, 9, c->status);
	store_bind_opt(st, 10, c->started_at);
	store_bind_opt(st, 11, c->answered_at);
	store_bind_opt(st, 12, c->ended_at);
	if (c->duration_ms >= 0)
		sqlite3_bind_int64(st, 13, c->duration_ms);
	else
		sqlite3_bind_null(st, 13);
	store_bind_opt(st, 14, c->language);
	store_bind_opt(st, 15, c->outcome);
	store_bind_opt(st, 16, c->recording_path);
	sqlite3_bind_int(st, 17, c->ai_handled ? 1 : 0);
	store_bind_opt(st, 18, c->timeline ? c->timeline : "[]");
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(store, "writing a call record");
	return STORE_OK;
}

enum store_res
store_call_get(struct store *store, const char *tenant, const char *id,
    struct store_call *out)
{
	sqlite3_stmt *st = store_stmt(store, ST_CALL_GET);
	enum store_res res = STORE_NOTFOUND;
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (tenant == NULL || strcmp(tenant,
	    (const char *)sqlite3_column_text(st, 2)) == 0)) {
		out->id = store_col_opt(st, 0);
		out->uniqueid = store_col_opt(st, 1);
		out->tenant = store_col_opt(st, 2);
		out->flow_id = store_col_opt(st, 3);
		out->phone_number_uuid = store_col_opt(st, 4);
		out->from_number = store_col_opt(st, 5);
		out->to_number = store_col_opt(st, 6);
		out->direction = store_col_opt(st, 7);
		out->status = store_col_opt(st, 8);
		out->started_at = store_col_opt(st, 9);
		out->answered_at = store_col_opt(st, 10);
		out->ended_at = store_col_opt(st, 11);
		out->duration_ms = sqlite3_column_type(st, 12) == SQLITE_NULL ?
		    -1 : sqlite3_column_int64(st, 12);
		out->language = store_col_opt(st, 13);
		out->outcome = store_col_opt(st, 14);
		out->recording_path = store_col_opt(st, 15);
		out->ai_handled = sqlite3_column_int(st, 16);
		out->timeline = store_col_opt(st, 17);
		res = STORE_OK;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = store_fail(store, "reading a call record");
	sqlite3_reset(st);
	return res;
}

enum store_res
store_batch_begin(struct store *store)
{
	sqlite3_stmt *st;
	int rc;

	if (store->batch_depth++ > 0)
		return STORE_OK;
	st = store_stmt(store, ST_BEGIN);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store->batch_depth = 0;
		return store_fail(store, "beginning a batch");
	}
	return STORE_OK;
}

enum store_res
store_batch_commit(struct store *store)
{
	sqlite3_stmt *st;
	int rc;

	if (store->batch_depth == 0 || --store->batch_depth > 0)
		return STORE_OK;
	st = store_stmt(store, ST_COMMIT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(store, "committing a batch");
	return STORE_OK;
}
