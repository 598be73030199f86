#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "agi/agi_int.h"
#include "conf.h"
#include "flow/flow.h"
#include "log.h"
#include "store/store.h"
#include "util.h"

/*
 * The listener, the cap on concurrent calls, the shared parsed flows and
 * the batching of call-record writes. The calls themselves are in
 * session.c.
 */
#define FLUSH_MS	20	/* call records reach the disk within this */

static void	agi_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	agi_flush(evutil_socket_t, short, void *);

struct agi *
agi_new(struct event_base *base, struct store *store, struct tts *tts,
    const struct conf *conf, char **err)
{
	struct agi *agi = xcalloc(1, sizeof(*agi));
	int fd;

	fd = listen_socket(conf->agi_listen, agi->address,
	    sizeof(agi->address), err);
	if (fd == -1) {
		free(agi);
		return NULL;
	}
	agi->listener = evconnlistener_new(base, agi_accept, agi,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (agi->listener == NULL) {
		xasprintf(err, "cannot serve FastAGI on %s", agi->address);
		close(fd);
		free(agi);
		return NULL;
	}
	agi->base = base;
	agi->store = store;
	agi->tts = tts;
	agi->max_calls = conf->agi_max_calls;
	agi->env_timeout_ms = conf->agi_env_timeout_ms;
	agi->command_timeout_sec = conf->agi_command_timeout_sec;
	agi->routing = strcmp(conf->routing_style, "wazo") == 0 ?
	    FLOW_ROUTING_WAZO : FLOW_ROUTING_EXEC;
	agi->dial_template = conf->dial_template[0] ?
	    xstrdup(conf->dial_template) : NULL;
	agi->recordings_dir = xstrdup(conf->recordings_dir);
	agi->ai_agent = conf->ai_agent_address[0] ?
	    xstrdup(conf->ai_agent_address) : NULL;
	TAILQ_INIT(&agi->sessions);
	agi->flush_ev = evtimer_new(base, agi_flush, agi);
	log_info("agi: listening on agi://%s (at most %ld calls)",
	    agi->address, agi->max_calls);
	return agi;
}

void
agi_free(struct agi *agi)
{
	struct agi_session *s;

	if (agi == NULL)
		return;
	evconnlistener_free(agi->listener);
	while ((s = TAILQ_FIRST(&agi->sessions)) != NULL)
		agi_session_kill(s);	/* finalises its record */
	if (agi->batch_open) {
		event_del(agi->flush_ev);
		agi_flush(-1, 0, agi);
	}
	event_free(agi->flush_ev);
	for (size_t i = 0; i < agi->nflows; i++)
		agi_flow_put(agi->flows[i]);
	free(agi->flows);
	free(agi->dial_template);
	free(agi->recordings_dir);
	free(agi->ai_agent);
	free(agi);
}

const char *
agi_address(const struct agi *agi)
{
	return agi->address;
}

json_t *
agi_status(const struct agi *agi)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "active", (json_int_t)agi->nsessions,
	    "max", (json_int_t)agi->max_calls,
	    "total", (json_int_t)agi->calls_total,
	    "busy", (json_int_t)agi->calls_busy,
	    "failed", (json_int_t)agi->calls_failed);
}

static void
agi_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	agi_session_start(arg, fd);
}

/* --- call records, in batches -------------------------------------- */

void
agi_record_batch(struct agi *agi)
{
	struct timeval tv = { 0, FLUSH_MS * 1000 };

	if (agi->batch_open)
		return;
	if (store_batch_begin(agi->store) == STORE_OK) {
		agi->batch_open = 1;
		evtimer_add(agi->flush_ev, &tv);
	}
}

static void
agi_flush(evutil_socket_t fd, short what, void *arg)
{
	struct agi *agi = arg;

	agi->batch_open = 0;
	if (store_batch_commit(agi->store) != STORE_OK)
		log_warnx("agi: call records not committed");
}

/* --- parsed flows, shared -------------------------------------------- */

void
agi_flow_put(struct agi_flow *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	flow_free(f->flow);
	json_decref(f->routes);
	free(f->doc);
	free(f->tenant);
	free(f->id);
	free(f);
}

/*
 * The stored document is read for every call (a prepared point read);
 * it is parsed again only when its text changed, so an update through
 * the API or `ivrd flow import` applies from the next call.
 */
struct agi_flow *
agi_flow_get(struct agi *agi, const char *tenant, const char *id,
    const char **why)
{
	struct store_flow sf;
	struct agi_flow *f;
	json_t *doc, *errors = NULL;
	size_t i;

	switch (store_flow_get(agi->store, tenant, id, &sf)) {
	case STORE_OK:
		break;
	case STORE_NOTFOUND:
		*why = "unknown flow";
		return NULL;
	case STORE_AMBIGUOUS:
		*why = "flow id in several tenants: add ?tenant= to the AGI URL";
		return NULL;
	default:
		*why = "store error";
		return NULL;
	}
	for (i = 0; i < agi->nflows; i++) {
		f = agi->flows[i];
		if (strcmp(f->tenant, sf.tenant) == 0 &&
		    strcmp(f->id, sf.id) == 0)
			break;
	}
	if (i < agi->nflows && strcmp(agi->flows[i]->doc, sf.doc) == 0) {
		f = agi->flows[i];
		f->refs++;
		store_flow_clear(&sf);
		return f;
	}
	doc = json_loads(sf.doc, 0, NULL);
	f = xcalloc(1, sizeof(*f));
	f->flow = doc ? flow_parse(doc, &errors) : NULL;
	json_decref(doc);
	json_decref(errors);
	if (f->flow == NULL) {
		free(f);
		store_flow_clear(&sf);
		*why = "the stored flow does not load";
		return NULL;
	}
	f->doc = sf.doc;
	f->tenant = sf.tenant;
	f->id = sf.id;
	/* Deploying changes the document (status), so routes stay fresh. */
	{
		json_t *state = store_deploy_get(agi->store, f->tenant, f->id);

		f->routes = json_incref(json_object_get(state, "routes"));
		json_decref(state);
	}
	sf.doc = sf.tenant = sf.id = NULL;
	store_flow_clear(&sf);
	f->refs = 2;	/* the cache's and the caller's */
	if (i < agi->nflows) {
		agi_flow_put(agi->flows[i]);
		agi->flows[i] = f;
	} else {
		agi->flows = xrealloc(agi->flows, (agi->nflows + 1) *
		    sizeof(*agi->flows));
		agi->flows[agi->nflows++] = f;
	}
	return f;
}
