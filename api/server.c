#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/api.h"
#include "api/api_int.h"
#include "conf.h"
#include "log.h"
#include "util.h"

struct api {
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	struct store			*store;
	struct tts			*tts;
	struct prompts			*prompts;
	char				*dial_template;
	char				*recordings_dir;
	struct agi			*agi;
	struct wazo			*wazo;
	struct event_base		*base;
	char				*wazo_agi_address;
	char				*wazo_dialplan_dir;
	char				*wazo_transfer_context;
	int				 wazo_on_host;
	long				 max_body;
	int				 loopback_no_token;
	char				 address[64];
};

/*
 * The routes. A pattern segment ":x" matches any one path segment.
 * Methods of a path are listed together so a wrong one gets 405 + Allow.
 */
struct api_route {
	const char	*pattern[API_MAX_SEGS];
	struct {
		enum evhttp_cmd_type	 method;
		void			(*handler)(struct api_req *);
	} methods[4];
};

static const struct api_route routes[] = {
	{ { "flows" }, {
		{ EVHTTP_REQ_GET, api_flows_list },
		{ EVHTTP_REQ_POST, api_flows_create } } },
	{ { "flows", ":id" }, {
		{ EVHTTP_REQ_GET, api_flow_get },
		{ EVHTTP_REQ_PUT, api_flow_put },
		{ EVHTTP_REQ_DELETE, api_flow_delete } } },
	{ { "flows", ":id", "simulate" }, {
		{ EVHTTP_REQ_POST, api_flow_simulate } } },
	{ { "status" }, {
		{ EVHTTP_REQ_GET, api_status } } },
	{ { "tts", "voices" }, {
		{ EVHTTP_REQ_GET, api_tts_voices } } },
	{ { "tts", "synthesize" }, {
		{ EVHTTP_REQ_POST, api_tts_synthesize } } },
	{ { "tts", "audio", ":file" }, {
		{ EVHTTP_REQ_GET, api_tts_audio } } },
	{ { "maintenance", "cleanup" }, {
		{ EVHTTP_REQ_POST, api_maintenance_cleanup } } },
	{ { "flows", ":id", "deploy" }, {
		{ EVHTTP_REQ_POST, api_flow_deploy } } },
	{ { "flows", ":id", "undeploy" }, {
		{ EVHTTP_REQ_POST, api_flow_undeploy } } },
	{ { "wazo", "queues" }, {
		{ EVHTTP_REQ_GET, api_wazo_queues } } },
	{ { "wazo", "agents" }, {
		{ EVHTTP_REQ_GET, api_wazo_agents } } },
};

/*
 * The voice API (shared/seeds/003_...), under its own prefix and with its
 * own envelope: {"success": true, "data": ...}.
 */
static const struct api_route voice_routes[] = {
	{ { "numbers" }, {
		{ EVHTTP_REQ_GET, api_voice_numbers_list },
		{ EVHTTP_REQ_POST, api_voice_number_create } } },
	{ { "numbers", ":uuid" }, {
		{ EVHTTP_REQ_GET, api_voice_number_get },
		{ EVHTTP_REQ_PATCH, api_voice_number_patch },
		{ EVHTTP_REQ_DELETE, api_voice_number_delete } } },
	{ { "numbers", ":uuid", "ivr" }, {
		{ EVHTTP_REQ_GET, api_voice_ivr_get },
		{ EVHTTP_REQ_PUT, api_voice_ivr_put } } },
	{ { "calls" }, {
		{ EVHTTP_REQ_GET, api_voice_calls_list } } },
	{ { "calls", ":uuid" }, {
		{ EVHTTP_REQ_GET, api_voice_call_get } } },
	{ { "calls", ":uuid", "transfer" }, {
		{ EVHTTP_REQ_POST, api_voice_call_transfer } } },
	{ { "calls", ":uuid", "recording" }, {
		{ EVHTTP_REQ_GET, api_voice_call_recording } } },
	{ { "tenants", ":tenant" }, {
		{ EVHTTP_REQ_GET, api_voice_tenant_get },
		{ EVHTTP_REQ_PATCH, api_voice_tenant_patch } } },
};

static void	api_dispatch(struct evhttp_request *, void *);

static int
prerender_stored(const struct store_flow *sf, void *arg)
{
	struct api *api = arg;
	json_t *doc = json_loads(sf->doc, 0, NULL);

	if (doc != NULL)
		prompts_prerender(api->prompts, sf->tenant, sf->id, doc);
	json_decref(doc);
	return 0;
}

struct api *
api_new(struct event_base *base, struct store *store, struct tts *tts,
    const struct conf *conf, char **err)
{
	struct api *api = xcalloc(1, sizeof(*api));
	int fd;

	fd = listen_socket(conf->api_listen, api->address,
	    sizeof(api->address), err);
	if (fd == -1) {
		free(api);
		return NULL;
	}
	if ((api->http = evhttp_new(base)) == NULL)
		fatalx("evhttp_new failed");
	api->store = store;
	api->tts = tts;
	api->base = base;
	api->wazo_agi_address = conf->wazo_agi_address[0] ?
	    xstrdup(conf->wazo_agi_address) : NULL;
	api->wazo_dialplan_dir = xstrdup(conf->wazo_dialplan_dir);
	api->wazo_transfer_context = conf->wazo_transfer_context[0] ?
	    xstrdup(conf->wazo_transfer_context) : NULL;
	api->wazo_on_host = conf->wazo_on_host;
	api->dial_template = conf->dial_template[0] ?
	    xstrdup(conf->dial_template) : NULL;
	api->recordings_dir = xstrdup(conf->recordings_dir);
	api->prompts = prompts_new(tts);
	if (store_flow_each(store, NULL, prerender_stored, api) != STORE_OK)
		log_warnx("api: cannot list the stored flows to pre-render");
	evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_max_headers_size(api->http, 16384);
	evhttp_set_timeout(api->http, 30);
	evhttp_set_gencb(api->http, api_dispatch, api);
	api_reconfigure(api, conf);
	api->bound = evhttp_accept_socket_with_handle(api->http, fd);
	if (api->bound == NULL) {
		xasprintf(err, "cannot serve on %s", api->address);
		close(fd);
		api_free(api);
		return NULL;
	}
	log_info("api: listening on http://%s" API_PREFIX, api->address);
	return api;
}

void
api_free(struct api *api)
{
	if (api == NULL)
		return;
	if (api->http != NULL)
		evhttp_free(api->http);
	prompts_free(api->prompts);
	free(api->dial_template);
	free(api->recordings_dir);
	free(api->wazo_agi_address);
	free(api->wazo_dialplan_dir);
	free(api->wazo_transfer_context);
	free(api);
}

void
api_set_agi(struct api *api, struct agi *agi)
{
	api->agi = agi;
}

struct agi *
api_agi(const struct api *api)
{
	return api->agi;
}

void
api_set_wazo(struct api *api, struct wazo *wazo)
{
	api->wazo = wazo;
}

const char *
api_wazo_agi_address(const struct api *api)
{
	return api->wazo_agi_address;
}

const char *
api_wazo_dialplan_dir(const struct api *api)
{
	return api->wazo_dialplan_dir;
}

const char *
api_wazo_transfer_context(const struct api *api)
{
	return api->wazo_transfer_context;
}

int
api_wazo_on_host(const struct api *api)
{
	return api->wazo_on_host;
}

struct event_base *
api_base(const struct api *api)
{
	return api->base;
}

struct wazo *
api_wazo(const struct api *api)
{
	return api->wazo;
}

const char *
api_dial_template(const struct api *api)
{
	return api->dial_template;
}

const char *
api_recordings_dir(const struct api *api)
{
	return api->recordings_dir;
}

const char *
api_address(const struct api *api)
{
	return api->address;
}

void
api_reconfigure(struct api *api, const struct conf *conf)
{
	api->max_body = conf->max_body_bytes;
	api->loopback_no_token = conf->api_loopback_no_token;
	/*
	 * libevent answers bodies over its own limit with an HTML page, so
	 * its limit sits well above ours: anything between the two gets our
	 * JSON 413, and memory per connection stays bounded.
	 */
	evhttp_set_max_body_size(api->http, (ev_ssize_t)conf->max_body_bytes * 4);
}

static const char *
status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

void
api_reply_text(struct api_req *r, int status, const char *json, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	struct evbuffer *body = evhttp_request_get_output_buffer(r->req);

	evhttp_add_header(out, "Content-Type", "application/json");
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
		/* libevent 2.1 would send a HEAD reply's body: keep it out. */
		char clen[24];

		snprintf(clen, sizeof(clen), "%zu", len + 1);
		evhttp_add_header(out, "Content-Length", clen);
	} else {
		evbuffer_add(body, json, len);
		evbuffer_add(body, "\n", 1);
	}
	evhttp_send_reply(r->req, status, status_reason(status), NULL);
}

void
api_reply_file(struct api_req *r, const char *path, const char *content_type)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
	struct evbuffer *body = evhttp_request_get_output_buffer(r->req);
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1 || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		if (fd != -1)
			close(fd);
		api_error(r, 404, "no such file: %s", strrchr(path, '/') + 1);
		return;
	}
	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "Cache-Control", "max-age=86400");
	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
		char clen[24];

		snprintf(clen, sizeof(clen), "%lld", (long long)sb.st_size);
		evhttp_add_header(out, "Content-Length", clen);
		close(fd);
	} else if (evbuffer_add_file(body, fd, 0, sb.st_size) == -1) {
		close(fd);	/* on success the buffer owns fd */
		api_error(r, 500, "cannot read %s", strrchr(path, '/') + 1);
		return;
	}
	evhttp_send_reply(r->req, 200, "OK", NULL);
}

struct api_req *
api_defer(struct api_req *r)
{
	struct api_req *d = xcalloc(1, sizeof(*d));

	/* Path segments and the query die with the dispatch: not copied. */
	d->req = r->req;
	d->api = r->api;
	d->store = r->store;
	d->tts = r->tts;
	d->prompts = r->prompts;
	d->who = r->who;
	d->voice = r->voice;
	TAILQ_INIT(&d->query);
	return d;
}

void
api_deferred_free(struct api_req *r)
{
	free(r);
}

void
api_reply(struct api_req *r, int status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_REAL_PRECISION(6));

	if (text == NULL)
		fatalx("json_dumps failed");
	api_reply_text(r, status, text, strlen(text));
	free(text);
	json_decref(doc);
}

void
api_error(struct api_req *r, int status, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	if (r->voice)
		api_reply(r, status, json_pack("{s:b, s:s}", "success", 0,
		    "error", msg));
	else
		api_reply(r, status, json_pack("{s:s}", "error", msg));
	free(msg);
}

json_t *
api_body_object(struct api_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;
	json_t *doc;

	if (len == 0) {
		api_error(r, 400, "request body is empty: a JSON object is "
		    "expected");
		return NULL;
	}
	doc = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc == NULL) {
		api_error(r, 400, "malformed JSON at line %d, column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		api_error(r, 400, "request body must be a JSON object");
		return NULL;
	}
	return doc;
}

const char *
api_query(struct api_req *r, const char *name)
{
	return evhttp_find_header(&r->query, name);
}

const char *
api_scope_tenant(struct api_req *r)
{
	if (!r->who.admin)
		return r->who.tenant;
	return api_query(r, "tenant");
}

static int
peer_is_loopback(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port;

	if (conn == NULL)
		return 0;
	evhttp_connection_get_peer(conn, &addr, &port);
	return addr != NULL && (strncmp(addr, "127.", 4) == 0 ||
	    strcmp(addr, "::1") == 0 || strncmp(addr, "::ffff:127.", 11) == 0);
}

static int	check_token(struct api_req *, const char *);

/* Who the request acts for; 0, or -1 after replying 401. */
static int
authenticate(struct api_req *r)
{
	const char *auth = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Authorization");
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);

	const char *qtoken = api_query(r, "access_token");

	if (auth == NULL && qtoken == NULL && r->api->loopback_no_token &&
	    peer_is_loopback(r->req)) {
		r->who.admin = 1;
		return 0;
	}
	/* RFC 6750's URI parameter, so a browser can open an audio link. */
	if (auth == NULL && qtoken != NULL)
		return check_token(r, qtoken);
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0) {
		evhttp_add_header(out, "WWW-Authenticate", "Bearer");
		api_error(r, 401, "missing credentials: send 'Authorization: "
		    "Bearer TOKEN' (create one with 'ivrd token create')");
		return -1;
	}
	auth += 7;
	while (*auth == ' ')
		auth++;
	return check_token(r, auth);
}

static int
check_token(struct api_req *r, const char *token)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);

	switch (store_token_check(r->store, token, &r->who)) {
	case STORE_OK:
		return 0;
	case STORE_NOTFOUND:
		evhttp_add_header(out, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
		api_error(r, 401, "invalid or revoked token");
		return -1;
	default:
		api_error(r, 500, "cannot check the token: store error");
		return -1;
	}
}

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "?";
	}
}

static int
route_matches(const struct api_route *route, struct api_req *r)
{
	int i;

	for (i = 0; i < API_MAX_SEGS && route->pattern[i] != NULL; i++) {
		if (i >= r->nseg)
			return 0;
		if (route->pattern[i][0] != ':' &&
		    strcmp(route->pattern[i], r->seg[i]) != 0)
			return 0;
	}
	return i == r->nseg;
}

static void
route(struct api_req *r, const struct api_route *table, size_t ntable)
{
	enum evhttp_cmd_type method = evhttp_request_get_command(r->req);
	const struct api_route *found = NULL;
	char allow[64] = "";

	for (size_t i = 0; i < ntable; i++)
		if (route_matches(&table[i], r)) {
			found = &table[i];
			break;
		}
	if (found == NULL) {
		api_error(r, 404, "no such endpoint: %s %s",
		    method_name(method), evhttp_request_get_uri(r->req));
		return;
	}
	for (int i = 0; i < 4 && found->methods[i].handler != NULL; i++) {
		if (found->methods[i].method == method ||
		    (method == EVHTTP_REQ_HEAD &&
		    found->methods[i].method == EVHTTP_REQ_GET)) {
			if ((method == EVHTTP_REQ_POST ||
			    method == EVHTTP_REQ_PUT ||
			    method == EVHTTP_REQ_PATCH) &&
			    (long)evbuffer_get_length(
			    evhttp_request_get_input_buffer(r->req)) >
			    r->api->max_body) {
				api_error(r, 413, "request body is larger than "
				    "%ld bytes (max_body_bytes)",
				    r->api->max_body);
				return;
			}
			found->methods[i].handler(r);
			return;
		}
		snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow),
		    "%s%s%s", allow[0] ? ", " : "",
		    method_name(found->methods[i].method),
		    found->methods[i].method == EVHTTP_REQ_GET ? ", HEAD" : "");
	}
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow",
	    allow);
	api_error(r, 405, "method %s is not allowed here; allowed: %s",
	    method_name(method), allow);
}

/* Splits path (after the prefix) into decoded segments; -1 if invalid. */
static int
split_path(struct api_req *r, const char *path, char **owned)
{
	const char *p = path;

	r->nseg = 0;
	while (*p != '\0') {
		const char *end;
		size_t declen;
		char *raw, *dec;

		if (*p++ != '/')
			return -1;
		if (*p == '\0')
			break;		/* one trailing slash is fine */
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (r->nseg == API_MAX_SEGS || end == p)
			return -1;
		raw = xstrndup(p, (size_t)(end - p));
		dec = evhttp_uridecode(raw, 0, &declen);
		free(raw);
		if (dec == NULL)
			fatalx("out of memory");
		owned[r->nseg] = dec;
		r->seg[r->nseg++] = dec;
		if (strlen(dec) != declen)
			return -1;	/* a %00 inside */
		p = end;
	}
	return 0;
}

static void
api_dispatch(struct evhttp_request *req, void *arg)
{
	struct api *api = arg;
	struct api_req r;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	char *owned[API_MAX_SEGS] = { NULL };
	size_t plen = strlen(API_PREFIX);
	size_t vlen = strlen(API_VOICE_PREFIX);

	memset(&r, 0, sizeof(r));
	r.req = req;
	r.api = api;
	r.store = api->store;
	r.tts = api->tts;
	r.prompts = api->prompts;
	TAILQ_INIT(&r.query);

	if (path != NULL && strncmp(path, API_VOICE_PREFIX, vlen) == 0 &&
	    (path[vlen] == '/' || path[vlen] == '\0')) {
		r.voice = 1;
		plen = vlen;
	}
	if (path == NULL || (!r.voice && (strncmp(path, API_PREFIX,
	    plen) != 0 || (path[plen] != '/' && path[plen] != '\0')))) {
		api_error(&r, 404, "no such endpoint: %s (the API lives under "
		    API_PREFIX ")", evhttp_request_get_uri(req));
		goto done;
	}
	if (split_path(&r, path + plen, owned) == -1) {
		api_error(&r, 404, "no such endpoint: %s",
		    evhttp_request_get_uri(req));
		goto done;
	}
	if (query != NULL && evhttp_parse_query_str(query, &r.query) == -1) {
		api_error(&r, 400, "malformed query string");
		goto done;
	}
	if (authenticate(&r) == -1)
		goto done;
	if (!r.voice)
		route(&r, routes, sizeof(routes) / sizeof(routes[0]));
	else if (api_voice_permitted(&r))
		route(&r, voice_routes, sizeof(voice_routes) /
		    sizeof(voice_routes[0]));
done:
	evhttp_clear_headers(&r.query);
	for (int i = 0; i < API_MAX_SEGS; i++)
		free(owned[i]);
}
