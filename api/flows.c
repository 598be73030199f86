#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "api/api.h"
#include "api/api_int.h"
#include "flow/flow.h"
#include "log.h"
#include "util.h"

/*
 * Validates body as a flow and builds the stored form: the normalised
 * document plus status and timestamps, as GET returns it. On failure
 * returns -1 with *errors (new array of "path: message").
 */
static int
build_stored(json_t *body, const char *status, const char *created_at,
    const char *updated_at, struct store_flow *out, json_t **errors)
{
	struct flow *flow;
	json_t *doc;

	if ((flow = flow_parse(body, errors)) == NULL)
		return -1;
	doc = flow_to_json(flow);
	json_object_set_new(doc, "status", json_string(status));
	json_object_set_new(doc, "created_at", json_string(created_at));
	json_object_set_new(doc, "updated_at", json_string(updated_at));
	memset(out, 0, sizeof(*out));
	out->tenant = xstrdup(flow_tenant(flow));
	out->id = xstrdup(flow_id(flow));
	out->status = xstrdup(status);
	out->created_at = xstrdup(created_at);
	out->updated_at = xstrdup(updated_at);
	if ((out->doc = json_dumps(doc, 0)) == NULL)
		fatalx("json_dumps failed");
	json_decref(doc);
	flow_free(flow);
	return 0;
}

static void
reply_invalid(struct api_req *r, json_t *errors)
{
	json_t *first = json_array_get(errors, 0);

	api_reply(r, 400, json_pack("{s:O, s:o}", "error", first, "errors",
	    errors));
}

/*
 * Finds the flow named in the URL within the request's tenant scope.
 * 0 with *out filled, or -1 after replying 404 / 409 / 500.
 */
int
api_find_flow(struct api_req *r, struct store_flow *out)
{
	const char *id = r->seg[1];

	if (!safe_id(id, FLOW_ID_MAX)) {
		api_error(r, 404, "flow '%s' not found", id);
		return -1;
	}
	switch (store_flow_get(r->store, api_scope_tenant(r), id, out)) {
	case STORE_OK:
		return 0;
	case STORE_NOTFOUND:
		api_error(r, 404, "flow '%s' not found", id);
		return -1;
	case STORE_AMBIGUOUS:
		api_error(r, 409, "flow '%s' exists in several tenants; name "
		    "one with ?tenant=", id);
		return -1;
	default:
		api_error(r, 500, "store error while reading flow '%s'", id);
		return -1;
	}
}

static int
add_summary(const struct store_flow *sf, void *arg)
{
	json_t *list = arg, *doc, *item;
	static const char *const keys[] = { "id", "tenant", "entry_context",
	    "tts_backend", "languages", "created_at", "updated_at", "status" };

	if ((doc = json_loads(sf->doc, 0, NULL)) == NULL) {
		log_warnx("api: flow %s/%s has an unreadable document",
		    sf->tenant, sf->id);
		return 0;
	}
	item = json_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(doc, keys[i]);

		if (v != NULL)
			json_object_set(item, keys[i], v);
	}
	json_array_append_new(list, item);
	json_decref(doc);
	return 0;
}

void
api_flows_list(struct api_req *r)
{
	json_t *list = json_array();

	if (store_flow_each(r->store, api_scope_tenant(r), add_summary,
	    list) != STORE_OK) {
		json_decref(list);
		api_error(r, 500, "store error while listing flows");
		return;
	}
	api_reply(r, 200, json_pack("{s:o, s:I}", "flows", list, "count",
	    (json_int_t)json_array_size(list)));
}

/*
 * The stored document with the pre-render counts spliced in before its
 * closing brace: no parse and dump on the hot path.
 */
void
api_flow_get(struct api_req *r)
{
	struct store_flow sf;
	long total = 0, ready = 0, failed = 0;
	char *text;
	int len;

	if (api_find_flow(r, &sf) == -1)
		return;
	prompts_counts(r->prompts, sf.tenant, sf.id, &total, &ready, &failed);
	len = xasprintf(&text, "%.*s, \"prompts_total\": %ld, "
	    "\"prompts_ready\": %ld, \"prompts_failed\": %ld}",
	    (int)strlen(sf.doc) - 1, sf.doc, total, ready, failed);
	api_reply_text(r, 200, text, (size_t)len);
	free(text);
	store_flow_clear(&sf);
}

/* Queues the flow's prompts; its counts start again from zero. */
static void
prerender(struct api_req *r, const struct store_flow *sf)
{
	json_t *doc = json_loads(sf->doc, 0, NULL);

	if (doc != NULL)
		prompts_prerender(r->prompts, sf->tenant, sf->id, doc);
	json_decref(doc);
}

static void
add_counts(struct api_req *r, const struct store_flow *sf, json_t *flow)
{
	long total = 0, ready = 0, failed = 0;

	prompts_counts(r->prompts, sf->tenant, sf->id, &total, &ready, &failed);
	json_object_set_new(flow, "prompts_total", json_integer(total));
	json_object_set_new(flow, "prompts_ready", json_integer(ready));
}

/*
 * The tenant a new flow goes to: an ordinary token writes its own tenant
 * only; an admin token writes the body's tenant, else "default".
 * NULL after replying 403.
 */
static const char *
create_tenant(struct api_req *r, json_t *body)
{
	json_t *t = json_object_get(body, "tenant");

	if (r->who.admin)
		return json_is_string(t) ? json_string_value(t) : "default";
	if (json_is_string(t) && strcmp(json_string_value(t),
	    r->who.tenant) != 0) {
		api_error(r, 403, "tenant: this token belongs to tenant '%s' "
		    "and cannot write tenant '%s'", r->who.tenant,
		    json_string_value(t));
		return NULL;
	}
	return r->who.tenant;
}

static int
store_new(struct store *store, json_t *body, const char *tenant,
    struct store_flow *sf, json_t **errors, enum store_res *res)
{
	char now[ISO8601_LEN];

	if (json_object_get(body, "tenant") == NULL)
		json_object_set_new(body, "tenant", json_string(tenant));
	iso8601_utc(time(NULL), now);
	if (build_stored(body, "inactive", now, now, sf, errors) == -1)
		return -1;
	*res = store_flow_insert(store, sf);
	return 0;
}

void
api_flows_create(struct api_req *r)
{
	struct store_flow sf;
	json_t *body, *errors = NULL;
	const char *tenant;
	enum store_res res;
	char *location;

	if ((body = api_body_object(r)) == NULL)
		return;
	if ((tenant = create_tenant(r, body)) == NULL)
		goto out;
	if (store_new(r->store, body, tenant, &sf, &errors, &res) == -1) {
		reply_invalid(r, errors);
		goto out;
	}
	if (res == STORE_CONFLICT)
		api_error(r, 409, "flow '%s' already exists in tenant '%s'",
		    sf.id, sf.tenant);
	else if (res != STORE_OK)
		api_error(r, 500, "store error while saving flow '%s'", sf.id);
	else {
		json_t *doc = json_loads(sf.doc, 0, NULL), *flow;

		xasprintf(&location, API_PREFIX "/flows/%s", sf.id);
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Location", location);
		free(location);
		log_info("api: flow %s/%s created", sf.tenant, sf.id);
		prerender(r, &sf);
		flow = json_pack("{s:s, s:s, s:O, s:s}", "id", sf.id, "tenant",
		    sf.tenant, "entry_context", json_object_get(doc,
		    "entry_context"), "created_at", sf.created_at);
		add_counts(r, &sf, flow);
		api_reply(r, 201, json_pack("{s:s, s:o}", "message",
		    "Flow created successfully", "flow", flow));
		json_decref(doc);
	}
	store_flow_clear(&sf);
out:
	json_decref(body);
}

void
api_flow_put(struct api_req *r)
{
	struct store_flow old, sf;
	json_t *body, *errors = NULL, *v;
	char now[ISO8601_LEN];
	enum store_res res;

	if (api_find_flow(r, &old) == -1)
		return;
	if ((body = api_body_object(r)) == NULL)
		goto out_old;
	v = json_object_get(body, "id");
	if (v == NULL)
		json_object_set_new(body, "id", json_string(old.id));
	else if (json_is_string(v) && strcmp(json_string_value(v), old.id)) {
		api_error(r, 400, "id: '%s' does not match the flow in the URL "
		    "('%s'); a flow cannot be renamed", json_string_value(v),
		    old.id);
		goto out;
	}
	v = json_object_get(body, "tenant");
	if (v == NULL)
		json_object_set_new(body, "tenant", json_string(old.tenant));
	else if (json_is_string(v) && strcmp(json_string_value(v),
	    old.tenant)) {
		api_error(r, 400, "tenant: flow '%s' belongs to tenant '%s' and "
		    "cannot move to '%s'", old.id, old.tenant,
		    json_string_value(v));
		goto out;
	}
	iso8601_utc(time(NULL), now);
	if (build_stored(body, old.status, old.created_at, now, &sf,
	    &errors) == -1) {
		reply_invalid(r, errors);
		goto out;
	}
	res = store_flow_update(r->store, &sf);
	if (res == STORE_OK) {
		json_t *flow;

		log_info("api: flow %s/%s updated", sf.tenant, sf.id);
		prerender(r, &sf);
		flow = json_pack("{s:s, s:s}", "id", sf.id, "updated_at",
		    sf.updated_at);
		add_counts(r, &sf, flow);
		api_reply(r, 200, json_pack("{s:s, s:o}", "message",
		    "Flow updated successfully", "flow", flow));
	} else if (res == STORE_NOTFOUND)
		api_error(r, 404, "flow '%s' not found", sf.id);
	else
		api_error(r, 500, "store error while saving flow '%s'", sf.id);
	store_flow_clear(&sf);
out:
	json_decref(body);
out_old:
	store_flow_clear(&old);
}

void
api_flow_delete(struct api_req *r)
{
	struct store_flow sf;
	enum store_res res;

	if (api_find_flow(r, &sf) == -1)
		return;
	/* A deployed flow: what deploy made in Wazo goes first. */
	if (api_flow_delete_deployed(r, &sf)) {
		store_flow_clear(&sf);
		return;
	}
	res = store_flow_delete(r->store, sf.tenant, sf.id);
	if (res == STORE_OK) {
		log_info("api: flow %s/%s deleted", sf.tenant, sf.id);
		prompts_forget(r->prompts, sf.tenant, sf.id);
		api_reply(r, 200, json_pack("{s:s}", "message",
		    "Flow deleted successfully"));
	} else if (res == STORE_NOTFOUND)
		api_error(r, 404, "flow '%s' not found", sf.id);
	else
		api_error(r, 500, "store error while deleting flow '%s'", sf.id);
	store_flow_clear(&sf);
}

int
api_flow_import(struct store *store, json_t *doc, const char *tenant,
    char **err)
{
	struct store_flow sf;
	json_t *errors = NULL, *e;
	enum store_res res;
	size_t i;

	*err = NULL;
	if (store_new(store, doc, tenant, &sf, &errors, &res) == -1) {
		json_array_foreach(errors, i, e)
			xasprintf(err, "%s%s%s", *err ? *err : "", *err ? "\n" :
			    "", json_string_value(e));
		json_decref(errors);
		return -1;
	}
	if (res == STORE_CONFLICT)
		xasprintf(err, "flow '%s' already exists in tenant '%s'",
		    sf.id, sf.tenant);
	else if (res != STORE_OK)
		xasprintf(err, "store error while saving flow '%s'", sf.id);
	store_flow_clear(&sf);
	return *err ? -1 : 0;
}

int
api_flow_save(struct api_req *r, json_t *doc, const char *tenant,
    json_t **errors, enum store_res *res)
{
	struct store_flow old, sf;
	const char *id = json_string_value(json_object_get(doc, "id"));
	char now[ISO8601_LEN];

	json_object_set_new(doc, "tenant", json_string(tenant));
	memset(&old, 0, sizeof(old));
	if (id == NULL || store_flow_get(r->store, tenant, id, &old) !=
	    STORE_OK) {
		if (store_new(r->store, doc, tenant, &sf, errors, res) == -1)
			return -1;
	} else {
		iso8601_utc(time(NULL), now);
		if (build_stored(doc, old.status, old.created_at, now, &sf,
		    errors) == -1) {
			store_flow_clear(&old);
			return -1;
		}
		*res = store_flow_update(r->store, &sf);
	}
	if (*res == STORE_OK) {
		log_info("api: flow %s/%s saved", sf.tenant, sf.id);
		prerender(r, &sf);
	}
	store_flow_clear(&sf);
	store_flow_clear(&old);
	return 0;
}
