/*
 * confd's queues and agents reshaped as the seed's /wazo/queues and
 * /wazo/agents show them (shared/wazo-api.md section 3), field by field,
 * from the fixtures in t/fixtures/wazo (copies of shared/fixtures/wazo).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wazo/wazo.h"
#include "t/unit/tap.h"

#ifndef WAZO_FIXTURES
#define WAZO_FIXTURES "t/fixtures/wazo"
#endif

static json_t *
load_items(const char *name)
{
	const char *dir = getenv("IVRD_FIXTURES");
	json_error_t jerr;
	json_t *doc, *items;
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : WAZO_FIXTURES, name);
	if ((doc = json_load_file(path, 0, &jerr)) == NULL) {
		printf("Bail out! cannot load %s: %s\n", path, jerr.text);
		exit(1);
	}
	items = json_incref(json_object_get(doc, "items"));
	json_decref(doc);
	return items;
}

static void
is_json(json_t *got, json_t *want, const char *name)
{
	char *g = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS) :
	    NULL;
	char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_SORT_KEYS);

	ok(got != NULL && json_equal(got, want), "%s", name);
	if (got == NULL || !json_equal(got, want))
		diag("got %s, want %s", g ? g : "(missing)", w);
	free(g);
	free(w);
	json_decref(want);
}

static void
test_queues(void)
{
	json_t *items = load_items("queues-list.json");
	json_t *map = wazo_map_queues(items), *q;

	is_int((long)json_object_size(map), 2, "two queues");
	q = json_object_get(map, "sales_q");
	ok(q != NULL, "keyed by name: sales_q");
	is_int((long)json_object_size(q), 9, "sales_q: nine fields");
	is_json(json_object_get(q, "id"), json_integer(1), "sales_q id");
	is_json(json_object_get(q, "name"), json_string("sales_q"),
	    "sales_q name");
	is_json(json_object_get(q, "context"), json_string(
	    "ctx-acme-internal-0f2c9d1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f"),
	    "sales_q context from extensions[0]");
	is_json(json_object_get(q, "number"), json_string("1001"),
	    "sales_q number from extensions[0].exten");
	is_json(json_object_get(q, "strategy"), json_string("leastrecent"),
	    "sales_q strategy from options");
	is_json(json_object_get(q, "timeout"), json_integer(20),
	    "sales_q timeout is the top-level one, not the option");
	is_json(json_object_get(q, "retry"), json_integer(2),
	    "sales_q retry from options, as a number");
	is_json(json_object_get(q, "music_on_hold"), json_string("default"),
	    "sales_q music_on_hold");
	is_json(json_object_get(q, "service_level"), json_integer(20),
	    "sales_q service_level from options servicelevel");

	q = json_object_get(map, "support_q");
	ok(q != NULL, "keyed by name: support_q");
	is_json(json_object_get(q, "id"), json_integer(2), "support_q id");
	is_json(json_object_get(q, "context"), json_null(),
	    "support_q has no extension: context null");
	is_json(json_object_get(q, "number"), json_null(),
	    "support_q has no extension: number null");
	is_json(json_object_get(q, "strategy"), json_string("rrmemory"),
	    "support_q strategy");
	is_json(json_object_get(q, "timeout"), json_null(),
	    "support_q timeout null");
	is_json(json_object_get(q, "retry"), json_integer(5),
	    "support_q retry");
	is_json(json_object_get(q, "music_on_hold"), json_null(),
	    "support_q music_on_hold null");
	is_json(json_object_get(q, "service_level"), json_integer(0),
	    "support_q service_level");
	json_decref(map);

	/* Defaults when options say nothing. */
	json_array_clear(items);
	json_array_append_new(items, json_pack("{s:i, s:s, s:[], s:[]}",
	    "id", 7, "name", "bare_q", "options", "extensions"));
	map = wazo_map_queues(items);
	q = json_object_get(map, "bare_q");
	is_json(json_object_get(q, "strategy"), json_string("ringall"),
	    "strategy defaults to ringall");
	is_json(json_object_get(q, "retry"), json_integer(5),
	    "retry defaults to 5");
	is_json(json_object_get(q, "service_level"), json_integer(0),
	    "service_level defaults to 0");
	json_decref(map);
	json_decref(items);
}

static void
test_agents(void)
{
	json_t *items = load_items("agents-list.json");
	json_t *map = wazo_map_agents(items), *a;

	is_int((long)json_object_size(map), 2, "two agents");
	a = json_object_get(map, "8001");
	ok(a != NULL, "keyed by number: 8001");
	is_int((long)json_object_size(a), 8, "8001: eight fields");
	is_json(json_object_get(a, "id"), json_integer(1), "8001 id");
	is_json(json_object_get(a, "number"), json_string("8001"),
	    "8001 number");
	is_json(json_object_get(a, "firstname"), json_string("John"),
	    "8001 firstname");
	is_json(json_object_get(a, "lastname"), json_string("Doe"),
	    "8001 lastname");
	is_json(json_object_get(a, "context"), json_string("default"),
	    "8001 context: default (confd has none)");
	is_json(json_object_get(a, "language"), json_string("en_US"),
	    "8001 language");
	is_json(json_object_get(a, "timezone"), json_string("UTC"),
	    "8001 timezone: UTC (confd has none)");
	is_json(json_object_get(a, "enabled"), json_true(),
	    "8001 enabled: true (confd has none)");
	ok(json_object_get(a, "password") == NULL, "no password leaks");

	a = json_object_get(map, "8002");
	ok(a != NULL, "keyed by number: 8002");
	is_json(json_object_get(a, "id"), json_integer(2), "8002 id");
	is_json(json_object_get(a, "firstname"), json_string("Jane"),
	    "8002 firstname");
	is_json(json_object_get(a, "lastname"), json_string("Smith"),
	    "8002 lastname");
	is_json(json_object_get(a, "language"), json_string("fr_FR"),
	    "8002 language");
	ok(json_object_get(a, "password") == NULL, "8002: no password");
	json_decref(map);
	json_decref(items);
}

int
main(void)
{
	test_queues();
	test_agents();
	return done_testing();
}
