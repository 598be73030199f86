#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"
#include "util.h"

/*
 * Phone numbers and tenants of the voice API, and the call log's query.
 * These are not on a call's hot path except store_number_by_phone and
 * store_tenant_voice_enabled, so statements are prepared where used.
 */
#define NUMBER_COLS	"uuid, tenant, phone_number, friendly_name, status," \
	" connection_type, call_handling_mode, ai_enabled, recording_enabled," \
	" ivr_enabled, ai_system_prompt, flow_id, human_target, created_at," \
	" ivr_menu, updated_at"

static sqlite3_stmt	*prepare(struct store *, const char *);
static void		 read_number(sqlite3_stmt *, struct store_number *);

void
store_number_clear(struct store_number *n)
{
	free(n->uuid);
	free(n->tenant);
	free(n->phone_number);
	free(n->friendly_name);
	free(n->status);
	free(n->connection_type);
	free(n->call_handling_mode);
	free(n->ai_system_prompt);
	free(n->flow_id);
	free(n->human_target);
	free(n->created_at);
	free(n->ivr_menu);
	free(n->updated_at);
	memset(n, 0, sizeof(*n));
}

/* Binds the 16 columns of NUMBER_COLS as ?1..?16. */
static void
bind_number(sqlite3_stmt *st, const struct store_number *n)
{
	store_bind_opt(st, 1, n->uuid);
	store_bind_opt(st, 2, n->tenant);
	store_bind_opt(st, 3, n->phone_number);
	store_bind_opt(st, 4, n->friendly_name);
	store_bind_opt(st, 5, n->status ? n->status : "active");
	store_bind_opt(st, 6, n->connection_type ? n->connection_type : "wazo");
	store_bind_opt(st, 7, n->call_handling_mode);
	sqlite3_bind_int(st, 8, n->ai_enabled ? 1 : 0);
	sqlite3_bind_int(st, 9, n->recording_enabled ? 1 : 0);
	sqlite3_bind_int(st, 10, n->ivr_enabled ? 1 : 0);
	store_bind_opt(st, 11, n->ai_system_prompt);
	store_bind_opt(st, 12, n->flow_id);
	store_bind_opt(st, 13, n->human_target);
	store_bind_opt(st, 14, n->created_at);
	store_bind_opt(st, 15, n->ivr_menu);
	store_bind_opt(st, 16, n->updated_at ? n->updated_at : n->created_at);
}

enum store_res
store_number_insert(struct store *store, const struct store_number *n)
{
	sqlite3_stmt *st = prepare(store, "INSERT INTO numbers (" NUMBER_COLS
	    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15, ?16)");
	enum store_res res = STORE_OK;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	bind_number(st, n);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT &&
	    sqlite3_extended_errcode(sqlite3_db_handle(st)) !=
	    SQLITE_CONSTRAINT_CHECK)
		res = STORE_CONFLICT;
	else if (rc != SQLITE_DONE)
		res = store_fail(store, "inserting a number");
	sqlite3_finalize(st);
	return res;
}

enum store_res
store_number_update(struct store *store, const struct store_number *n)
{
	sqlite3_stmt *st = prepare(store, "UPDATE numbers SET phone_number ="
	    " ?3, friendly_name = ?4, status = ?5, connection_type = ?6,"
	    " call_handling_mode = ?7, ai_enabled = ?8, recording_enabled = ?9,"
	    " ivr_enabled = ?10, ai_system_prompt = ?11, flow_id = ?12,"
	    " human_target = ?13, ivr_menu = ?15, updated_at = ?16"
	    " WHERE uuid = ?1 AND tenant = ?2");
	enum store_res res = STORE_OK;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	bind_number(st, n);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		res = STORE_CONFLICT;
	else if (rc != SQLITE_DONE)
		res = store_fail(store, "updating a number");
	else if (sqlite3_changes(store->db) == 0)
		res = STORE_NOTFOUND;
	sqlite3_finalize(st);
	return res;
}

enum store_res
store_number_delete(struct store *store, const char *tenant, const char *uuid)
{
	sqlite3_stmt *st = prepare(store, "DELETE FROM numbers WHERE uuid = ?1"
	    " AND tenant = ?2");
	enum store_res res = STORE_OK;

	if (st == NULL)
		return STORE_ERR;
	store_bind_opt(st, 1, uuid);
	store_bind_opt(st, 2, tenant);
	if (sqlite3_step(st) != SQLITE_DONE)
		res = store_fail(store, "deleting a number");
	else if (sqlite3_changes(store->db) == 0)
		res = STORE_NOTFOUND;
	sqlite3_finalize(st);
	return res;
}

enum store_res
store_number_get(struct store *store, const char *tenant, const char *uuid,
    struct store_number *out)
{
	sqlite3_stmt *st = prepare(store, "SELECT " NUMBER_COLS " FROM numbers"
	    " WHERE uuid = ?1 AND (?2 IS NULL OR tenant = ?2)");
	enum store_res res = STORE_NOTFOUND;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	store_bind_opt(st, 1, uuid);
	store_bind_opt(st, 2, tenant);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_number(st, out);
		res = STORE_OK;
	} else if (rc != SQLITE_DONE)
		res = store_fail(store, "reading a number");
	sqlite3_finalize(st);
	return res;
}

enum store_res
store_number_each(struct store *store, const char *tenant,
    int (*cb)(const struct store_number *, void *), void *arg)
{
	sqlite3_stmt *st = prepare(store, tenant != NULL ?
	    "SELECT " NUMBER_COLS " FROM numbers WHERE tenant = ?1"
	    " ORDER BY created_at, rowid" :
	    "SELECT " NUMBER_COLS " FROM numbers ORDER BY tenant, created_at,"
	    " rowid");
	enum store_res res = STORE_OK;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	if (tenant != NULL)
		store_bind_opt(st, 1, tenant);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_number n;
		int stop;

		memset(&n, 0, sizeof(n));
		read_number(st, &n);
		stop = cb(&n, arg);
		store_number_clear(&n);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = store_fail(store, "listing numbers");
	sqlite3_finalize(st);
	return res;
}

/*
 * Numbers are stored in E.164; a dialled number often reaches Asterisk
 * without its "+", so both spellings find the same number.
 */
enum store_res
store_number_by_phone(struct store *store, const char *phone,
    struct store_number *out)
{
	sqlite3_stmt *st;
	enum store_res res = STORE_NOTFOUND;
	char *e164;
	int rc;

	if (phone == NULL || *phone == '\0')
		return STORE_NOTFOUND;
	if ((st = prepare(store, "SELECT " NUMBER_COLS " FROM numbers"
	    " WHERE phone_number = ?1")) == NULL)
		return STORE_ERR;
	xasprintf(&e164, "%s%s", phone[0] == '+' ? "" : "+", phone);
	sqlite3_bind_text(st, 1, e164, -1, SQLITE_TRANSIENT);
	free(e164);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_number(st, out);
		res = STORE_OK;
	} else if (rc != SQLITE_DONE)
		res = store_fail(store, "finding a number by phone");
	sqlite3_finalize(st);
	return res;
}

int
store_tenant_voice_enabled(struct store *store, const char *tenant)
{
	sqlite3_stmt *st;
	int enabled = 0;

	if (tenant == NULL || (st = prepare(store, "SELECT voice_enabled FROM"
	    " tenants WHERE name = ?1")) == NULL)
		return 0;
	store_bind_opt(st, 1, tenant);
	if (sqlite3_step(st) == SQLITE_ROW)
		enabled = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return enabled;
}

enum store_res
store_tenant_voice_set(struct store *store, const char *tenant, int enabled)
{
	sqlite3_stmt *st = prepare(store, "INSERT INTO tenants (name,"
	    " voice_enabled, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (name)"
	    " DO UPDATE SET voice_enabled = ?2, updated_at = ?3");
	enum store_res res = STORE_OK;
	char now[ISO8601_LEN];

	if (st == NULL)
		return STORE_ERR;
	iso8601_utc(time(NULL), now);
	store_bind_opt(st, 1, tenant);
	sqlite3_bind_int(st, 2, enabled ? 1 : 0);
	store_bind_opt(st, 3, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		res = store_fail(store, "setting a tenant's voice permission");
	sqlite3_finalize(st);
	return res;
}

/*
 * The WHERE clause of the call log: equalities on the leading columns of
 * one of the calls_by_* indexes, then the started_at range, so both the
 * page (ORDER BY started_at DESC) and the count walk one index range.
 */
static void
call_where(const struct store_call_filter *f, char *buf, size_t len)
{
	snprintf(buf, len, " WHERE 1%s%s%s%s%s%s",
	    f->tenant ? " AND tenant = ?1" : "",
	    f->phone_number_uuid ? " AND phone_number_uuid = ?2" : "",
	    f->status ? " AND status = ?3" : "",
	    f->direction ? " AND direction = ?4" : "",
	    f->from ? " AND started_at >= ?5" : "",
	    f->to ? " AND started_at < ?6" : "");
}

static void
bind_filter(sqlite3_stmt *st, const struct store_call_filter *f)
{
	const char *v[] = { f->tenant, f->phone_number_uuid, f->status,
	    f->direction, f->from, f->to };

	for (int i = 0; i < 6; i++)
		if (v[i] != NULL)
			sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_STATIC);
}

enum store_res
store_call_query(struct store *store, const struct store_call_filter *f,
    int (*cb)(const struct store_call *, void *), void *arg, long *total)
{
	char where[256], *sql;
	sqlite3_stmt *st;
	int rc;

	call_where(f, where, sizeof(where));
	if (f->tenant == NULL)
		xasprintf(&sql, "SELECT count(*) FROM (SELECT 1 FROM calls%s"
		    " LIMIT %d)", where, STORE_CALL_COUNT_CAP + 1);
	else
		xasprintf(&sql, "SELECT count(*) FROM calls%s", where);
	st = prepare(store, sql);
	free(sql);
	if (st == NULL)
		return STORE_ERR;
	bind_filter(st, f);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return store_fail(store, "counting calls");
	}
	*total = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	xasprintf(&sql, "SELECT id, uniqueid, tenant, flow_id,"
	    " phone_number_uuid, from_number, to_number, direction, status,"
	    " started_at, answered_at, ended_at, duration_ms, language, outcome,"
	    " recording_path, ai_handled FROM calls%s ORDER BY started_at DESC,"
	    " id DESC LIMIT ?7 OFFSET ?8", where);
	st = prepare(store, sql);
	free(sql);
	if (st == NULL)
		return STORE_ERR;
	bind_filter(st, f);
	sqlite3_bind_int64(st, 7, f->per_page);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)(f->page - 1) * f->per_page);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_call c;
		int stop;

		memset(&c, 0, sizeof(c));
		c.id = store_col_opt(st, 0);
		c.uniqueid = store_col_opt(st, 1);
		c.tenant = store_col_opt(st, 2);
		c.flow_id = store_col_opt(st, 3);
		c.phone_number_uuid = store_col_opt(st, 4);
		c.from_number = store_col_opt(st, 5);
		c.to_number = store_col_opt(st, 6);
		c.direction = store_col_opt(st, 7);
		c.status = store_col_opt(st, 8);
		c.started_at = store_col_opt(st, 9);
		c.answered_at = store_col_opt(st, 10);
		c.ended_at = store_col_opt(st, 11);
		c.duration_ms = sqlite3_column_type(st, 12) == SQLITE_NULL ?
		    -1 : sqlite3_column_int64(st, 12);
		c.language = store_col_opt(st, 13);
		c.outcome = store_col_opt(st, 14);
		c.recording_path = store_col_opt(st, 15);
		c.ai_handled = sqlite3_column_int(st, 16);
		stop = cb(&c, arg);
		store_call_clear(&c);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return store_fail(store, "listing calls");
	}
	sqlite3_finalize(st);
	return STORE_OK;
}

static sqlite3_stmt *
prepare(struct store *store, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_fail(store, "preparing a statement");
		return NULL;
	}
	return st;
}


static void
read_number(sqlite3_stmt *st, struct store_number *n)
{
	n->uuid = store_col_opt(st, 0);
	n->tenant = store_col_opt(st, 1);
	n->phone_number = store_col_opt(st, 2);
	n->friendly_name = store_col_opt(st, 3);
	n->status = store_col_opt(st, 4);
	n->connection_type = store_col_opt(st, 5);
	n->call_handling_mode = store_col_opt(st, 6);
	n->ai_enabled = sqlite3_column_int(st, 7);
	n->recording_enabled = sqlite3_column_int(st, 8);
	n->ivr_enabled = sqlite3_column_int(st, 9);
	n->ai_system_prompt = store_col_opt(st, 10);
	n->flow_id = store_col_opt(st, 11);
	n->human_target = store_col_opt(st, 12);
	n->created_at = store_col_opt(st, 13);
	n->ivr_menu = store_col_opt(st, 14);
	n->updated_at = store_col_opt(st, 15);
}
