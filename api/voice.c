#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "agi/agi.h"
#include "api/api_int.h"
#include "flow/flow.h"
#include "log.h"
#include "util.h"
#include "wazo/wazo.h"

/*
 * The voice API of shared/seeds/003_... under /api/v1/voice: phone
 * numbers, their call-handling mode and IVR menu, the call log and live
 * transfer. Every answer is {"success": true, "data": ...}; errors are
 * {"success": false, "error": "field: message"} (api_error).
 *
 * A number's IVR menu is stored as given and compiled into an ordinary
 * flow, num-<first 8 of the uuid>, saved through the same code as
 * POST /api/ivr/flows: the runtime, pre-render and /simulate run it.
 */
#define VOICE_PROMPT_MAX	4000
#define VOICE_NAME_MAX		100
#define VOICE_GREETING_MAX	1000
#define VOICE_OPTIONS_MAX	12
#define VOICE_PER_PAGE		20
#define VOICE_PER_PAGE_MAX	100
/* Where the runtime sends an IVR option of action "ai". */
#define VOICE_AI_CONTEXT	"ivrd-ai"
#define VOICE_AI_EXTENSION	"s"

static const char *const modes[] = { "ai_only", "human_only",
	"ai_with_handoff", "ivr_menu" };
static const char *const call_statuses[] = { "ringing", "in-progress",
	"completed", "failed" };
static const char *const directions[] = { "inbound", "outbound" };
static const char *const ivr_actions[] = { "forward", "ai", "department",
	"voicemail" };
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void	reply_data(struct api_req *, int, json_t *);
static int	find_number(struct api_req *, struct store_number *);
static json_t	*number_json(const struct store_number *, int);
static int	one_of(const char *, const char *const *, size_t);
static const char *list_of(const char *const *, size_t, char *, size_t);
static int	number_apply(struct api_req *, json_t *, struct store_number *,
		    int);
static int	number_check_mode(struct api_req *, const struct store_number *);
static void	set_str(char **, const char *);
static int	parse_when(const char *, int, char[ISO8601_MS_LEN]);

int
api_voice_permitted(struct api_req *r)
{
	if (r->who.admin || store_tenant_voice_enabled(r->store,
	    r->who.tenant))
		return 1;
	api_error(r, 403, "voice is not enabled for this tenant "
	    "(twilio_voice_enabled)");
	return 0;
}

/* --- numbers ---------------------------------------------------------- */

static int
add_number(const struct store_number *n, void *arg)
{
	json_array_append_new(arg, number_json(n, 0));
	return 0;
}

void
api_voice_numbers_list(struct api_req *r)
{
	json_t *list = json_array();

	if (store_number_each(r->store, api_scope_tenant(r), add_number,
	    list) != STORE_OK) {
		json_decref(list);
		api_error(r, 500, "store error while listing numbers");
		return;
	}
	reply_data(r, 200, list);
}

void
api_voice_number_get(struct api_req *r)
{
	struct store_number n;

	if (find_number(r, &n) == -1)
		return;
	reply_data(r, 200, number_json(&n, 1));
	store_number_clear(&n);
}

/* E.164: "+", a first digit 1-9, 7 to 15 digits in all. */
static int
is_e164(const char *s)
{
	size_t n;

	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return 0;
	for (n = 1; s[n] != '\0'; n++)
		if (!isdigit((unsigned char)s[n]))
			return 0;
	return n - 1 >= 7 && n - 1 <= 15;
}

void
api_voice_number_create(struct api_req *r)
{
	struct store_number n;
	json_t *body, *v;
	char uuid[37], now[ISO8601_LEN];
	const char *tenant = r->who.tenant, *s;
	enum store_res res;

	if ((body = api_body_object(r)) == NULL)
		return;
	memset(&n, 0, sizeof(n));
	v = json_object_get(body, "tenant");
	if (v != NULL) {
		if (!json_is_string(v) || !safe_id(json_string_value(v),
		    FLOW_ID_MAX)) {
			api_error(r, 400, "tenant: must be 1-%d characters of "
			    "A-Z a-z 0-9 _ -", FLOW_ID_MAX);
			goto out;
		}
		if (!r->who.admin && strcmp(json_string_value(v),
		    r->who.tenant) != 0) {
			api_error(r, 403, "tenant: this token belongs to tenant "
			    "'%s' and cannot write tenant '%s'", r->who.tenant,
			    json_string_value(v));
			goto out;
		}
		tenant = json_string_value(v);
	} else if (r->who.admin)
		tenant = "default";
	v = json_object_get(body, "phone_number");
	if (v == NULL) {
		api_error(r, 400, "phone_number: required");
		goto out;
	}
	if ((s = json_string_value(v)) == NULL || !is_e164(s)) {
		api_error(r, 400, "phone_number: must be E.164, '+' then 7 to "
		    "15 digits (+15551234567)");
		goto out;
	}
	uuid_v4(uuid);
	iso8601_utc(time(NULL), now);
	n.uuid = xstrdup(uuid);
	n.tenant = xstrdup(tenant);
	n.phone_number = xstrdup(s);
	n.status = xstrdup("active");
	n.connection_type = xstrdup("wazo");
	n.call_handling_mode = xstrdup("ai_only");
	n.ai_enabled = 1;
	n.created_at = xstrdup(now);
	n.updated_at = xstrdup(now);
	if (number_apply(r, body, &n, 1) == -1 || number_check_mode(r, &n) == -1)
		goto out;
	res = store_number_insert(r->store, &n);
	if (res == STORE_CONFLICT)
		api_error(r, 409, "phone_number: %s is already configured",
		    n.phone_number);
	else if (res != STORE_OK)
		api_error(r, 500, "store error while saving the number");
	else {
		char *location;

		xasprintf(&location, API_VOICE_PREFIX "/numbers/%s", n.uuid);
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Location", location);
		free(location);
		log_info("api: number %s (%s/%s) created", n.phone_number,
		    n.tenant, n.uuid);
		reply_data(r, 201, number_json(&n, 1));
	}
out:
	store_number_clear(&n);
	json_decref(body);
}

void
api_voice_number_patch(struct api_req *r)
{
	struct store_number n;
	json_t *body;
	char now[ISO8601_LEN];
	enum store_res res;

	if (find_number(r, &n) == -1)
		return;
	if ((body = api_body_object(r)) == NULL)
		goto out_n;
	if (number_apply(r, body, &n, 0) == -1 || number_check_mode(r, &n) == -1)
		goto out;
	iso8601_utc(time(NULL), now);
	set_str(&n.updated_at, now);
	res = store_number_update(r->store, &n);
	if (res == STORE_OK) {
		log_info("api: number %s (%s/%s) updated", n.phone_number,
		    n.tenant, n.uuid);
		reply_data(r, 200, number_json(&n, 1));
	} else if (res == STORE_NOTFOUND)
		api_error(r, 404, "number '%s' not found", n.uuid);
	else
		api_error(r, 500, "store error while saving the number");
out:
	json_decref(body);
out_n:
	store_number_clear(&n);
}

/* The flow an IVR menu of number uuid compiles to. */
static void
ivr_flow_id(const char *uuid, char out[16])
{
	snprintf(out, 16, "num-%.8s", uuid);
}

void
api_voice_number_delete(struct api_req *r)
{
	struct store_number n;
	char fid[16];
	enum store_res res;

	if (find_number(r, &n) == -1)
		return;
	res = store_number_delete(r->store, n.tenant, n.uuid);
	if (res == STORE_OK) {
		/* The flow its IVR menu generated goes with it. */
		ivr_flow_id(n.uuid, fid);
		if (store_flow_delete(r->store, n.tenant, fid) == STORE_OK)
			prompts_forget(r->prompts, n.tenant, fid);
		log_info("api: number %s (%s/%s) deleted", n.phone_number,
		    n.tenant, n.uuid);
		reply_data(r, 200, json_pack("{s:s, s:b}", "uuid", n.uuid,
		    "deleted", 1));
	} else if (res == STORE_NOTFOUND)
		api_error(r, 404, "number '%s' not found", n.uuid);
	else
		api_error(r, 500, "store error while deleting the number");
	store_number_clear(&n);
}

/*
 * Applies the writable fields of body to *n, checking each: -1 after
 * replying 400. create: phone_number and tenant are known fields.
 */
static int
number_apply(struct api_req *r, json_t *body, struct store_number *n,
    int create)
{
	const char *key, *s;
	char list[128];
	json_t *v;

	json_object_foreach(body, key, v) {
		int *flag = NULL;

		if (create && (!strcmp(key, "phone_number") ||
		    !strcmp(key, "tenant")))
			continue;
		if (!strcmp(key, "ai_enabled"))
			flag = &n->ai_enabled;
		else if (!strcmp(key, "recording_enabled"))
			flag = &n->recording_enabled;
		if (flag != NULL) {
			if (!json_is_boolean(v)) {
				api_error(r, 400, "%s: must be a boolean", key);
				return -1;
			}
			*flag = json_is_true(v);
			continue;
		}
		s = json_string_value(v);
		if (!strcmp(key, "call_handling_mode")) {
			if (s == NULL || !one_of(s, modes, NELEM(modes))) {
				api_error(r, 400, "%s: must be one of %s", key,
				    list_of(modes, NELEM(modes), list,
				    sizeof(list)));
				return -1;
			}
			set_str(&n->call_handling_mode, s);
		} else if (!strcmp(key, "ai_system_prompt")) {
			if (!json_is_null(v) && (s == NULL ||
			    strlen(s) > VOICE_PROMPT_MAX)) {
				api_error(r, 400, "%s: must be a string of at "
				    "most %d characters, or null", key,
				    VOICE_PROMPT_MAX);
				return -1;
			}
			set_str(&n->ai_system_prompt, s);
		} else if (!strcmp(key, "friendly_name")) {
			if (!json_is_null(v) && (s == NULL ||
			    strlen(s) > VOICE_NAME_MAX)) {
				api_error(r, 400, "%s: must be a string of at "
				    "most %d characters, or null", key,
				    VOICE_NAME_MAX);
				return -1;
			}
			set_str(&n->friendly_name, s);
		} else if (!strcmp(key, "status")) {
			if (s == NULL || (strcmp(s, "active") &&
			    strcmp(s, "inactive"))) {
				api_error(r, 400, "%s: must be one of active, "
				    "inactive", key);
				return -1;
			}
			set_str(&n->status, s);
		} else if (!strcmp(key, "connection_type")) {
			if (s == NULL || strcmp(s, "wazo")) {
				api_error(r, 400, "%s: must be wazo (numbers "
				    "served through Asterisk)", key);
				return -1;
			}
		} else if (!strcmp(key, "human_target")) {
			if (!json_is_null(v) && !flow_safe_target(s)) {
				api_error(r, 400, "%s: must be a queue name, 1-80 "
				    "of A-Z a-z 0-9 + * # @ . _ - / :, or null",
				    key);
				return -1;
			}
			set_str(&n->human_target, s);
		} else if (!strcmp(key, "flow_id")) {
			struct store_flow sf;
			enum store_res res;

			if (json_is_null(v)) {
				set_str(&n->flow_id, NULL);
				continue;
			}
			if (s == NULL || !safe_id(s, FLOW_ID_MAX)) {
				api_error(r, 400, "%s: must be a flow id, 1-%d of "
				    "A-Z a-z 0-9 _ -, or null", key, FLOW_ID_MAX);
				return -1;
			}
			res = store_flow_get(r->store, n->tenant, s, &sf);
			if (res == STORE_OK)
				store_flow_clear(&sf);
			else if (res == STORE_NOTFOUND) {
				api_error(r, 400, "%s: no flow '%s' in tenant "
				    "'%s'", key, s, n->tenant);
				return -1;
			} else {
				api_error(r, 500, "store error while reading "
				    "flow '%s'", s);
				return -1;
			}
			set_str(&n->flow_id, s);
		} else {
			api_error(r, 400, "%s: unknown field", key);
			return -1;
		}
	}
	return 0;
}

/* What a mode needs besides itself; -1 after replying 400. */
static int
number_check_mode(struct api_req *r, const struct store_number *n)
{
	const char *mode = n->call_handling_mode;

	if ((!strcmp(mode, "human_only") || !strcmp(mode, "ai_with_handoff")) &&
	    n->human_target == NULL) {
		api_error(r, 400, "human_target: required when "
		    "call_handling_mode is %s", mode);
		return -1;
	}
	if (!strcmp(mode, "ivr_menu") && n->ivr_menu == NULL &&
	    n->flow_id == NULL) {
		api_error(r, 400, "call_handling_mode: ivr_menu needs an IVR "
		    "menu (PUT /voice/numbers/{uuid}/ivr) or a flow_id");
		return -1;
	}
	return 0;
}

/* --- IVR menu ---------------------------------------------------------- */

void
api_voice_ivr_get(struct api_req *r)
{
	struct store_number n;
	json_t *menu;

	if (find_number(r, &n) == -1)
		return;
	if (n.ivr_menu == NULL || (menu = json_loads(n.ivr_menu, 0,
	    NULL)) == NULL)
		api_error(r, 404, "number '%s' has no IVR menu", n.uuid);
	else
		reply_data(r, 200, menu);
	store_number_clear(&n);
}

/*
 * Checks the menu and returns the flow options it compiles to (new), or
 * NULL after replying 400.
 */
static json_t *
ivr_options(struct api_req *r, json_t *body)
{
	json_t *options = json_object_get(body, "options"), *opts, *o, *v;
	const char *key, *greeting, *lang, *voice;
	char list[64];
	size_t i;

	json_object_foreach(body, key, v)
		if (strcmp(key, "greeting") && strcmp(key, "options") &&
		    strcmp(key, "language") && strcmp(key, "voice")) {
			api_error(r, 400, "%s: unknown field", key);
			return NULL;
		}
	v = json_object_get(body, "greeting");
	if (v == NULL) {
		api_error(r, 400, "greeting: required");
		return NULL;
	}
	greeting = json_string_value(v);
	if (greeting == NULL || *greeting == '\0' ||
	    strlen(greeting) > VOICE_GREETING_MAX) {
		api_error(r, 400, "greeting: must be a string of 1 to %d "
		    "characters", VOICE_GREETING_MAX);
		return NULL;
	}
	lang = json_string_value(json_object_get(body, "language"));
	voice = json_string_value(json_object_get(body, "voice"));
	if ((json_object_get(body, "language") && lang == NULL) ||
	    (json_object_get(body, "voice") && voice == NULL)) {
		api_error(r, 400, "%s: must be a string", lang == NULL &&
		    json_object_get(body, "language") ? "language" : "voice");
		return NULL;
	}
	if (options == NULL) {
		api_error(r, 400, "options: required");
		return NULL;
	}
	if (!json_is_array(options) || json_array_size(options) == 0 ||
	    json_array_size(options) > VOICE_OPTIONS_MAX) {
		api_error(r, 400, "options: must be an array of 1 to %d "
		    "options", VOICE_OPTIONS_MAX);
		return NULL;
	}
	opts = json_object();
	json_array_foreach(options, i, o) {
		const char *digit, *label, *action, *target;
		json_t *t, *flow_opt;

		if (!json_is_object(o)) {
			api_error(r, 400, "options.%zu: must be an object", i);
			goto fail;
		}
		json_object_foreach(o, key, v)
			if (strcmp(key, "digit") && strcmp(key, "label") &&
			    strcmp(key, "action") && strcmp(key, "target")) {
				api_error(r, 400, "options.%zu.%s: unknown "
				    "field", i, key);
				goto fail;
			}
		digit = json_string_value(json_object_get(o, "digit"));
		label = json_string_value(json_object_get(o, "label"));
		action = json_string_value(json_object_get(o, "action"));
		t = json_object_get(o, "target");
		target = json_string_value(t);
		if (digit == NULL || strlen(digit) != 1 ||
		    strchr("0123456789*#", *digit) == NULL) {
			api_error(r, 400, "options.%zu.digit: must be one of "
			    "0-9 * #", i);
			goto fail;
		}
		if (json_object_get(opts, digit) != NULL) {
			api_error(r, 400, "options.%zu.digit: '%s' is used by "
			    "another option", i, digit);
			goto fail;
		}
		if (label == NULL || *label == '\0' || strlen(label) >
		    VOICE_NAME_MAX) {
			api_error(r, 400, "options.%zu.label: required, a "
			    "string of 1 to %d characters", i, VOICE_NAME_MAX);
			goto fail;
		}
		if (action == NULL || !one_of(action, ivr_actions,
		    NELEM(ivr_actions))) {
			api_error(r, 400, "options.%zu.action: must be one of "
			    "%s", i, list_of(ivr_actions, NELEM(ivr_actions),
			    list, sizeof(list)));
			goto fail;
		}
		if (strcmp(action, "ai") == 0) {
			if (t != NULL && !json_is_null(t) &&
			    !flow_safe_target(target)) {
				api_error(r, 400, "options.%zu.target: must be "
				    "1-80 of A-Z a-z 0-9 + * # @ . _ - / :, or "
				    "null", i);
				goto fail;
			}
			flow_opt = json_pack("{s:s, s:s, s:s}", "action",
			    "extension", "context", VOICE_AI_CONTEXT,
			    "extension", VOICE_AI_EXTENSION);
		} else if (!flow_safe_target(target)) {
			api_error(r, 400, "options.%zu.target: required for "
			    "action %s: %s, 1-80 of A-Z a-z 0-9 + * # @ . _ - "
			    "/ :", i, action, !strcmp(action, "forward") ?
			    "a phone number or SIP address" : !strcmp(action,
			    "department") ? "a queue name" : "a mailbox");
			goto fail;
		} else if (strcmp(action, "forward") == 0)
			flow_opt = json_pack("{s:s, s:s}", "action", "transfer",
			    "destination", target);
		else if (strcmp(action, "department") == 0)
			flow_opt = json_pack("{s:s, s:s}", "action", "queue",
			    "queue_ref", target);
		else {
			const char *at = strchr(target, '@');
			char *box = xstrndup(target, at ? (size_t)(at -
			    target) : strlen(target));

			flow_opt = json_pack("{s:s, s:s, s:s}", "action",
			    "voicemail", "voicemail_box", box, "context",
			    at != NULL && at[1] != '\0' ? at + 1 : "default");
			free(box);
		}
		json_object_set_new(opts, digit, flow_opt);
	}
	return opts;
fail:
	json_decref(opts);
	return NULL;
}

/* The flow a number's menu runs (new). */
static json_t *
ivr_flow(const struct store_number *n, json_t *body, json_t *opts)
{
	const char *lang = json_string_value(json_object_get(body, "language"));
	const char *voice = json_string_value(json_object_get(body, "voice"));
	json_t *fallback;
	char fid[16];

	if (lang == NULL)
		lang = "en-US";
	if (voice == NULL)
		voice = "Joanna";
	ivr_flow_id(n->uuid, fid);
	/* No choice after the retries: the number's people, if it has any. */
	fallback = n->human_target != NULL ? json_pack("{s:s, s:s}", "action",
	    "queue", "queue_ref", n->human_target) : json_string("hangup");
	return json_pack("{s:s, s:s, s:[{s:s, s:s}], s:{s:{s:{s:O}}, "
	    "s:{s:{s:s}}}, s:{s:{s:s, s:s, s:o, s:o}}}",
	    "id", fid, "tenant", n->tenant,
	    "languages", "code", lang, "voice", voice,
	    "prompts",
	    "greeting", "text", lang, json_object_get(body, "greeting"),
	    "invalid", "text", lang, "Sorry, that is not a valid choice.",
	    "menus", "root", "id", "root", "prompt", "greeting",
	    "options", opts, "fallback_action", fallback);
}

void
api_voice_ivr_put(struct api_req *r)
{
	struct store_number n;
	json_t *body, *opts, *flow, *errors = NULL, *menu;
	char now[ISO8601_LEN];
	enum store_res res;

	if (find_number(r, &n) == -1)
		return;
	if ((body = api_body_object(r)) == NULL)
		goto out_n;
	if ((opts = ivr_options(r, body)) == NULL)
		goto out;
	flow = ivr_flow(&n, body, opts);
	if (api_flow_save(r, flow, n.tenant, &errors, &res) == -1) {
		api_error(r, 400, "%s", json_string_value(json_array_get(errors,
		    0)));
		json_decref(errors);
		json_decref(flow);
		goto out;
	}
	if (res != STORE_OK) {
		api_error(r, 500, "store error while saving the menu's flow");
		json_decref(flow);
		goto out;
	}
	set_str(&n.flow_id, json_string_value(json_object_get(flow, "id")));
	json_decref(flow);
	menu = json_pack("{s:O, s:O}", "greeting", json_object_get(body,
	    "greeting"), "options", json_object_get(body, "options"));
	if (json_object_get(body, "language") != NULL)
		json_object_set(menu, "language", json_object_get(body,
		    "language"));
	if (json_object_get(body, "voice") != NULL)
		json_object_set(menu, "voice", json_object_get(body, "voice"));
	free(n.ivr_menu);
	if ((n.ivr_menu = json_dumps(menu, JSON_COMPACT)) == NULL)
		fatalx("json_dumps failed");
	n.ivr_enabled = 1;
	iso8601_utc(time(NULL), now);
	set_str(&n.updated_at, now);
	if (store_number_update(r->store, &n) != STORE_OK) {
		json_decref(menu);
		api_error(r, 500, "store error while saving the number");
		goto out;
	}
	log_info("api: number %s (%s/%s) runs IVR flow %s", n.phone_number,
	    n.tenant, n.uuid, n.flow_id);
	json_object_set_new(menu, "flow_id", json_string(n.flow_id));
	reply_data(r, 200, menu);
out:
	json_decref(body);
out_n:
	store_number_clear(&n);
}

/* --- calls ------------------------------------------------------------- */

/* "2026-11-21T10:00:00.120Z" as the seed shows times: to the second. */
static json_t *
time_json(const char *t)
{
	char buf[ISO8601_LEN];

	if (t == NULL)
		return json_null();
	if (strlen(t) < 19)
		return json_string(t);
	snprintf(buf, sizeof(buf), "%.19sZ", t);
	return json_string(buf);
}

static json_t *
opt_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
call_json(const struct store_call *c, int full)
{
	json_t *o;
	char *url = NULL;

	if (c->recording_path != NULL)
		xasprintf(&url, API_VOICE_PREFIX "/calls/%s/recording", c->id);
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, "
	    "s:o}", "uuid", c->id, "sid", opt_json(c->uniqueid),
	    "direction", opt_json(c->direction),
	    "from_number", opt_json(c->from_number),
	    "to_number", opt_json(c->to_number),
	    "status", opt_json(c->status),
	    "duration", c->duration_ms >= 0 ? json_integer((c->duration_ms +
	    500) / 1000) : json_null(),
	    "recording_url", opt_json(url),
	    "ai_handled", c->ai_handled,
	    "started_at", time_json(c->started_at),
	    "ended_at", time_json(c->ended_at));
	free(url);
	if (full) {
		json_t *tl = c->timeline ? json_loads(c->timeline, 0, NULL) :
		    NULL;

		json_object_set_new(o, "tenant", opt_json(c->tenant));
		json_object_set_new(o, "phone_number_uuid",
		    opt_json(c->phone_number_uuid));
		json_object_set_new(o, "flow_id", opt_json(c->flow_id));
		json_object_set_new(o, "answered_at", time_json(c->answered_at));
		json_object_set_new(o, "duration_ms", c->duration_ms >= 0 ?
		    json_integer(c->duration_ms) : json_null());
		json_object_set_new(o, "language", opt_json(c->language));
		json_object_set_new(o, "outcome", opt_json(c->outcome));
		json_object_set_new(o, "transcription", tl ? tl : json_array());
	}
	return o;
}

static int
add_call(const struct store_call *c, void *arg)
{
	json_array_append_new(arg, call_json(c, 0));
	return 0;
}

/* A query parameter that must be one of list; -1 after replying 400. */
static int
query_enum(struct api_req *r, const char *name, const char *const *list,
    size_t n, const char **out)
{
	char buf[128];

	*out = api_query(r, name);
	if (*out == NULL || one_of(*out, list, n))
		return 0;
	api_error(r, 400, "%s: must be one of %s", name, list_of(list, n, buf,
	    sizeof(buf)));
	return -1;
}

/* A positive integer query parameter <= max; -1 after replying 400. */
static int
query_int(struct api_req *r, const char *name, long max, long *out)
{
	const char *s = api_query(r, name);
	char *end;
	long v;

	if (s == NULL)
		return 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > max) {
		api_error(r, 400, "%s: must be an integer from 1 to %ld", name,
		    max);
		return -1;
	}
	*out = v;
	return 0;
}

void
api_voice_calls_list(struct api_req *r)
{
	struct store_call_filter f;
	char from[ISO8601_MS_LEN], to[ISO8601_MS_LEN];
	const char *s;
	json_t *list;
	long total = 0;
	int capped;

	memset(&f, 0, sizeof(f));
	f.tenant = api_scope_tenant(r);
	f.page = 1;
	f.per_page = VOICE_PER_PAGE;
	f.phone_number_uuid = api_query(r, "phone_number_uuid");
	if (query_enum(r, "status", call_statuses, NELEM(call_statuses),
	    &f.status) == -1 || query_enum(r, "direction", directions,
	    NELEM(directions), &f.direction) == -1 ||
	    query_int(r, "per_page", VOICE_PER_PAGE_MAX, &f.per_page) == -1 ||
	    query_int(r, "page", 1000000, &f.page) == -1)
		return;
	if ((s = api_query(r, "from")) != NULL) {
		if (parse_when(s, 0, from) == -1) {
			api_error(r, 400, "from: must be an ISO 8601 date or "
			    "date-time (2026-02-14 or 2026-02-14T10:00:00Z)");
			return;
		}
		f.from = from;
	}
	if ((s = api_query(r, "to")) != NULL) {
		if (parse_when(s, 1, to) == -1) {
			api_error(r, 400, "to: must be an ISO 8601 date or "
			    "date-time (2026-02-14 or 2026-02-14T10:00:00Z)");
			return;
		}
		f.to = to;
	}
	list = json_array();
	if (store_call_query(r->store, &f, add_call, list, &total) !=
	    STORE_OK) {
		json_decref(list);
		api_error(r, 500, "store error while listing calls");
		return;
	}
	/* Across tenants the count is capped: meta says "at least". */
	capped = f.tenant == NULL && total > STORE_CALL_COUNT_CAP;
	if (capped)
		total = STORE_CALL_COUNT_CAP;
	api_reply(r, 200, json_pack("{s:b, s:o, s:{s:I, s:I, s:I, s:I, s:b}}",
	    "success", 1, "data", list, "meta",
	    "page", (json_int_t)f.page, "per_page", (json_int_t)f.per_page,
	    "total", (json_int_t)total, "last_page",
	    (json_int_t)(total == 0 ? 1 : (total + f.per_page - 1) /
	    f.per_page), "total_capped", capped));
}

/* The call of the URL in the request's scope; -1 after replying. */
static int
find_call(struct api_req *r, struct store_call *c)
{
	memset(c, 0, sizeof(*c));
	switch (store_call_get(r->store, api_scope_tenant(r), r->seg[1], c)) {
	case STORE_OK:
		return 0;
	case STORE_NOTFOUND:
		api_error(r, 404, "call '%s' not found", r->seg[1]);
		return -1;
	default:
		api_error(r, 500, "store error while reading call '%s'",
		    r->seg[1]);
		return -1;
	}
}

void
api_voice_call_get(struct api_req *r)
{
	struct store_call c;

	if (find_call(r, &c) == -1)
		return;
	reply_data(r, 200, call_json(&c, 1));
	store_call_clear(&c);
}

/*
 * A call already handed to a queue or an AI agent is blocked inside
 * Asterisk's EXEC: only wazo-amid's Redirect moves it (wazo-api.md
 * section 6), into wazo_transfer_context at the target.
 */
struct redirect_ctx {
	struct api_req	*r;
	char		*uuid, *target;
};

static void
redirected(const struct wazo_result *res, void *arg)
{
	struct redirect_ctx *x = arg;

	if (!res->ok)
		api_error(x->r, res->api_status ? res->api_status : 502,
		    "%s", res->error);
	else {
		if (api_agi(x->r->api) != NULL)
			agi_note_redirect(api_agi(x->r->api), x->uuid, x->target);
		log_info("api: call %s: redirected to %s through Wazo",
		    x->uuid, x->target);
		reply_data(x->r, 200, json_pack("{s:s, s:s, s:s, s:s}", "uuid",
		    x->uuid, "status", "transferring", "target", x->target,
		    "via", "redirect"));
	}
	api_deferred_free(x->r);
	free(x->uuid);
	free(x->target);
	free(x);
}

static void
redirect(struct api_req *r, const char *uuid, const char *channel,
    const char *target)
{
	struct wazo *wazo = api_wazo(r->api);
	const char *context = api_wazo_transfer_context(r->api);
	struct redirect_ctx *x;
	json_t *body;

	if (wazo == NULL || !wazo_configured(wazo) || context == NULL) {
		api_error(r, 409, "the call was handed to a queue or an AI "
		    "agent: moving it needs Wazo (wazo_url, a service account "
		    "and wazo_transfer_context)");
		return;
	}
	x = xcalloc(1, sizeof(*x));
	x->uuid = xstrdup(uuid);
	x->target = xstrdup(target);
	x->r = api_defer(r);
	body = json_pack("{s:s, s:s, s:s, s:s}", "Channel", channel, "Context",
	    context, "Exten", target, "Priority", "1");
	wazo_request(wazo, NULL, "POST", WAZO_AMID, "/action/Redirect", NULL,
	    body, redirected, x);
	json_decref(body);
}

void
api_voice_call_transfer(struct api_req *r)
{
	struct store_call c;
	struct agi *agi = api_agi(r->api);
	json_t *body, *v;
	const char *target, *key;
	char *channel = NULL;

	if (find_call(r, &c) == -1)
		return;
	if ((body = api_body_object(r)) == NULL)
		goto out_c;
	json_object_foreach(body, key, v)
		if (strcmp(key, "target")) {
			api_error(r, 400, "%s: unknown field", key);
			goto out;
		}
	if ((v = json_object_get(body, "target")) == NULL) {
		api_error(r, 400, "target: required");
		goto out;
	}
	target = json_string_value(v);
	if (!flow_safe_target(target)) {
		api_error(r, 400, "target: must be a phone number or SIP "
		    "address, 1-80 of A-Z a-z 0-9 + * # @ . _ - / :");
		goto out;
	}
	switch (agi == NULL ? AGI_TRANSFER_NOTLIVE :
	    agi_transfer(agi, c.id, c.tenant, target, &channel)) {
	case AGI_TRANSFER_HANDED_OVER:
		redirect(r, c.id, channel, target);
		free(channel);
		break;
	case AGI_TRANSFER_OK:
		log_info("api: call %s: transfer to %s requested", c.id,
		    target);
		reply_data(r, 200, json_pack("{s:s, s:s, s:s}", "uuid", c.id,
		    "status", "transferring", "target", target));
		break;
	case AGI_TRANSFER_NOTLIVE:
		api_error(r, 409, "call is not live in ivrd");
		break;
	default:
		api_error(r, 400, "target: '%s' cannot be dialled", target);
		break;
	}
out:
	json_decref(body);
out_c:
	store_call_clear(&c);
}

void
api_voice_call_recording(struct api_req *r)
{
	struct store_call c;
	const char *dir = api_recordings_dir(r->api);
	char *path;

	if (find_call(r, &c) == -1)
		return;
	if (c.recording_path == NULL) {
		api_error(r, 404, "call '%s' has no recording", c.id);
		store_call_clear(&c);
		return;
	}
	/* A relative path is inside recordings_dir; ".." never leaves it. */
	if (strstr(c.recording_path, "..") != NULL)
		api_error(r, 404, "call '%s' has no recording", c.id);
	else {
		if (c.recording_path[0] == '/')
			path = xstrdup(c.recording_path);
		else
			xasprintf(&path, "%s/%s", dir ? dir : ".",
			    c.recording_path);
		if (strchr(path, '.') == NULL || strcmp(strrchr(path, '.'),
		    ".wav") != 0) {
			char *wav;

			xasprintf(&wav, "%s.wav", path);
			free(path);
			path = wav;
		}
		api_reply_file(r, path, "audio/wav");
		free(path);
	}
	store_call_clear(&c);
}

/* --- tenants ------------------------------------------------------------ */

static int
admin_tenant(struct api_req *r)
{
	if (!r->who.admin) {
		api_error(r, 403, "tenants: an admin token is required");
		return -1;
	}
	if (!safe_id(r->seg[1], FLOW_ID_MAX)) {
		api_error(r, 400, "tenant: must be 1-%d characters of A-Z a-z "
		    "0-9 _ -", FLOW_ID_MAX);
		return -1;
	}
	return 0;
}

void
api_voice_tenant_get(struct api_req *r)
{
	if (admin_tenant(r) == -1)
		return;
	reply_data(r, 200, json_pack("{s:s, s:b}", "name", r->seg[1],
	    "voice_enabled", store_tenant_voice_enabled(r->store, r->seg[1])));
}

void
api_voice_tenant_patch(struct api_req *r)
{
	json_t *body, *v;
	const char *key;

	if (admin_tenant(r) == -1 || (body = api_body_object(r)) == NULL)
		return;
	json_object_foreach(body, key, v)
		if (strcmp(key, "voice_enabled")) {
			api_error(r, 400, "%s: unknown field", key);
			goto out;
		}
	v = json_object_get(body, "voice_enabled");
	if (!json_is_boolean(v)) {
		api_error(r, 400, "voice_enabled: %s", v == NULL ? "required" :
		    "must be a boolean");
		goto out;
	}
	if (store_tenant_voice_set(r->store, r->seg[1], json_is_true(v)) !=
	    STORE_OK) {
		api_error(r, 500, "store error while saving tenant '%s'",
		    r->seg[1]);
		goto out;
	}
	log_info("api: tenant %s: voice %s", r->seg[1], json_is_true(v) ?
	    "enabled" : "disabled");
	reply_data(r, 200, json_pack("{s:s, s:b}", "name", r->seg[1],
	    "voice_enabled", json_is_true(v)));
out:
	json_decref(body);
}

/* --- helpers ------------------------------------------------------------ */

static void
reply_data(struct api_req *r, int status, json_t *data)
{
	api_reply(r, status, json_pack("{s:b, s:o}", "success", 1, "data",
	    data));
}

static int
find_number(struct api_req *r, struct store_number *n)
{
	memset(n, 0, sizeof(*n));
	switch (store_number_get(r->store, api_scope_tenant(r), r->seg[1], n)) {
	case STORE_OK:
		return 0;
	case STORE_NOTFOUND:
		api_error(r, 404, "number '%s' not found", r->seg[1]);
		return -1;
	default:
		api_error(r, 500, "store error while reading number '%s'",
		    r->seg[1]);
		return -1;
	}
}

static json_t *
number_json(const struct store_number *n, int full)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:b, s:b, "
	    "s:s, s:o, s:o}", "uuid", n->uuid, "phone_number", n->phone_number,
	    "friendly_name", opt_json(n->friendly_name), "status", n->status,
	    "connection_type", n->connection_type,
	    "call_handling_mode", n->call_handling_mode,
	    "ai_enabled", n->ai_enabled, "recording_enabled",
	    n->recording_enabled, "ivr_enabled", n->ivr_enabled,
	    "created_at", n->created_at,
	    "flow_id", opt_json(n->flow_id),
	    "human_target", opt_json(n->human_target));

	if (full) {
		json_object_set_new(o, "tenant", json_string(n->tenant));
		json_object_set_new(o, "ai_system_prompt",
		    opt_json(n->ai_system_prompt));
		json_object_set_new(o, "updated_at", opt_json(n->updated_at));
	}
	return o;
}

static int
one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static const char *
list_of(const char *const *list, size_t n, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
		    i ? ", " : "", list[i]);
	return buf;
}

static void
set_str(char **field, const char *s)
{
	free(*field);
	*field = s != NULL ? xstrdup(s) : NULL;
}

/*
 * An ISO 8601 date ("2026-02-14") or date-time with Z or an offset, as
 * the stored form "2026-02-14T10:00:00.000Z". A date alone as an upper
 * bound (end) means the whole of that day: the next midnight.
 */
static int
parse_when(const char *s, int end, char out[ISO8601_MS_LEN])
{
	struct timespec ts = { 0, 0 };
	struct tm tm;
	const char *rest;
	int hh, mm, sign;

	memset(&tm, 0, sizeof(tm));
	if ((rest = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*rest == '\0') {
		ts.tv_sec = timegm(&tm) + (end ? 86400 : 0);
		iso8601_utc_ms(&ts, out);
		return 0;
	}
	if ((*rest != 'T' && *rest != ' ') ||
	    (rest = strptime(rest + 1, "%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*rest == '.') {
		long ms = 0, scale = 100;

		while (*++rest >= '0' && *rest <= '9') {
			ms += (*rest - '0') * scale;
			scale /= 10;
		}
		ts.tv_nsec = ms * 1000000;
	}
	ts.tv_sec = timegm(&tm);
	if (strcmp(rest, "Z") != 0 && *rest != '\0') {
		if ((rest[0] != '+' && rest[0] != '-') || strlen(rest) != 6 ||
		    sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		sign = rest[0] == '+' ? 1 : -1;
		ts.tv_sec -= sign * (hh * 3600 + mm * 60);
	}
	/* "to" of a date-time is inclusive: up to the end of its second. */
	if (end && ts.tv_nsec == 0)
		ts.tv_sec += 1;
	else if (end && (ts.tv_nsec += 1000000) >= 1000000000) {
		ts.tv_sec += 1;
		ts.tv_nsec -= 1000000000;
	}
	iso8601_utc_ms(&ts, out);
	return 0;
}
