#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api/api_int.h"
#include "log.h"
#include "util.h"
#include "wazo/wazo.h"

/*
 * POST /api/ivr/flows/{id}/deploy and /undeploy: make calls reach a flow
 * through Wazo's own APIs (shared/wazo-api.md section 5: an incall whose
 * destination is custom AGI(agi://IVRD/FLOW), bound to each DID), and
 * take away exactly what was made. Every step is saved in the flow's
 * deploy state as it succeeds, so a deploy that fails halfway says what
 * it did and did not, and a retry completes it.
 *
 * The state (store_deploy_*): {"wazo": URL, "deployed_at": ..., "routes":
 * {queue: {context, number}}, "incall_context": name, "dids": {DID:
 * {"incall_id", "extension_id", "created_incall", "created_extension",
 * "previous_destination"}}, "dialplan_file": path}.
 */
enum phase {
	P_QUEUES, P_PROMPTS, P_CONTEXT, P_DID_FIND, P_DID_EXTENSION,
	P_DID_INCALL, P_DID_BIND, P_DID_UPDATE, P_DIALPLAN, P_RELOAD, P_DONE,
	/* undeploy */
	U_DID_UNBIND, U_DID_EXTENSION, U_DID_INCALL, U_DIALPLAN, U_RELOAD,
	U_DONE
};

struct deploy {
	struct api_req		*r;
	struct api		*api;
	struct store		*store;
	struct wazo		*wazo;
	struct wazo_target	 to;
	char			*host, *token;
	char			*tenant, *flow_id;
	json_t			*doc;		/* the stored flow */
	json_t			*state;
	json_t			*dids;		/* DIDs to bind, in order */
	size_t			 di;
	enum phase		 phase;
	json_t			*done;		/* what this run did */
	int			 delete_after;	/* DELETE /flows/{id} */
	struct event		*wait;		/* prompts still rendering */
	int			 waited;
};

static void	advance(struct deploy *);
static void	on_result(const struct wazo_result *, void *);

static void
deploy_free(struct deploy *d)
{
	if (d->wait != NULL)
		event_free(d->wait);
	json_decref(d->doc);
	json_decref(d->state);
	json_decref(d->dids);
	json_decref(d->done);
	free(d->host);
	free(d->token);
	free(d->tenant);
	free(d->flow_id);
	api_deferred_free(d->r);
	free(d);
}

static void
save(struct deploy *d)
{
	if (store_deploy_put(d->store, d->tenant, d->flow_id, d->state) !=
	    STORE_OK)
		log_warnx("api: flow %s/%s: deploy state not saved", d->tenant,
		    d->flow_id);
}

static void
did_(struct deploy *d, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	json_array_append_new(d->done, json_string(s));
	free(s);
}

/* Ends the run with an error: what was done, and what was not. */
static void
fail(struct deploy *d, int status, const char *error)
{
	const char *left[] = {
		[P_QUEUES] = "check the queues", [P_PROMPTS] = "render the prompts",
		[P_CONTEXT] = "find Wazo's incall context",
		[P_DID_FIND] = "bind the DIDs", [P_DID_EXTENSION] = "bind the DIDs",
		[P_DID_INCALL] = "bind the DIDs", [P_DID_BIND] = "bind the DIDs",
		[P_DID_UPDATE] = "bind the DIDs",
		[P_DIALPLAN] = "write the dialplan", [P_RELOAD] = "reload the dialplan",
		[P_DONE] = "", [U_DID_UNBIND] = "remove the incalls",
		[U_DID_EXTENSION] = "remove the incalls",
		[U_DID_INCALL] = "remove the incalls",
		[U_DIALPLAN] = "remove the dialplan", [U_RELOAD] = "reload the dialplan",
		[U_DONE] = "",
	};

	save(d);
	log_warnx("api: flow %s/%s: %s failed: %s", d->tenant, d->flow_id,
	    d->phase >= U_DID_UNBIND ? "undeploy" : "deploy", error);
	api_reply(d->r, status, json_pack("{s:s, s:O, s:[s], s:s}", "error",
	    error, "done", d->done, "not_done", left[d->phase], "hint",
	    "the same request again completes it"));
	deploy_free(d);
}

static const char *
did_at(struct deploy *d)
{
	return json_string_value(json_array_get(d->dids, d->di));
}

static json_t *
did_state(struct deploy *d)
{
	json_t *all = json_object_get(d->state, "dids"), *one;

	if (all == NULL) {
		all = json_object();
		json_object_set_new(d->state, "dids", all);
	}
	if ((one = json_object_get(all, did_at(d))) == NULL) {
		one = json_object();
		json_object_set_new(all, did_at(d), one);
	}
	return one;
}

/* AGI(agi://ADDR/FLOW[?tenant=T]): what Wazo runs for the incall. */
static json_t *
destination(struct deploy *d)
{
	char *cmd;
	json_t *dest;

	if (strcmp(d->tenant, "default") == 0)
		xasprintf(&cmd, "AGI(agi://%s/%s)", api_wazo_agi_address(d->api),
		    d->flow_id);
	else
		xasprintf(&cmd, "AGI(agi://%s/%s?tenant=%s)",
		    api_wazo_agi_address(d->api), d->flow_id, d->tenant);
	dest = json_pack("{s:s, s:s}", "type", "custom", "command", cmd);
	free(cmd);
	return dest;
}

static char *
description(struct deploy *d)
{
	char *s;

	xasprintf(&s, "ivrd flow %s/%s DID %s", d->tenant, d->flow_id,
	    did_at(d));
	return s;
}

static void
request(struct deploy *d, const char *method, enum wazo_service svc,
    const char *path, const char *query, json_t *body)
{
	wazo_request(d->wazo, &d->to, method, svc, path, query, body,
	    on_result, d);
	json_decref(body);
}

/* Every queue_ref of the flow, options and fallbacks alike. */
static void
collect_queues(json_t *doc, json_t *names)
{
	json_t *menu, *opt, *fb;
	const char *k, *kk;

	json_object_foreach(json_object_get(doc, "menus"), k, menu) {
		json_object_foreach(json_object_get(menu, "options"), kk, opt)
			if (json_is_string(json_object_get(opt, "queue_ref")))
				json_object_set(names, json_string_value(
				    json_object_get(opt, "queue_ref")), json_true());
		fb = json_object_get(menu, "fallback_action");
		if (json_is_string(json_object_get(fb, "queue_ref")))
			json_object_set(names, json_string_value(
			    json_object_get(fb, "queue_ref")), json_true());
		if (json_is_string(json_object_get(menu, "fallback_queue_ref")))
			json_object_set(names, json_string_value(
			    json_object_get(menu, "fallback_queue_ref")),
			    json_true());
	}
}

static int
write_dialplan(struct deploy *d, char **err)
{
	const char *dir = api_wazo_dialplan_dir(d->api);
	const char *ctx = json_string_value(json_object_get(d->doc,
	    "entry_context"));
	char *path, *text;
	int rc;

	xasprintf(&path, "%s/ivrd-%s-%s.conf", dir, d->tenant, d->flow_id);
	xasprintf(&text, "; written by ivrd's deploy of flow %s/%s: do not "
	    "edit,\n; undeploy removes it.\n[%s]\nexten => s,1,NoOp(ivrd flow "
	    "%s)\n same => n,AGI(agi://%s/%s%s%s)\n same => n,Hangup()\n",
	    d->tenant, d->flow_id, ctx, d->flow_id,
	    api_wazo_agi_address(d->api), d->flow_id,
	    strcmp(d->tenant, "default") ? "?tenant=" : "",
	    strcmp(d->tenant, "default") ? d->tenant : "");
	rc = write_file_atomic(path, text, strlen(text));
	if (rc == -1)
		xasprintf(err, "cannot write %s: %s", path, strerror(errno));
	else
		json_object_set_new(d->state, "dialplan_file", json_string(path));
	free(text);
	free(path);
	return rc;
}

static void
prompts_poll(evutil_socket_t fd, short what, void *arg)
{
	advance(arg);
}

/* The next step of the run. */
static void
advance(struct deploy *d)
{
	char path[128], query[128], *desc, *err = NULL;
	json_t *ds;
	long total = 0, ready = 0, failed = 0;

	switch (d->phase) {
	case P_QUEUES:
		wazo_list(d->wazo, &d->to, "/queues", NULL, on_result, d);
		return;
	case P_PROMPTS:
		prompts_counts(d->r->prompts, d->tenant, d->flow_id, &total,
		    &ready, &failed);
		if (ready + failed < total && d->waited++ < 600) {
			struct timeval tv = { 0, 50000 };

			if (d->wait == NULL)
				d->wait = evtimer_new(api_base(d->api),
				    prompts_poll, d);
			evtimer_add(d->wait, &tv);
			return;
		}
		if (ready < total) {
			fail(d, 409, "not every prompt is rendered; see "
			    "prompts_failed on the flow");
			return;
		}
		did_(d, "%ld prompts rendered", ready);
		d->phase = json_array_size(d->dids) ? P_CONTEXT : P_DIALPLAN;
		advance(d);
		return;
	case P_CONTEXT:
		if (json_is_string(json_object_get(d->state, "incall_context"))) {
			d->phase = P_DID_FIND;
			advance(d);
			return;
		}
		request(d, "GET", WAZO_CONFD, "/contexts", "type=incall", NULL);
		return;
	case P_DID_FIND:
		if (d->di >= json_array_size(d->dids)) {
			d->phase = P_DIALPLAN;
			advance(d);
			return;
		}
		ds = did_state(d);
		if (json_is_integer(json_object_get(ds, "incall_id"))) {
			d->phase = json_is_integer(json_object_get(ds,
			    "extension_id")) && json_is_true(json_object_get(ds,
			    "bound")) ? P_DID_UPDATE : P_DID_BIND;
			advance(d);
			return;
		}
		snprintf(query, sizeof(query), "exten=%s&type=incall",
		    did_at(d));
		request(d, "GET", WAZO_CONFD, "/extensions", query, NULL);
		return;
	case P_DID_EXTENSION:
		request(d, "POST", WAZO_CONFD, "/extensions", NULL,
		    json_pack("{s:s, s:O}", "exten", did_at(d), "context",
		    json_object_get(d->state, "incall_context")));
		return;
	case P_DID_INCALL:
		desc = description(d);
		request(d, "POST", WAZO_CONFD, "/incalls", NULL,
		    json_pack("{s:s, s:o}", "description", desc, "destination",
		    destination(d)));
		free(desc);
		return;
	case P_DID_BIND:
		ds = did_state(d);
		snprintf(path, sizeof(path), "/incalls/%lld/extensions/%lld",
		    (long long)json_integer_value(json_object_get(ds,
		    "incall_id")), (long long)json_integer_value(
		    json_object_get(ds, "extension_id")));
		request(d, "PUT", WAZO_CONFD, path, NULL, NULL);
		return;
	case P_DID_UPDATE:
		ds = did_state(d);
		desc = description(d);
		snprintf(path, sizeof(path), "/incalls/%lld",
		    (long long)json_integer_value(json_object_get(ds,
		    "incall_id")));
		request(d, "PUT", WAZO_CONFD, path, NULL, json_pack("{s:s, s:o}",
		    "description", desc, "destination", destination(d)));
		free(desc);
		return;
	case P_DIALPLAN:
		if (!api_wazo_on_host(d->api)) {
			d->phase = P_DONE;
			advance(d);
			return;
		}
		if (write_dialplan(d, &err) == -1) {
			fail(d, 500, err);
			free(err);
			return;
		}
		did_(d, "wrote %s", json_string_value(json_object_get(d->state,
		    "dialplan_file")));
		save(d);
		d->phase = P_RELOAD;
		/* FALLTHROUGH */
	case P_RELOAD:
	case U_RELOAD:
		request(d, "POST", WAZO_AMID, "/action/Command", NULL,
		    json_pack("{s:s}", "command", "dialplan reload"));
		return;
	case P_DONE: {
		char now[ISO8601_LEN];

		iso8601_utc(time(NULL), now);
		json_object_set_new(d->state, "deployed_at", json_string(now));
		save(d);
		store_flow_set_status(d->store, d->tenant, d->flow_id, "active");
		log_info("api: flow %s/%s deployed (%zu DIDs)", d->tenant,
		    d->flow_id, json_array_size(d->dids));
		api_reply(d->r, 200, json_pack("{s:s, s:O, s:O}", "message",
		    "Flow deployed successfully", "deployment", d->state,
		    "done", d->done));
		deploy_free(d);
		return;
	}
	case U_DID_UNBIND:
	case U_DID_EXTENSION:
	case U_DID_INCALL: {
		json_t *all = json_object_get(d->state, "dids");
		const char *did = json_string_value(json_array_get(d->dids,
		    d->di));

		if (did == NULL) {
			d->phase = U_DIALPLAN;
			advance(d);
			return;
		}
		ds = json_object_get(all, did);
		if (d->phase == U_DID_UNBIND) {
			if (!json_is_true(json_object_get(ds, "created_extension")) ||
			    !json_is_integer(json_object_get(ds, "extension_id"))) {
				d->phase = U_DID_INCALL;
				advance(d);
				return;
			}
			snprintf(path, sizeof(path),
			    "/incalls/%lld/extensions/%lld",
			    (long long)json_integer_value(json_object_get(ds,
			    "incall_id")), (long long)json_integer_value(
			    json_object_get(ds, "extension_id")));
			request(d, "DELETE", WAZO_CONFD, path, NULL, NULL);
		} else if (d->phase == U_DID_EXTENSION) {
			snprintf(path, sizeof(path), "/extensions/%lld",
			    (long long)json_integer_value(json_object_get(ds,
			    "extension_id")));
			request(d, "DELETE", WAZO_CONFD, path, NULL, NULL);
		} else {
			snprintf(path, sizeof(path), "/incalls/%lld",
			    (long long)json_integer_value(json_object_get(ds,
			    "incall_id")));
			if (json_is_true(json_object_get(ds, "created_incall")))
				request(d, "DELETE", WAZO_CONFD, path, NULL,
				    NULL);
			else	/* adopted: give it back its destination */
				request(d, "PUT", WAZO_CONFD, path, NULL,
				    json_pack("{s:O}", "destination",
				    json_object_get(ds, "previous_destination")));
		}
		return;
	}
	case U_DIALPLAN: {
		const char *file = json_string_value(json_object_get(d->state,
		    "dialplan_file"));

		if (file == NULL) {
			d->phase = U_DONE;
			advance(d);
			return;
		}
		if (unlink(file) == -1 && errno != ENOENT) {
			xasprintf(&err, "cannot remove %s: %s", file,
			    strerror(errno));
			fail(d, 500, err);
			free(err);
			return;
		}
		did_(d, "removed %s", file);
		json_object_del(d->state, "dialplan_file");
		save(d);
		d->phase = U_RELOAD;
		advance(d);
		return;
	}
	case U_DONE:
		store_deploy_put(d->store, d->tenant, d->flow_id, NULL);
		store_flow_set_status(d->store, d->tenant, d->flow_id,
		    "inactive");
		log_info("api: flow %s/%s undeployed", d->tenant, d->flow_id);
		if (d->delete_after) {
			store_flow_delete(d->store, d->tenant, d->flow_id);
			prompts_forget(d->r->prompts, d->tenant, d->flow_id);
			api_reply(d->r, 200, json_pack("{s:s, s:O}", "message",
			    "Flow deleted successfully", "undeployed", d->done));
		} else
			api_reply(d->r, 200, json_pack("{s:s, s:O}", "message",
			    "Flow undeployed successfully", "done", d->done));
		deploy_free(d);
		return;
	}
}

/* A Wazo answer for the current step. */
static void
on_result(const struct wazo_result *res, void *arg)
{
	struct deploy *d = arg;
	json_t *ds, *item, *names, *queues, *missing;
	const char *name;
	size_t i;

	/* Removing what is already gone is fine. */
	if (!res->ok && res->http_status == 404 && d->phase >= U_DID_UNBIND &&
	    d->phase <= U_DID_INCALL) {
		d->phase = d->phase == U_DID_UNBIND ? U_DID_EXTENSION :
		    d->phase == U_DID_EXTENSION ? U_DID_INCALL : d->phase;
		goto next_undo;
	}
	if (!res->ok && !(d->phase == P_DID_UPDATE && res->http_status == 404)) {
		fail(d, res->api_status ? res->api_status : 502, res->error);
		return;
	}
	switch (d->phase) {
	case P_QUEUES:
		queues = wazo_map_queues(res->body);
		names = json_object();
		collect_queues(d->doc, names);
		missing = json_array();
		json_object_foreach(names, name, item)
			if (json_object_get(queues, name) == NULL)
				json_array_append_new(missing, json_string(name));
		if (json_array_size(missing) > 0) {
			char *list = NULL;

			json_array_foreach(missing, i, item)
				xasprintf(&list, "%s%s%s", list ? list : "",
				    list ? ", " : "", json_string_value(item));
			api_reply(d->r, 400, json_pack("{s:s+, s:o}", "error",
			    "queues missing in Wazo: ", list, "missing", missing));
			free(list);
			json_decref(names);
			json_decref(queues);
			deploy_free(d);
			return;
		}
		json_decref(missing);
		ds = json_object();
		json_object_foreach(names, name, item)
			/* A queue without an extension has no route: Queue(). */
			json_object_set_new(ds, name, json_pack("{s:O?, s:O?}",
			    "context", json_object_get(json_object_get(queues,
			    name), "context"), "number", json_object_get(
			    json_object_get(queues, name), "number")));
		json_object_set_new(d->state, "routes", ds);
		did_(d, "%zu queues found in Wazo", json_object_size(names));
		json_decref(names);
		json_decref(queues);
		d->phase = P_PROMPTS;
		break;
	case P_CONTEXT:
		item = json_array_get(json_object_get(res->body, "items"), 0);
		if (!json_is_string(json_object_get(item, "name"))) {
			fail(d, 502, "Wazo has no incall context for this "
			    "tenant (GET /contexts?type=incall)");
			return;
		}
		json_object_set(d->state, "incall_context",
		    json_object_get(item, "name"));
		d->phase = P_DID_FIND;
		break;
	case P_DID_FIND:
		ds = did_state(d);
		item = json_array_get(json_object_get(res->body, "items"), 0);
		if (json_is_integer(json_object_get(json_object_get(item,
		    "incall"), "id"))) {
			/* Already an incall on this DID: take it over. */
			json_object_set(ds, "incall_id", json_object_get(
			    json_object_get(item, "incall"), "id"));
			json_object_set(ds, "extension_id",
			    json_object_get(item, "id"));
			json_object_set_new(ds, "bound", json_true());
			json_object_set_new(ds, "created_incall", json_false());
			json_object_set_new(ds, "created_extension", json_false());
			d->phase = P_DID_UPDATE;
			/* Its old destination, to give back on undeploy. */
			{
				char path[64];

				snprintf(path, sizeof(path), "/incalls/%lld",
				    (long long)json_integer_value(json_object_get(
				    ds, "incall_id")));
				d->phase = P_DID_UPDATE;
				json_object_set_new(ds, "adopting", json_true());
				request(d, "GET", WAZO_CONFD, path, NULL, NULL);
				return;
			}
		}
		if (json_is_integer(json_object_get(item, "id"))) {
			/* The DID exists with no incall: bind ours to it. */
			json_object_set(ds, "extension_id",
			    json_object_get(item, "id"));
			/* An earlier run of ours may have made it. */
			if (json_object_get(ds, "created_extension") == NULL)
				json_object_set_new(ds, "created_extension",
				    json_false());
			d->phase = P_DID_INCALL;
		} else
			d->phase = P_DID_EXTENSION;
		break;
	case P_DID_EXTENSION:
		ds = did_state(d);
		json_object_set(ds, "extension_id", json_object_get(res->body,
		    "id"));
		json_object_set_new(ds, "created_extension", json_true());
		did_(d, "created extension %s", did_at(d));
		save(d);
		d->phase = P_DID_INCALL;
		break;
	case P_DID_INCALL:
		ds = did_state(d);
		json_object_set(ds, "incall_id", json_object_get(res->body, "id"));
		json_object_set_new(ds, "created_incall", json_true());
		did_(d, "created incall %lld for %s",
		    (long long)json_integer_value(json_object_get(res->body,
		    "id")), did_at(d));
		save(d);
		d->phase = P_DID_BIND;
		break;
	case P_DID_BIND:
		ds = did_state(d);
		json_object_set_new(ds, "bound", json_true());
		did_(d, "bound %s to its incall", did_at(d));
		save(d);
		d->di++;
		d->phase = P_DID_FIND;
		break;
	case P_DID_UPDATE:
		ds = did_state(d);
		if (json_is_true(json_object_get(ds, "adopting"))) {
			/* The GET of an adopted incall: keep its destination. */
			json_object_del(ds, "adopting");
			if (res->ok)
				json_object_set(ds, "previous_destination",
				    json_object_get(res->body, "destination"));
			save(d);
			break;		/* then the PUT */
		}
		if (!res->ok) {		/* 404: removed in Wazo meanwhile */
			json_object_del(json_object_get(d->state, "dids"),
			    did_at(d));
			d->phase = P_DID_FIND;
			break;
		}
		did_(d, "updated incall %lld for %s",
		    (long long)json_integer_value(json_object_get(ds,
		    "incall_id")), did_at(d));
		save(d);
		d->di++;
		d->phase = P_DID_FIND;
		break;
	case P_RELOAD:
		did_(d, "reloaded the dialplan");
		d->phase = P_DONE;
		break;
	case U_DID_UNBIND:
		d->phase = U_DID_EXTENSION;
		break;
	case U_DID_EXTENSION:
		d->phase = U_DID_INCALL;
		break;
	case U_DID_INCALL:
		goto next_undo;
	case U_RELOAD:
		did_(d, "reloaded the dialplan");
		d->phase = U_DONE;
		break;
	default:
		break;
	}
	advance(d);
	return;

next_undo:
	if (d->phase == U_DID_INCALL) {
		const char *did = json_string_value(json_array_get(d->dids,
		    d->di));
		json_t *one = json_object_get(json_object_get(d->state, "dids"),
		    did);

		did_(d, "%s incall %lld for %s",
		    json_is_true(json_object_get(one, "created_incall")) ?
		    "removed" : "restored", (long long)json_integer_value(
		    json_object_get(one, "incall_id")), did);
		json_object_del(json_object_get(d->state, "dids"), did);
		save(d);
		d->di++;
		d->phase = U_DID_UNBIND;
	}
	advance(d);
}

/* --- the handlers ---------------------------------------------------- */

static int
add_number_did(const struct store_number *n, void *arg)
{
	struct deploy *d = arg;
	const char *p = n->phone_number;

	if (n->flow_id != NULL && strcmp(n->flow_id, d->flow_id) == 0 && p)
		json_array_append_new(d->dids, json_string(p[0] == '+' ? p + 1 :
		    p));	/* confd: never a '+' in an incall exten */
	return 0;
}

static struct deploy *
deploy_new(struct api_req *r, json_t *body, const struct store_flow *sf)
{
	struct deploy *d = xcalloc(1, sizeof(*d));
	const char *host = json_string_value(json_object_get(body, "wazo_host"));
	const char *token = json_string_value(json_object_get(body, "token"));

	d->api = r->api;
	d->store = r->store;
	d->wazo = api_wazo(r->api);
	d->host = host ? xstrdup(host) : NULL;
	d->token = token ? xstrdup(token) : NULL;
	d->to.host = d->host;
	d->to.token = d->token;
	d->tenant = xstrdup(sf->tenant);
	d->flow_id = xstrdup(sf->id);
	d->doc = json_loads(sf->doc, 0, NULL);
	d->state = store_deploy_get(r->store, sf->tenant, sf->id);
	if (d->state == NULL)
		d->state = json_object();
	d->done = json_array();
	d->dids = json_array();
	return d;
}

/* Refuses what cannot be deployed before anything is asked of Wazo. */
static int
check_body(struct api_req *r, json_t *body)
{
	const char *key;
	json_t *v, *item;
	size_t i;

	json_object_foreach(body, key, v) {
		if (strcmp(key, "wazo_host") && strcmp(key, "token") &&
		    strcmp(key, "dids")) {
			api_error(r, 400, "%s: unknown field", key);
			return -1;
		}
		if (strcmp(key, "dids") && !json_is_string(v)) {
			api_error(r, 400, "%s: must be a string", key);
			return -1;
		}
	}
	v = json_object_get(body, "dids");
	if (v != NULL && !json_is_array(v)) {
		api_error(r, 400, "dids: must be an array of numbers");
		return -1;
	}
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);

		if (s == NULL || strspn(s[0] == '+' ? s + 1 : s,
		    "0123456789*#") != strlen(s[0] == '+' ? s + 1 : s) ||
		    strlen(s) < 2 || strlen(s) > 40) {
			api_error(r, 400, "dids.%zu: must be a phone number "
			    "(digits, * or #)", i);
			return -1;
		}
	}
	return 0;
}

void
api_flow_deploy(struct api_req *r)
{
	struct store_flow sf;
	struct deploy *d;
	json_t *body = NULL, *v;
	size_t i;

	if (api_find_flow(r, &sf) == -1)
		return;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) > 0 &&
	    (body = api_body_object(r)) == NULL)
		goto out;
	if (body != NULL && check_body(r, body) == -1)
		goto out;
	if (api_wazo(r->api) == NULL) {
		api_error(r, 503, "the Wazo client is not running");
		goto out;
	}
	if (!wazo_configured(api_wazo(r->api)) && (body == NULL ||
	    !json_is_string(json_object_get(body, "wazo_host")) ||
	    !json_is_string(json_object_get(body, "token")))) {
		api_error(r, 400, "wazo_host and token are required (or "
		    "configure a Wazo service account: wazo_url, "
		    "wazo_username, wazo_password)");
		goto out;
	}
	if (api_wazo_agi_address(r->api) == NULL) {
		api_error(r, 400, "wazo_agi_address is not configured: the "
		    "HOST:PORT where Wazo's Asterisk reaches ivrd's FastAGI");
		goto out;
	}
	d = deploy_new(r, body, &sf);
	store_number_each(r->store, sf.tenant, add_number_did, d);
	json_array_foreach(json_object_get(body, "dids"), i, v) {
		const char *s = json_string_value(v);

		json_array_append_new(d->dids, json_string(s[0] == '+' ? s + 1 :
		    s));
	}
	json_object_set_new(d->state, "wazo", json_string(d->host ? d->host :
	    "(configured)"));
	d->r = api_defer(r);
	d->phase = P_QUEUES;
	advance(d);
out:
	json_decref(body);
	store_flow_clear(&sf);
}

static void
start_undeploy(struct api_req *r, const struct store_flow *sf, json_t *state,
    int delete_after)
{
	struct deploy *d = deploy_new(r, NULL, sf);
	const char *did;
	json_t *v;

	json_decref(d->state);
	d->state = state;
	json_object_foreach(json_object_get(state, "dids"), did, v)
		json_array_append_new(d->dids, json_string(did));
	d->delete_after = delete_after;
	d->r = api_defer(r);
	d->phase = U_DID_UNBIND;
	advance(d);
}

void
api_flow_undeploy(struct api_req *r)
{
	struct store_flow sf;
	json_t *state;

	if (api_find_flow(r, &sf) == -1)
		return;
	if ((state = store_deploy_get(r->store, sf.tenant, sf.id)) == NULL)
		api_error(r, 409, "flow '%s' is not deployed", sf.id);
	else if (api_wazo(r->api) == NULL)
		api_error(r, 503, "the Wazo client is not running");
	else {
		start_undeploy(r, &sf, state, 0);
		state = NULL;
	}
	json_decref(state);
	store_flow_clear(&sf);
}

/* DELETE of a deployed flow: undeploy first. 1 when it took over. */
int
api_flow_delete_deployed(struct api_req *r, const struct store_flow *sf)
{
	json_t *state = store_deploy_get(r->store, sf->tenant, sf->id);

	if (state == NULL || api_wazo(r->api) == NULL) {
		json_decref(state);
		return 0;
	}
	start_undeploy(r, sf, state, 1);
	return 1;
}
