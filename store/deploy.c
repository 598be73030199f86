#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store/store_int.h"
#include "util.h"

/* Seldom used: plain statements, prepared per call. */
static sqlite3_stmt *
prepare(struct store *store, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(store->db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_fail(store, "preparing a deployment statement");
		return NULL;
	}
	return st;
}

json_t *
store_deploy_get(struct store *store, const char *tenant, const char *flow_id)
{
	sqlite3_stmt *st = prepare(store, "SELECT state FROM deployments"
	    " WHERE tenant = ?1 AND flow_id = ?2");
	json_t *state = NULL;

	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, flow_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		state = json_loads((const char *)sqlite3_column_text(st, 0), 0,
		    NULL);
	sqlite3_finalize(st);
	return state;
}

enum store_res
store_deploy_put(struct store *store, const char *tenant, const char *flow_id,
    json_t *state)
{
	char now[ISO8601_LEN], *text = NULL;
	sqlite3_stmt *st;
	int rc;

	if (state == NULL)
		st = prepare(store, "DELETE FROM deployments WHERE tenant = ?1"
		    " AND flow_id = ?2");
	else {
		st = prepare(store, "INSERT INTO deployments (tenant, flow_id,"
		    " state, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT"
		    " (tenant, flow_id) DO UPDATE SET state = ?3,"
		    " updated_at = ?4");
		text = json_dumps(state, JSON_COMPACT);
	}
	if (st == NULL) {
		free(text);
		return STORE_ERR;
	}
	iso8601_utc(time(NULL), now);
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, flow_id, -1, SQLITE_STATIC);
	if (text != NULL) {
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(text);
	return rc == SQLITE_DONE ? STORE_OK :
	    store_fail(store, "saving a deployment");
}

enum store_res
store_flow_set_status(struct store *store, const char *tenant,
    const char *flow_id, const char *status)
{
	struct store_flow sf;
	enum store_res res;
	json_t *doc;

	if ((res = store_flow_get(store, tenant, flow_id, &sf)) != STORE_OK)
		return res;
	if ((doc = json_loads(sf.doc, 0, NULL)) == NULL) {
		store_flow_clear(&sf);
		return STORE_ERR;
	}
	json_object_set_new(doc, "status", json_string(status));
	free(sf.doc);
	if ((sf.doc = json_dumps(doc, 0)) == NULL)
		fatalx("json_dumps failed");
	json_decref(doc);
	free(sf.status);
	sf.status = xstrdup(status);
	res = store_flow_update(store, &sf);
	store_flow_clear(&sf);
	return res;
}
