#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/store_int.h"
#include "util.h"

/*
 * Migrations, applied in order; PRAGMA user_version is how many ran.
 * Never edit one that has shipped: add a new one.
 */
static const char *const migrations[] = {
	/* 1: flows and API tokens */
	"CREATE TABLE flows ("
	"  tenant TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'inactive'"
	"    CHECK (status IN ('active', 'inactive')),"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  doc TEXT NOT NULL,"
	"  PRIMARY KEY (tenant, id)"
	") WITHOUT ROWID;"
	"CREATE INDEX flows_by_id ON flows (id);"
	"CREATE TABLE api_tokens ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  tenant TEXT NOT NULL,"
	"  admin INTEGER NOT NULL DEFAULT 0,"
	"  hash BLOB NOT NULL,"
	"  created_at TEXT NOT NULL,"
	"  revoked_at TEXT"
	");"
	"CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (tenant, name)"
	"  WHERE revoked_at IS NULL;",
	/*
	 * 2: call records, written as calls progress. Every index leads with
	 * the tenant and ends with started_at: the call log's filters are
	 * equalities plus a date range, newest first.
	 */
	"CREATE TABLE calls ("
	"  id TEXT PRIMARY KEY,"
	"  uniqueid TEXT,"
	"  tenant TEXT NOT NULL,"
	"  flow_id TEXT,"
	"  phone_number_uuid TEXT,"
	"  from_number TEXT,"
	"  to_number TEXT,"
	"  direction TEXT NOT NULL DEFAULT 'inbound'"
	"    CHECK (direction IN ('inbound', 'outbound')),"
	"  status TEXT NOT NULL"
	"    CHECK (status IN ('ringing', 'in-progress', 'completed', 'failed')),"
	"  started_at TEXT NOT NULL,"
	"  answered_at TEXT,"
	"  ended_at TEXT,"
	"  duration_ms INTEGER,"
	"  language TEXT,"
	"  outcome TEXT,"
	"  recording_path TEXT,"
	"  ai_handled INTEGER NOT NULL DEFAULT 0,"
	"  timeline TEXT NOT NULL DEFAULT '[]'"
	");"
	"CREATE INDEX calls_by_started ON calls (tenant, started_at);"
	"CREATE INDEX calls_by_status ON calls (tenant, status, started_at);"
	"CREATE INDEX calls_by_direction ON calls (tenant, direction, started_at);"
	"CREATE INDEX calls_by_number ON calls (tenant, phone_number_uuid,"
	"  started_at);"
	"CREATE INDEX calls_by_uniqueid ON calls (uniqueid);",
	/*
	 * 3: the voice API: tenants (their voice permission) and phone
	 * numbers. A number's ivr_menu is the menu JSON as the API took it;
	 * the flow it generates lives in flows. The call log filtered by a
	 * number and a status counts from one index, without the table.
	 */
	"CREATE TABLE tenants ("
	"  name TEXT PRIMARY KEY,"
	"  voice_enabled INTEGER NOT NULL DEFAULT 0,"
	"  updated_at TEXT"
	") WITHOUT ROWID;"
	"CREATE TABLE numbers ("
	"  uuid TEXT PRIMARY KEY,"
	"  tenant TEXT NOT NULL,"
	"  phone_number TEXT NOT NULL UNIQUE,"
	"  friendly_name TEXT,"
	"  status TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (status IN ('active', 'inactive')),"
	"  connection_type TEXT NOT NULL DEFAULT 'wazo',"
	"  call_handling_mode TEXT NOT NULL CHECK (call_handling_mode IN"
	"    ('ai_only', 'human_only', 'ai_with_handoff', 'ivr_menu')),"
	"  ai_enabled INTEGER NOT NULL DEFAULT 0,"
	"  recording_enabled INTEGER NOT NULL DEFAULT 0,"
	"  ivr_enabled INTEGER NOT NULL DEFAULT 0,"
	"  ai_system_prompt TEXT,"
	"  flow_id TEXT,"
	"  human_target TEXT,"
	"  ivr_menu TEXT,"
	"  created_at TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL"
	");"
	"CREATE INDEX numbers_by_tenant ON numbers (tenant, created_at);"
	"CREATE INDEX calls_by_number_status ON calls (tenant,"
	"  phone_number_uuid, status, started_at);",
	/*
	 * 4: what deploying a flow to Wazo created (incalls, extensions,
	 * the dialplan file) and resolved (queue routes), so undeploy removes
	 * exactly that and a retry completes a half-done deploy.
	 */
	"CREATE TABLE deployments ("
	"  tenant TEXT NOT NULL,"
	"  flow_id TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  updated_at TEXT NOT NULL,"
	"  PRIMARY KEY (tenant, flow_id)"
	") WITHOUT ROWID;",
	/*
	 * 5: an admin's call log across every tenant: the same filters
	 * without the tenant, newest first, still through an index.
	 */
	"CREATE INDEX calls_all_by_started ON calls (started_at);"
	"CREATE INDEX calls_all_by_status ON calls (status, started_at);"
};
#define NMIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))

static const char *const stmt_sql[ST_COUNT] = {
	[ST_FLOW_INSERT] = "INSERT INTO flows (tenant, id, status, created_at,"
	    " updated_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_FLOW_UPDATE] = "UPDATE flows SET status = ?3, updated_at = ?5,"
	    " doc = ?6 WHERE tenant = ?1 AND id = ?2",
	[ST_FLOW_DELETE] = "DELETE FROM flows WHERE tenant = ?1 AND id = ?2",
	[ST_FLOW_GET] = "SELECT tenant, id, status, created_at, updated_at, doc"
	    " FROM flows WHERE tenant = ?1 AND id = ?2",
	[ST_FLOW_GET_ANY] = "SELECT tenant, id, status, created_at, updated_at,"
	    " doc FROM flows WHERE id = ?1 LIMIT 2",
	[ST_FLOW_LIST] = "SELECT tenant, id, status, created_at, updated_at,"
	    " doc FROM flows WHERE tenant = ?1 ORDER BY id",
	[ST_FLOW_LIST_ALL] = "SELECT tenant, id, status, created_at,"
	    " updated_at, doc FROM flows ORDER BY tenant, id",
	[ST_FLOW_COUNT] = "SELECT count(*), count(*) FILTER (WHERE status ="
	    " 'active') FROM flows WHERE tenant = ?1",
	[ST_FLOW_COUNT_ALL] = "SELECT count(*), count(*) FILTER (WHERE status"
	    " = 'active') FROM flows",
	[ST_TOKEN_INSERT] = "INSERT INTO api_tokens (id, name, tenant, admin,"
	    " hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_TOKEN_GET] = "SELECT tenant, admin, hash FROM api_tokens"
	    " WHERE id = ?1 AND revoked_at IS NULL",
	[ST_TOKEN_REVOKE] = "UPDATE api_tokens SET revoked_at = ?2"
	    " WHERE (id = ?1 OR name = ?1) AND revoked_at IS NULL",
	[ST_TOKEN_NAME_COUNT] = "SELECT count(*) FROM api_tokens"
	    " WHERE (id = ?1 OR name = ?1) AND revoked_at IS NULL",
	[ST_TOKEN_LIST] = "SELECT id, name, tenant, admin, created_at,"
	    " revoked_at FROM api_tokens ORDER BY created_at, id",
	[ST_CALL_PUT] = "INSERT INTO calls (id, uniqueid, tenant, flow_id,"
	    " phone_number_uuid, from_number, to_number, direction, status,"
	    " started_at, answered_at, ended_at, duration_ms, language, outcome,"
	    " recording_path, ai_handled, timeline) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
	    " ON CONFLICT (id) DO UPDATE SET status = ?9, answered_at = ?11,"
	    " ended_at = ?12, duration_ms = ?13, language = ?14, outcome = ?15,"
	    " recording_path = ?16, ai_handled = ?17, timeline = ?18,"
	    " flow_id = ?4, phone_number_uuid = ?5",
	[ST_CALL_GET] = "SELECT id, uniqueid, tenant, flow_id, phone_number_uuid,"
	    " from_number, to_number, direction, status, started_at,"
	    " answered_at, ended_at, duration_ms, language, outcome,"
	    " recording_path, ai_handled, timeline FROM calls WHERE id = ?1",
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
};

static int
exec_sql(struct store *store, const char *sql, char **err)
{
	char *msg = NULL;

	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		xasprintf(err, "%s: %s", store->path, msg ? msg :
		    sqlite3_errmsg(store->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
migrate(struct store *store, char **err)
{
	int version = store_schema_version(store);

	if (version > NMIGRATIONS) {
		xasprintf(err, "%s: schema version %d is newer than this ivrd "
		    "knows (%d); upgrade ivrd", store->path, version,
		    NMIGRATIONS);
		return -1;
	}
	for (; version < NMIGRATIONS; version++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d;",
		    version + 1);
		if (exec_sql(store, "BEGIN IMMEDIATE;", err) == -1)
			return -1;
		if (exec_sql(store, migrations[version], err) == -1 ||
		    exec_sql(store, pragma, err) == -1 ||
		    exec_sql(store, "COMMIT;", err) == -1) {
			char *ignored = NULL;

			exec_sql(store, "ROLLBACK;", &ignored);
			free(ignored);
			return -1;
		}
		log_info("store: migrated %s to schema version %d",
		    store->path, version + 1);
	}
	return 0;
}

struct store *
store_open(const char *path, char **err)
{
	struct store *store = xcalloc(1, sizeof(*store));

	store->path = xstrdup(path);
	if (sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		xasprintf(err, "%s: %s", path, store->db ?
		    sqlite3_errmsg(store->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(store->db, 5000);
	if (exec_sql(store, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = ON;", err) == -1)
		goto fail;
	if (migrate(store, err) == -1)
		goto fail;
	for (int i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(store->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &store->stmt[i], NULL) !=
		    SQLITE_OK) {
			xasprintf(err, "%s: preparing statement %d: %s", path,
			    i, sqlite3_errmsg(store->db));
			goto fail;
		}
	return store;
fail:
	store_close(store);
	return NULL;
}

void
store_close(struct store *store)
{
	if (store == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(store->stmt[i]);
	if (store->db != NULL)
		sqlite3_close(store->db);	/* checkpoints the WAL */
	free(store->path);
	free(store);
}

int
store_schema_version(struct store *store)
{
	sqlite3_stmt *st;
	int version = -1;

	if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

sqlite3_stmt *
store_stmt(struct store *store, enum store_stmt which)
{
	sqlite3_stmt *st = store->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

enum store_res
store_fail(struct store *store, const char *what)
{
	log_warnx("store: %s: %s", what, sqlite3_errmsg(store->db));
	return STORE_ERR;
}

char *
store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return xstrdup(s ? (const char *)s : "");
}

void
store_bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

char *
store_col_opt(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s != NULL ? xstrdup((const char *)s) : NULL;
}
