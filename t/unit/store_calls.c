/*
 * Call records in the store: written as a call progresses, read back
 * whole; batches share a transaction and survive a reopen; the schema
 * migrates from version 1; the call log's filters use an index.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "util.h"
#include "t/unit/tap.h"

static char path[128];

/* The struct owns what it reads back; test inputs are literals. */
#define S(lit)	((char *)(uintptr_t)(lit))

static struct store *
open_store(void)
{
	char *err = NULL;
	struct store *s = store_open(path, &err);

	if (s == NULL) {
		diag("store_open: %s", err);
		exit(1);
	}
	return s;
}

/* What EXPLAIN QUERY PLAN says of sql, one line. */
static void
plan_of(const char *sql, char *out, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *q;

	out[0] = '\0';
	sqlite3_open(path, &db);
	xasprintf(&q, "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			size_t n = strlen(out);

			snprintf(out + n, len - n, "%s; ",
			    (const char *)sqlite3_column_text(st, 3));
		}
		sqlite3_finalize(st);
	}
	free(q);
	sqlite3_close(db);
}

static int
count_cb(const struct store_call *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

int
main(void)
{
	char dir[] = "/tmp/ivrd-calls-XXXXXX", plan[1024];
	struct store *s;
	struct store_call c, got;
	sqlite3 *db;
	int i, n;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/ivrd.sqlite", dir);
	s = open_store();
	is_int(store_schema_version(s), 5, "a new store is at schema version 5");

	/* A call as it starts. */
	memset(&c, 0, sizeof(c));
	c.id = S("3f1c2a4e-0000-4000-8000-000000000001");
	c.uniqueid = S("1718035200.97");
	c.tenant = S("acme");
	c.flow_id = S("sales");
	c.from_number = S("15551234567");
	c.to_number = S("18005550100");
	c.status = S("ringing");
	c.started_at = S("2026-11-21T10:00:00.000Z");
	c.duration_ms = -1;
	is_int(store_call_put(s, &c), STORE_OK, "a ringing call is stored");
	memset(&got, 0, sizeof(got));
	is_int(store_call_get(s, "acme", c.id, &got), STORE_OK, "and read back");
	is_str(got.status, "ringing", "status ringing");
	is_str(got.direction, "inbound", "direction defaults to inbound");
	ok(got.answered_at == NULL && got.outcome == NULL,
	    "what has not happened yet is NULL");
	is_int(got.duration_ms, -1, "no duration yet");
	is_str(got.timeline, "[]", "an empty timeline");
	store_call_clear(&got);

	/* As it progresses, then ends. */
	c.status = S("completed");
	c.answered_at = S("2026-11-21T10:00:00.120Z");
	c.ended_at = S("2026-11-21T10:00:09.500Z");
	c.duration_ms = 9500;
	c.language = S("en-US");
	c.outcome = S("queue:sales_q");
	c.timeline = S("[{\"at_ms\":0,\"event\":\"answered\"}]");
	is_int(store_call_put(s, &c), STORE_OK, "the same call is updated");
	is_int(store_call_get(s, NULL, c.id, &got), STORE_OK, "read again");
	is_str(got.status, "completed", "status completed");
	is_str(got.outcome, "queue:sales_q", "outcome");
	is_int(got.duration_ms, 9500, "duration");
	is_str(got.uniqueid, "1718035200.97", "uniqueid kept");
	is_str(got.timeline, c.timeline, "the timeline as written");
	store_call_clear(&got);
	is_int(store_call_get(s, "globex", c.id, &got), STORE_NOTFOUND,
	    "another tenant does not see it");
	c.status = S("ended");
	ok(store_call_put(s, &c) == STORE_ERR, "an unknown status is refused");
	c.status = S("completed");

	/* A batch of 500 calls in one transaction. */
	is_int(store_batch_begin(s), STORE_OK, "a batch begins");
	is_int(store_batch_begin(s), STORE_OK, "and nests");
	for (i = 0; i < 500; i++) {
		char id[40];

		snprintf(id, sizeof(id), "batch-%04d", i);
		c.id = id;
		if (store_call_put(s, &c) != STORE_OK)
			break;
	}
	is_int(i, 500, "500 calls written in the batch");
	is_int(store_batch_commit(s), STORE_OK, "inner commit");
	is_int(store_batch_commit(s), STORE_OK, "outer commit");
	store_close(s);

	s = open_store();
	sqlite3_open(path, &db);
	{
		sqlite3_stmt *st;

		sqlite3_prepare_v2(db, "SELECT count(*) FROM calls WHERE id"
		    " LIKE 'batch-%'", -1, &st, NULL);
		sqlite3_step(st);
		n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	is_int(n, 500, "after a reopen, the whole batch is there");

	/* The call log's filters: an index, newest first, no sort. */
	plan_of("SELECT id FROM calls WHERE tenant = 'acme' AND status ="
	    " 'completed' AND started_at >= '2026-11-01' AND started_at <"
	    " '2026-12-01' ORDER BY started_at DESC LIMIT 20", plan,
	    sizeof(plan));
	ok(strstr(plan, "USING INDEX calls_by_status") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "status + date range: index calls_by_status, no sort (%s)", plan);
	plan_of("SELECT id FROM calls WHERE tenant = 'acme' AND"
	    " phone_number_uuid = 'n1' ORDER BY started_at DESC LIMIT 20",
	    plan, sizeof(plan));
	ok(strstr(plan, "USING INDEX calls_by_number") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "by number: index calls_by_number, no sort (%s)", plan);
	plan_of("SELECT id FROM calls WHERE tenant = 'acme' ORDER BY"
	    " started_at DESC LIMIT 20", plan, sizeof(plan));
	ok(strstr(plan, "USING INDEX calls_by_started") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "all calls: index calls_by_started, no sort (%s)", plan);
	plan_of("SELECT count(*) FROM calls WHERE tenant = 'acme' AND"
	    " phone_number_uuid = 'n1' AND status = 'completed' AND started_at"
	    " >= '2026-11-01'", plan, sizeof(plan));
	ok(strstr(plan, "USING COVERING INDEX calls_by_number_status") != NULL,
	    "count by number + status: covering index (%s)", plan);
	plan_of("SELECT count(*) FROM calls WHERE tenant = 'acme' AND"
	    " status = 'completed' AND started_at >= '2026-11-01' AND"
	    " started_at < '2026-12-01'", plan, sizeof(plan));
	ok(strstr(plan, "USING COVERING INDEX calls_by_status") != NULL,
	    "count by status + range: covering index (%s)", plan);

	/* Call log queries through the store API. */
	{
		struct store_call_filter f;
		long total = -1;

		memset(&f, 0, sizeof(f));
		f.tenant = "acme";
		f.status = "completed";
		f.page = 2;
		f.per_page = 100;
		n = 0;
		is_int(store_call_query(s, &f, count_cb, &n, &total), STORE_OK,
		    "store_call_query runs");
		is_int(total, 501, "total counts every match");
		is_int(n, 100, "a page of per_page rows");
		f.tenant = "globex";
		n = 0;
		store_call_query(s, &f, count_cb, &n, &total);
		ok(total == 0 && n == 0, "another tenant's calls are not seen");
	}

	/*
	 * Across every tenant (an admin's call log): indexed, newest first,
	 * and a count that stops at the cap instead of holding the loop.
	 */
	plan_of("SELECT id FROM calls WHERE status = 'completed' AND started_at"
	    " >= '2026-11-01' ORDER BY started_at DESC LIMIT 20", plan,
	    sizeof(plan));
	ok(strstr(plan, "USING INDEX calls_all_by_status") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "every tenant, by status: index calls_all_by_status, no sort (%s)",
	    plan);
	plan_of("SELECT id FROM calls ORDER BY started_at DESC LIMIT 20", plan,
	    sizeof(plan));
	ok(strstr(plan, "calls_all_by_started") != NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL,
	    "every tenant: index calls_all_by_started, no sort (%s)", plan);
	{
		struct store_call_filter f;
		long total = -1;
		char id[40];

		store_batch_begin(s);
		for (i = 0; i < STORE_CALL_COUNT_CAP + 50; i++) {
			snprintf(id, sizeof(id), "cap-%05d", i);
			c.id = id;
			c.tenant = S(i % 2 ? "acme" : "globex");
			store_call_put(s, &c);
		}
		store_batch_commit(s);
		memset(&f, 0, sizeof(f));
		f.page = 1;
		f.per_page = 20;
		n = 0;
		store_call_query(s, &f, count_cb, &n, &total);
		is_int(total, STORE_CALL_COUNT_CAP + 1,
		    "every tenant: the count stops just past the cap");
		is_int(n, 20, "and the page is there");
		f.tenant = "globex";
		store_call_query(s, &f, count_cb, &n, &total);
		ok(total > STORE_CALL_COUNT_CAP / 2 && total < STORE_CALL_COUNT_CAP,
		    "one tenant: the exact count (%ld)", total);
		c.tenant = S("acme");
	}

	/* Numbers: by phone with or without '+', tenant voice permission. */
	{
		struct store_number num, got_n;

		memset(&num, 0, sizeof(num));
		num.uuid = S("11111111-2222-4333-8444-555555555555");
		num.tenant = S("acme");
		num.phone_number = S("+15551234567");
		num.call_handling_mode = S("ai_only");
		num.created_at = S("2026-11-21T10:00:00Z");
		is_int(store_number_insert(s, &num), STORE_OK, "a number is stored");
		is_int(store_number_insert(s, &num), STORE_CONFLICT,
		    "the same uuid again: conflict");
		num.uuid = S("other");
		is_int(store_number_insert(s, &num), STORE_CONFLICT,
		    "the same phone number again: conflict");
		memset(&got_n, 0, sizeof(got_n));
		is_int(store_number_by_phone(s, "15551234567", &got_n), STORE_OK,
		    "found by phone without '+'");
		is_str(got_n.tenant, "acme", "its tenant");
		store_number_clear(&got_n);
		is_int(store_number_by_phone(s, "+15551234567", &got_n), STORE_OK,
		    "and with '+'");
		store_number_clear(&got_n);
		is_int(store_number_by_phone(s, "+15550000000", &got_n),
		    STORE_NOTFOUND, "an unknown phone: not found");
		is_int(store_tenant_voice_enabled(s, "acme"), 0,
		    "voice is off by default");
		store_tenant_voice_set(s, "acme", 1);
		is_int(store_tenant_voice_enabled(s, "acme"), 1, "and can be set");
		plan_of("SELECT uuid FROM numbers WHERE tenant = 'acme' ORDER BY"
		    " created_at", plan, sizeof(plan));
		ok(strstr(plan, "numbers_by_tenant") != NULL &&
		    strstr(plan, "TEMP B-TREE") == NULL,
		    "numbers of a tenant: index numbers_by_tenant (%s)", plan);
	}
	store_close(s);

	/* A version-1 store (before call records) migrates. */
	sqlite3_exec(db, "DROP TABLE deployments; DROP TABLE calls;"
	    " DROP TABLE numbers; DROP TABLE tenants;"
	    " PRAGMA user_version = 1;", NULL, NULL, NULL);
	sqlite3_close(db);
	s = open_store();
	is_int(store_schema_version(s), 5, "a version-1 store migrates to 5");
	c.id = S("after-migration");
	is_int(store_call_put(s, &c), STORE_OK, "and takes call records");
	store_close(s);

	unlink(path);
	snprintf(plan, sizeof(plan), "%s-wal", path);
	unlink(plan);
	snprintf(plan, sizeof(plan), "%s-shm", path);
	unlink(plan);
	rmdir(dir);
	return done_testing();
}
