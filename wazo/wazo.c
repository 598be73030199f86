#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "log.h"
#include "net/http_client.h"
#include "util.h"
#include "wazo/wazo.h"

/*
 * The Wazo client (shared/wazo-api.md): one base URL per service, the
 * service account's token cached and renewed on demand (one token request
 * in flight at a time, requests queued behind it), confd's {total, items}
 * walked page by page. Every outcome reaches its callback from the loop:
 * failures found before any HTTP exchange go through a zero timer, so a
 * callback never runs from inside wazo_request.
 */
#define WAZO_TOKEN_LIFETIME	3600	/* seconds asked for */
#define WAZO_RENEW_MARGIN	60	/* renew this close to expiry... */
#define WAZO_PAGE		500	/* ...or at 10% of a short life */
#define WAZO_ERROR_LEN		512

static const char *const service_name[] = { "auth", "confd", "amid" };
static const char *const service_prefix[] = {
	"/api/auth/0.1", "/api/confd/1.1", "/api/amid/1.0"
};

enum call_state { CALL_WAIT_TOKEN, CALL_SENT, CALL_FAILING };

struct wazo_call {
	LIST_ENTRY(wazo_call)	 entry;
	struct wazo		*wazo;
	uint64_t		 id;
	enum call_state		 state;
	uint64_t		 http_id;
	struct event		*fail_ev;
	char			*method;
	enum wazo_service	 service;
	char			*base;		/* the service's base URL */
	char			*path;
	char			*query;
	char			*body;		/* JSON text, or NULL */
	char			*token;		/* the caller's; NULL = account */
	char			*sent_token;	/* the account token last sent */
	int			 retried;
	int			 local;		/* the configured Wazo: /status */
	int			 is_list;
	json_t			*items;
	long			 offset;
	wazo_cb			 cb;
	void			*arg;
	/* A failure waiting for its timer. */
	long			 fail_http;
	int			 fail_api;
	char			*fail_error;
};

struct wazo {
	struct http_client	*http;
	struct event_base	*base;
	char			*url[3];	/* NULL: not configured */
	char			*display_url;
	char			*username;
	char			*password;
	char			*tenant_header;	/* "Wazo-Tenant: ..." or NULL */
	char			*ca_file;
	int			 insecure;
	long			 timeout_ms;

	char			*token;
	double			 token_renew_at;	/* monotonic seconds */
	uint64_t		 token_http_id;

	LIST_HEAD(, wazo_call)	 calls;
	uint64_t		 next_id;
	uint64_t		 probe_id;

	/* What the last requests taught us, for /status. */
	int			 checked;
	int			 available;
	char			*version;
	char			 last_error[WAZO_ERROR_LEN];
	char			 last_at[ISO8601_LEN];
};

static void	call_send(struct wazo_call *);
static void	call_need_token(struct wazo_call *);
static void	call_fail_later(struct wazo_call *, long, int, const char *);
static void	call_free(struct wazo_call *);
static void	token_start(struct wazo *);
static void	request_done(const struct http_response *, void *);

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "https://HOST" or "http://h:p/" into a service base URL (owned). */
static char *
base_from_root(const char *root, enum wazo_service service)
{
	size_t len = strlen(root);
	char *url;

	while (len > 0 && root[len - 1] == '/')
		len--;
	xasprintf(&url, "%.*s%s", (int)len, root, service_prefix[service]);
	return url;
}

static char *
base_from_host(const char *host, enum wazo_service service)
{
	char *root, *url;

	if (strncmp(host, "http://", 7) == 0 ||
	    strncmp(host, "https://", 8) == 0)
		return base_from_root(host, service);
	xasprintf(&root, "https://%s", host);
	url = base_from_root(root, service);
	free(root);
	return url;
}

static char *
strip_slash(const char *s)
{
	size_t len = strlen(s);

	while (len > 0 && s[len - 1] == '/')
		len--;
	return xstrndup(s, len);
}

struct wazo *
wazo_new(struct http_client *http, const struct conf *conf)
{
	struct wazo *w = xcalloc(1, sizeof(*w));
	const char *over[3] = { conf->wazo_auth_url, conf->wazo_confd_url,
	    conf->wazo_amid_url };

	w->http = http;
	LIST_INIT(&w->calls);
	for (int s = 0; s < 3; s++) {
		if (over[s] != NULL && over[s][0] != '\0')
			w->url[s] = strip_slash(over[s]);
		else if (conf->wazo_url != NULL && conf->wazo_url[0] != '\0')
			w->url[s] = base_from_root(conf->wazo_url, s);
	}
	if (conf->wazo_url != NULL && conf->wazo_url[0] != '\0')
		w->display_url = strip_slash(conf->wazo_url);
	else if (w->url[WAZO_CONFD] != NULL)
		w->display_url = xstrdup(w->url[WAZO_CONFD]);
	if (conf->wazo_username != NULL && conf->wazo_username[0] != '\0')
		w->username = xstrdup(conf->wazo_username);
	if (conf->wazo_password != NULL && conf->wazo_password[0] != '\0')
		w->password = xstrdup(conf->wazo_password);
	if (conf->wazo_tenant != NULL && conf->wazo_tenant[0] != '\0')
		xasprintf(&w->tenant_header, "Wazo-Tenant: %s",
		    conf->wazo_tenant);
	if (conf->wazo_ca_file != NULL && conf->wazo_ca_file[0] != '\0')
		w->ca_file = xstrdup(conf->wazo_ca_file);
	w->insecure = conf->wazo_insecure;
	w->timeout_ms = conf->wazo_timeout_ms;
	if (wazo_configured(w))
		log_info("wazo: confd at %s, service account %s%s",
		    w->url[WAZO_CONFD], w->username,
		    w->insecure ? " (TLS not verified)" : "");
	return w;
}

void
wazo_set_event_base(struct wazo *w, struct event_base *base)
{
	w->base = base;
}

void
wazo_free(struct wazo *w)
{
	struct wazo_call *c;

	if (w == NULL)
		return;
	if (w->token_http_id != 0)
		http_cancel(w->http, w->token_http_id);
	while ((c = LIST_FIRST(&w->calls)) != NULL) {
		if (c->http_id != 0)
			http_cancel(w->http, c->http_id);
		LIST_REMOVE(c, entry);
		call_free(c);
	}
	for (int s = 0; s < 3; s++)
		free(w->url[s]);
	free(w->display_url);
	free(w->username);
	free(w->password);
	free(w->tenant_header);
	free(w->ca_file);
	free(w->token);
	free(w->version);
	free(w);
}

int
wazo_configured(const struct wazo *w)
{
	return w != NULL && w->url[WAZO_CONFD] != NULL &&
	    w->username != NULL && w->password != NULL;
}

const char *
wazo_base_url(const struct wazo *w, enum wazo_service service)
{
	return w != NULL ? w->url[service] : NULL;
}

/* --- status ----------------------------------------------------------- */

static void
note(struct wazo *w, int ok, const char *error)
{
	w->checked = 1;
	w->available = ok;
	if (!ok)
		snprintf(w->last_error, sizeof(w->last_error), "%s", error);
	iso8601_utc(time(NULL), w->last_at);
}

json_t *
wazo_status(const struct wazo *w)
{
	const char *error;

	if (!wazo_configured(w))
		return json_pack("{s:b, s:n, s:s, s:s?}", "available", 0,
		    "version", "error", "not configured", "url",
		    w != NULL ? w->display_url : NULL);
	if (!w->checked)
		error = "not checked yet";
	else
		error = w->available ? NULL : w->last_error;
	return json_pack("{s:b, s:s?, s:s?, s:s?, s:s?}",
	    "available", w->checked && w->available,
	    "version", w->version,
	    "error", error,
	    "url", w->display_url,
	    "last_checked", w->checked ? w->last_at : NULL);
}

static void
probe_queues_done(const struct wazo_result *res, void *arg)
{
	struct wazo *w = arg;

	(void)res;	/* request_done has noted the outcome */
	w->probe_id = 0;
}

/*
 * confd's /infos carries wazo_version, but its ACL (confd.infos.read) is
 * not among those the service account needs: when it is refused, a
 * one-item /queues says whether confd works at all.
 */
static void
probe_infos_done(const struct wazo_result *res, void *arg)
{
	struct wazo *w = arg;
	json_t *v;

	w->probe_id = 0;
	if (res->ok) {
		v = json_object_get(res->body, "wazo_version");
		free(w->version);
		w->version = json_is_string(v) ?
		    xstrdup(json_string_value(v)) : NULL;
		return;
	}
	if (res->http_status == 401 || res->http_status == 403 ||
	    res->http_status == 404)
		w->probe_id = wazo_request(w, NULL, "GET", WAZO_CONFD,
		    "/queues", "limit=1", NULL, probe_queues_done, w);
}

void
wazo_probe(struct wazo *w)
{
	if (!wazo_configured(w) || w->probe_id != 0)
		return;
	w->probe_id = wazo_request(w, NULL, "GET", WAZO_CONFD, "/infos", NULL,
	    NULL, probe_infos_done, w);
}

/* --- requests --------------------------------------------------------- */

static struct wazo_call *
call_new(struct wazo *w, const struct wazo_target *to, const char *method,
    enum wazo_service service, const char *path, const char *query,
    wazo_cb cb, void *arg)
{
	struct wazo_call *c = xcalloc(1, sizeof(*c));

	c->wazo = w;
	c->id = ++w->next_id;
	c->method = xstrdup(method != NULL ? method : "GET");
	c->service = service;
	c->path = xstrdup(path);
	c->query = query != NULL && query[0] != '\0' ? xstrdup(query) : NULL;
	c->cb = cb;
	c->arg = arg;
	if (to != NULL && to->host != NULL && to->host[0] != '\0')
		c->base = base_from_host(to->host, service);
	else if (w->url[service] != NULL) {
		c->base = xstrdup(w->url[service]);
		c->local = 1;
	}
	if (to != NULL && to->token != NULL && to->token[0] != '\0')
		c->token = xstrdup(to->token);
	LIST_INSERT_HEAD(&w->calls, c, entry);
	return c;
}

static uint64_t
call_start(struct wazo_call *c)
{
	struct wazo *w = c->wazo;
	uint64_t id = c->id;

	if (c->base == NULL)
		call_fail_later(c, 0, 502, "Wazo is not configured (wazo_url)");
	else if (c->token != NULL)
		call_send(c);
	else if (w->username == NULL || w->password == NULL)
		call_fail_later(c, 0, 502, "no Wazo token: neither a token "
		    "nor a service account (wazo_username, wazo_password)");
	else
		call_need_token(c);
	return id;
}

uint64_t
wazo_request(struct wazo *w, const struct wazo_target *to,
    const char *method, enum wazo_service service, const char *path,
    const char *query, json_t *body, wazo_cb cb, void *arg)
{
	struct wazo_call *c;

	c = call_new(w, to, method, service, path, query, cb, arg);
	if (body != NULL && (c->body = json_dumps(body, JSON_COMPACT)) == NULL)
		fatalx("json_dumps failed");
	return call_start(c);
}

uint64_t
wazo_list(struct wazo *w, const struct wazo_target *to, const char *path,
    const char *query, wazo_cb cb, void *arg)
{
	struct wazo_call *c;

	c = call_new(w, to, "GET", WAZO_CONFD, path, query, cb, arg);
	c->is_list = 1;
	c->items = json_array();
	return call_start(c);
}

void
wazo_cancel(struct wazo *w, uint64_t id)
{
	struct wazo_call *c;

	LIST_FOREACH(c, &w->calls, entry)
		if (c->id == id) {
			if (c->http_id != 0)
				http_cancel(w->http, c->http_id);
			LIST_REMOVE(c, entry);
			call_free(c);
			return;
		}
}

/* Does not touch c->wazo: the callback may have freed it. */
static void
call_free(struct wazo_call *c)
{
	if (c->fail_ev != NULL)
		event_free(c->fail_ev);
	free(c->method);
	free(c->base);
	free(c->path);
	free(c->query);
	free(c->body);
	free(c->token);
	free(c->sent_token);
	free(c->fail_error);
	json_decref(c->items);
	free(c);
}

/* Out of the list, the callback, then free: wazo may be gone after cb. */
static void
call_finish(struct wazo_call *c, const struct wazo_result *res)
{
	LIST_REMOVE(c, entry);
	if (c->cb != NULL)
		c->cb(res, c->arg);
	call_free(c);
}

static void
fail_fire(evutil_socket_t fd, short what, void *arg)
{
	struct wazo_call *c = arg;
	struct wazo_result res = {
		.ok = 0, .http_status = c->fail_http, .error = c->fail_error,
		.api_status = c->fail_api,
	};

	(void)fd;
	(void)what;
	call_finish(c, &res);
}

static void
call_fail_later(struct wazo_call *c, long http_status, int api_status,
    const char *error)
{
	struct timeval zero = { 0, 0 };

	c->state = CALL_FAILING;
	c->http_id = 0;
	c->fail_http = http_status;
	c->fail_api = api_status;
	free(c->fail_error);
	c->fail_error = xstrdup(error);
	if (c->wazo->base == NULL) {
		/* Only without wazo_set_event_base (unit tests). */
		fail_fire(-1, 0, c);
		return;
	}
	if (c->fail_ev == NULL &&
	    (c->fail_ev = evtimer_new(c->wazo->base, fail_fire, c)) == NULL)
		fatalx("wazo: evtimer_new failed");
	evtimer_add(c->fail_ev, &zero);
}

static int
token_usable(const struct wazo *w)
{
	return w->token != NULL && now_mono() < w->token_renew_at;
}

static void
call_need_token(struct wazo_call *c)
{
	struct wazo *w = c->wazo;

	if (token_usable(w)) {
		call_send(c);
		return;
	}
	c->state = CALL_WAIT_TOKEN;
	if (w->token_http_id == 0)
		token_start(w);
}

static void
call_send(struct wazo_call *c)
{
	struct wazo *w = c->wazo;
	const char *headers[6] = { NULL };
	struct http_request req = {
		.method = c->method, .headers = headers,
		.body = c->body, .body_len = c->body ? strlen(c->body) : 0,
		.timeout_ms = w->timeout_ms, .ca_file = w->ca_file,
		.insecure = w->insecure,
	};
	char *auth, *url, *paging = NULL;
	int n = 0;

	if (c->token == NULL) {
		free(c->sent_token);
		c->sent_token = xstrdup(w->token);
	}
	xasprintf(&auth, "X-Auth-Token: %s",
	    c->token != NULL ? c->token : c->sent_token);
	headers[n++] = auth;
	headers[n++] = "Accept: application/json";
	headers[n++] = "Content-Type: application/json";
	if (c->local && w->tenant_header != NULL)
		headers[n++] = w->tenant_header;
	if (c->is_list)
		xasprintf(&paging, "limit=%d&offset=%ld", WAZO_PAGE, c->offset);
	xasprintf(&url, "%s%s%s%s%s%s", c->base, c->path,
	    c->query || paging ? "?" : "", c->query ? c->query : "",
	    c->query && paging ? "&" : "", paging ? paging : "");
	req.url = url;
	c->state = CALL_SENT;
	c->http_id = http_request(w->http, &req, request_done, c);
	if (c->http_id == 0) {
		char error[WAZO_ERROR_LEN];

		snprintf(error, sizeof(error), "Wazo unreachable: cannot "
		    "start the request to %s", url);
		call_fail_later(c, 0, 502, error);
	}
	free(paging);
	free(url);
	free(auth);
}

/* The first message of confd's array, auth's reason, or calld's message. */
static const char *
error_text(json_t *doc)
{
	json_t *v = NULL;

	if (json_is_array(doc))
		v = json_array_get(doc, 0);
	else if (json_is_object(doc)) {
		if (json_is_array(json_object_get(doc, "reason")))
			v = json_array_get(json_object_get(doc, "reason"), 0);
		else if ((v = json_object_get(doc, "message")) == NULL)
			v = json_object_get(doc, "error");
	}
	return json_is_string(v) && json_string_length(v) > 0 ?
	    json_string_value(v) : NULL;
}

/* Maps a non-2xx answer: error into buf, the API's status returned. */
static int
map_error(const struct http_response *res, enum wazo_service service,
    char *buf, size_t len)
{
	json_t *doc;
	const char *text;

	if (res->status == 0) {
		snprintf(buf, len, "Wazo unreachable: %s",
		    res->error ? res->error : "no answer");
		return 502;
	}
	if (res->status == 401) {
		/* confd's 401 text is the token itself: never echo it. */
		snprintf(buf, len, "the Wazo token was refused (401)");
		return 502;
	}
	doc = json_loadb(res->body, res->body_len, JSON_DECODE_ANY, NULL);
	text = error_text(doc);
	snprintf(buf, len, "Wazo %s: %ld%s%s", service_name[service],
	    res->status, text ? " " : "", text ? text : "");
	json_decref(doc);
	return res->status >= 400 && res->status < 500 ? (int)res->status :
	    502;
}

static int
body_empty(const struct http_response *res)
{
	for (size_t i = 0; i < res->body_len; i++)
		if (strchr(" \t\r\n", res->body[i]) == NULL)
			return 0;
	return 1;
}

static void
request_done(const struct http_response *res, void *arg)
{
	struct wazo_call *c = arg;
	struct wazo *w = c->wazo;
	struct wazo_result out = { .http_status = res->status };
	char error[WAZO_ERROR_LEN];
	json_t *doc = NULL, *items, *total;
	size_t n;

	c->http_id = 0;
	if (res->status == 401 && c->token == NULL && !c->retried) {
		/* The account's token: maybe revoked or expired early. */
		c->retried = 1;
		if (w->token != NULL && c->sent_token != NULL &&
		    strcmp(w->token, c->sent_token) == 0) {
			free(w->token);
			w->token = NULL;
		}
		call_need_token(c);
		return;
	}
	if (res->status < 200 || res->status > 299) {
		out.api_status = map_error(res, c->service, error,
		    sizeof(error));
		out.error = error;
		if (c->local) {
			if (res->status == 0 || res->status == 401 ||
			    res->status >= 500)
				note(w, 0, error);
			else
				note(w, 1, NULL);
		}
		call_finish(c, &out);
		return;
	}
	if (c->local)
		note(w, 1, NULL);
	if (res->status != 204 && !body_empty(res) &&
	    (doc = json_loadb(res->body, res->body_len, JSON_DECODE_ANY,
	    NULL)) == NULL) {
		snprintf(error, sizeof(error), "Wazo %s: %ld with a body that "
		    "is not JSON", service_name[c->service], res->status);
		out.api_status = 502;
		out.error = error;
		call_finish(c, &out);
		return;
	}
	if (!c->is_list) {
		out.ok = 1;
		out.body = doc;
		call_finish(c, &out);
		json_decref(doc);
		return;
	}
	/* {total, items}; calld's {items}; agentd's bare array. */
	items = json_is_array(doc) ? doc : json_object_get(doc, "items");
	if (!json_is_array(items)) {
		snprintf(error, sizeof(error), "Wazo %s: %ld without an items "
		    "list", service_name[c->service], res->status);
		json_decref(doc);
		out.api_status = 502;
		out.error = error;
		call_finish(c, &out);
		return;
	}
	n = json_array_size(items);
	json_array_extend(c->items, items);
	c->offset += (long)n;
	total = json_object_get(doc, "total");
	if (!json_is_array(doc) && n > 0 && (json_is_integer(total) ?
	    c->offset < json_integer_value(total) : n == WAZO_PAGE)) {
		json_decref(doc);
		if (c->token == NULL)
			call_need_token(c);
		else
			call_send(c);
		return;
	}
	json_decref(doc);
	out.ok = 1;
	out.body = c->items;
	call_finish(c, &out);
}

/* --- the service account's token ------------------------------------- */

static time_t
parse_utc(json_t *v)
{
	struct tm tm;
	const char *rest;

	if (!json_is_string(v))
		return (time_t)-1;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return (time_t)-1;
	return timegm(&tm);
}

/* Each pass changes the call's state, so the walk always restarts. */
static struct wazo_call *
first_waiting(struct wazo *w)
{
	struct wazo_call *c;

	LIST_FOREACH(c, &w->calls, entry)
		if (c->state == CALL_WAIT_TOKEN)
			return c;
	return NULL;
}

static void
fail_waiting(struct wazo *w, long http_status, const char *error)
{
	struct wazo_call *c;

	while ((c = first_waiting(w)) != NULL)
		call_fail_later(c, http_status, 502, error);
}

static void
token_done(const struct http_response *res, void *arg)
{
	struct wazo *w = arg;
	struct wazo_call *c;
	char error[WAZO_ERROR_LEN];
	json_t *doc = NULL, *data, *token;
	time_t issued, expires;
	double life = WAZO_TOKEN_LIFETIME, margin;

	w->token_http_id = 0;
	if (res->status == 200)
		doc = json_loadb(res->body, res->body_len, 0, NULL);
	data = json_object_get(doc, "data");
	token = json_object_get(data, "token");
	if (!json_is_string(token) || json_string_length(token) == 0) {
		if (res->status == 401)
			snprintf(error, sizeof(error), "Wazo refused the "
			    "service account's credentials (401)");
		else if (res->status == 200)
			snprintf(error, sizeof(error), "Wazo auth: 200 "
			    "without a token");
		else
			map_error(res, WAZO_AUTH, error, sizeof(error));
		json_decref(doc);
		log_warnx("wazo: no token: %s", error);
		note(w, 0, error);
		fail_waiting(w, res->status, error);
		return;
	}
	free(w->token);
	w->token = xstrdup(json_string_value(token));
	/* Its life by the server's clock, counted on ours. */
	issued = parse_utc(json_object_get(data, "utc_issued_at"));
	expires = parse_utc(json_object_get(data, "utc_expires_at"));
	if (issued != (time_t)-1 && expires != (time_t)-1 && expires > issued)
		life = (double)(expires - issued);
	margin = life / 10 < WAZO_RENEW_MARGIN ? life / 10 : WAZO_RENEW_MARGIN;
	w->token_renew_at = now_mono() + life - margin;
	json_decref(doc);
	log_debug("wazo: new token, %.0f s", life);
	while ((c = first_waiting(w)) != NULL)
		call_send(c);
}

static void
token_start(struct wazo *w)
{
	static const char *const headers[] = {
		"Content-Type: application/json", "Accept: application/json",
		NULL
	};
	char body[64], *url;
	struct http_request req = {
		.method = "POST", .headers = headers, .body = body,
		.timeout_ms = w->timeout_ms, .user = w->username,
		.password = w->password, .ca_file = w->ca_file,
		.insecure = w->insecure,
	};

	if (w->url[WAZO_AUTH] == NULL) {
		fail_waiting(w, 0, "Wazo is not configured: no auth URL "
		    "(wazo_url or wazo_auth_url)");
		return;
	}
	/* wazo-auth reads the body with force=True: always send one. */
	snprintf(body, sizeof(body), "{\"expiration\": %d}",
	    WAZO_TOKEN_LIFETIME);
	req.body_len = strlen(body);
	xasprintf(&url, "%s/token", w->url[WAZO_AUTH]);
	req.url = url;
	w->token_http_id = http_request(w->http, &req, token_done, w);
	if (w->token_http_id == 0)
		fail_waiting(w, 0, "Wazo unreachable: cannot start the token "
		    "request");
	free(url);
}

/* --- confd's shapes as the seed shows them ---------------------------- */

/* An options pair's value, or NULL. */
static const char *
queue_option(json_t *queue, const char *name)
{
	json_t *pair;
	size_t i;

	json_array_foreach(json_object_get(queue, "options"), i, pair) {
		json_t *k = json_array_get(pair, 0), *v = json_array_get(pair, 1);

		if (json_is_string(k) && json_is_string(v) &&
		    strcmp(json_string_value(k), name) == 0)
			return json_string_value(v);
	}
	return NULL;
}

/* "5" as 5; anything not a plain integer stays a string. */
static json_t *
option_value(const char *s, long fallback)
{
	char *end;
	long n;

	if (s == NULL)
		return json_integer(fallback);
	n = strtol(s, &end, 10);
	if (end != s && *end == '\0')
		return json_integer(n);
	return json_string(s);
}

static json_t *
copy_or(json_t *v, json_t *fallback)
{
	if (v == NULL || json_is_null(v))
		return fallback;
	json_decref(fallback);
	return json_deep_copy(v);
}

json_t *
wazo_map_queues(json_t *items)
{
	json_t *out = json_object(), *q, *ext, *m;
	const char *strategy;
	size_t i;

	json_array_foreach(items, i, q) {
		if (!json_is_string(json_object_get(q, "name")))
			continue;
		ext = json_array_get(json_object_get(q, "extensions"), 0);
		strategy = queue_option(q, "strategy");
		m = json_object();
		json_object_set_new(m, "id",
		    copy_or(json_object_get(q, "id"), json_null()));
		json_object_set(m, "name", json_object_get(q, "name"));
		json_object_set_new(m, "context",
		    copy_or(json_object_get(ext, "context"), json_null()));
		json_object_set_new(m, "number",
		    copy_or(json_object_get(ext, "exten"), json_null()));
		json_object_set_new(m, "strategy",
		    json_string(strategy ? strategy : "ringall"));
		json_object_set_new(m, "timeout",
		    copy_or(json_object_get(q, "timeout"), json_null()));
		json_object_set_new(m, "retry",
		    option_value(queue_option(q, "retry"), 5));
		json_object_set_new(m, "music_on_hold",
		    copy_or(json_object_get(q, "music_on_hold"), json_null()));
		json_object_set_new(m, "service_level",
		    option_value(queue_option(q, "servicelevel"), 0));
		json_object_set_new(out, json_string_value(
		    json_object_get(q, "name")), m);
	}
	return out;
}

/*
 * confd's agents have no context, timezone or enabled (wazo-api.md 3.3):
 * the seed's values stand in ("default", "UTC", true), and a missing
 * language is the seed's "en_US".
 */
json_t *
wazo_map_agents(json_t *items)
{
	json_t *out = json_object(), *a, *m;
	size_t i;

	json_array_foreach(items, i, a) {
		if (!json_is_string(json_object_get(a, "number")))
			continue;
		m = json_object();
		json_object_set_new(m, "id",
		    copy_or(json_object_get(a, "id"), json_null()));
		json_object_set(m, "number", json_object_get(a, "number"));
		json_object_set_new(m, "firstname",
		    copy_or(json_object_get(a, "firstname"), json_string("")));
		json_object_set_new(m, "lastname",
		    copy_or(json_object_get(a, "lastname"), json_string("")));
		json_object_set_new(m, "context", json_string("default"));
		json_object_set_new(m, "language",
		    copy_or(json_object_get(a, "language"),
		    json_string("en_US")));
		json_object_set_new(m, "timezone", json_string("UTC"));
		json_object_set_new(m, "enabled", json_true());
		json_object_set_new(out, json_string_value(
		    json_object_get(a, "number")), m);
	}
	return out;
}
