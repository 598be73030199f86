#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "agi/agi_int.h"
#include "agi/codec.h"
#include "flow/flow.h"
#include "log.h"
#include "store/store.h"
#include "tts/tts.h"
#include "util.h"

/*
 * One call. Asterisk sends its agi_* block; then the session asks the
 * interpreter for a command, sends it, waits for its one reply, and turns
 * the reply into the next event: strictly one command in flight, with no
 * gap for slow work (prompts come from the TTS cache). Whatever happens —
 * an unknown flow, garbage, a silent peer, a hang-up at any step — the
 * call ends cleanly: IVR_STATUS set and control handed back, or the
 * socket closed, and the call record finalised.
 */
enum sess_state {
	S_ENV,		/* reading the agi_* block */
	S_RUN,		/* the interpreter drives */
	S_TTS,		/* a prompt is still rendering */
	S_HANDBACK,	/* setting IVR_STATUS (FAILED, BUSY), then close */
	S_LOOKUP,	/* no flow in the URL: asking the dialed number */
	S_SCRIPT,	/* a number's mode, or a live transfer: ivrd drives */
};

/* The commands ivrd runs itself: a number's mode, a live transfer. */
enum script_phase {
	P_ANSWER,	/* AI: answer first */
	P_AUDIOSOCKET,	/* AI: the agent has the call until it returns */
	P_MSET,		/* IVR_* before a hand-over */
	P_UNHANG,	/* SET AUTOHANGUP 0 */
	P_ROUTE,	/* Queue (human) or Dial (transfer) */
	P_END,
};

struct agi_session {
	TAILQ_ENTRY(agi_session) entry;
	struct agi		*agi;
	struct bufferevent	*bev;
	enum sess_state		 state;
	uint64_t		 id;
	char			 uuid[37];

	struct agi_env		*env;		/* until the call starts */
	struct agi_reply_parser	*replies;
	struct agi_flow		*flow;
	struct flow_call	*call;
	struct event		*timer;		/* env / silent peer */
	struct event		*deadline;	/* max_call_duration */
	uint64_t		 tts_id;
	int			 in_flight;	/* a command awaits its reply */
	int			 cmd_unbounded;	/* it is a routing EXEC */
	enum flow_cmd_type	 cmd;		/* which */
	int			 discard;	/* replies to drop */
	const char		*escape;	/* of the PLAY awaiting TTS */
	int			 in_cb;		/* our callbacks on the stack */
	int			 dead;		/* free when in_cb drops to 0 */

	/* Reached by number, or transferred: ivrd runs a short script. */
	enum script_phase	 phase;
	int			 is_ai, handoff, ai_handled;
	char			*number_uuid;
	char			*human_target;	/* the number's queue */
	char			*route_app;	/* Queue or Dial */
	char			*route_args;
	char			*route_outcome;	/* "queue:sales_q" */
	char			*mset;		/* IVR_* for MSet */
	const char		*sc_status;	/* ringing ... completed */
	char			*sc_outcome;
	json_t			*extra;		/* timeline entries of our own */
	char			*xfer_pending;	/* a transfer waits for a reply */
	char			*wazo_dstnum, *xivo_exten;
	int			 lookup_step;

	/* The hand-back path: IVR_STATUS, then IVR_ERROR, then close. */
	const char		*status;
	char			*error;
	int			 handback_step;

	/* The call record. */
	struct timespec		 t0;		/* monotonic */
	char			 started_at[ISO8601_MS_LEN];
	char			 answered_at[ISO8601_MS_LEN];
	char			*uniqueid, *from, *to, *tenant, *flow_id;
	char			*channel;	/* for a Redirect */
	const char		*rec_status, *rec_outcome;	/* last written */
};

static void	read_cb(struct bufferevent *, void *);
static void	event_cb(struct bufferevent *, short, void *);
static void	timer_cb(evutil_socket_t, short, void *);
static void	deadline_cb(evutil_socket_t, short, void *);
static void	step(struct agi_session *, enum flow_event_type, char, int);
static void	finish(struct agi_session *);
static void	handback(struct agi_session *, const char *, const char *);
static void	session_free(struct agi_session *);
static void	hung_up(struct agi_session *);
static void	script_next(struct agi_session *, const struct agi_reply *);
static void	start_transfer(struct agi_session *, const char *);
static void	start_lookup(struct agi_session *);
static void	send_line(struct agi_session *, const struct agi_cmd *, int);
static void	start_script(struct agi_session *, enum script_phase);
static void	ai_failed(struct agi_session *, const char *);
static void	lookup_reply(struct agi_session *, const struct agi_reply *);

/* Around every callback: a session ended inside is freed on the way out. */
#define ENTER(s)	((s)->in_cb++)
#define LEAVE(s)	do {						\
	if (--(s)->in_cb == 0 && (s)->dead)				\
		session_free(s);					\
} while (0)

static int64_t
elapsed_ms(const struct agi_session *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - s->t0.tv_sec) * 1000 +
	    (now.tv_nsec - s->t0.tv_nsec) / 1000000;
}

static void
wall_ms(char buf[ISO8601_MS_LEN])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	iso8601_utc_ms(&ts, buf);
}

static void
arm_timer(struct agi_session *s, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(s->timer, &tv);
}

void
agi_session_start(struct agi *agi, int fd)
{
	struct agi_session *s = xcalloc(1, sizeof(*s));

	s->agi = agi;
	s->id = ++agi->next_id;
	uuid_v4(s->uuid);
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	wall_ms(s->started_at);
	s->bev = bufferevent_socket_new(agi->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		free(s);
		return;
	}
	s->env = agi_env_new();
	s->replies = agi_reply_parser_new();
	s->timer = evtimer_new(agi->base, timer_cb, s);
	TAILQ_INSERT_TAIL(&agi->sessions, s, entry);
	agi->nsessions++;
	agi->calls_total++;
	/* A line is never longer than what the codec accepts, plus slack. */
	bufferevent_setwatermark(s->bev, EV_READ, 0, AGI_REPLY_LINE_MAX + 2);
	bufferevent_setcb(s->bev, read_cb, NULL, event_cb, s);
	bufferevent_enable(s->bev, EV_READ);
	arm_timer(s, agi->env_timeout_ms);
	if (agi->nsessions > agi->max_calls) {
		agi->calls_busy++;
		s->status = "BUSY";
		log_warnx("agi: call %.8s: %ld calls in progress, the cap: "
		    "handed back with IVR_STATUS=BUSY", s->uuid,
		    agi->nsessions - 1);
	}
}

/* --- the call record --------------------------------------------------- */

/* Status and outcome: the interpreter's, or the script's. */
static const char *
call_status(const struct agi_session *s)
{
	return s->call != NULL && s->sc_status == NULL ?
	    flow_call_status(s->call) : s->sc_status;
}

static const char *
call_outcome(const struct agi_session *s)
{
	return s->call != NULL && s->sc_outcome == NULL ?
	    flow_call_outcome(s->call) : s->sc_outcome;
}

/* A timeline entry of the session's own (mode, transfer, hang-up). */
static void
note(struct agi_session *s, json_t *entry)
{
	if (s->extra == NULL)
		s->extra = json_array();
	json_object_set_new(entry, "at_ms", json_integer(elapsed_ms(s)));
	json_array_append_new(s->extra, entry);
}

static void
write_record(struct agi_session *s, int final)
{
	struct store_call rec;
	char ended[ISO8601_MS_LEN], *timeline = NULL;
	const char *status = call_status(s), *outcome = call_outcome(s);
	json_t *tl;

	memset(&rec, 0, sizeof(rec));
	rec.id = s->uuid;
	rec.uniqueid = s->uniqueid;
	rec.tenant = s->tenant;
	rec.flow_id = s->flow_id;
	rec.phone_number_uuid = s->number_uuid;
	rec.from_number = s->from;
	rec.to_number = s->to;
	rec.started_at = s->started_at;
	rec.answered_at = s->answered_at[0] ? s->answered_at : NULL;
	rec.duration_ms = -1;
	rec.ai_handled = s->ai_handled;
	if (s->call != NULL) {
		rec.language = (char *)(uintptr_t)flow_call_language(s->call);
		rec.recording_path =
		    (char *)(uintptr_t)flow_call_recording(s->call);
	}
	if (final) {
		wall_ms(ended);
		rec.ended_at = ended;
		rec.duration_ms = elapsed_ms(s);
		if (strcmp(status, "ringing") == 0 ||
		    strcmp(status, "in-progress") == 0)
			status = "completed";
		if (outcome == NULL)
			outcome = "abandoned";
	}
	rec.status = (char *)(uintptr_t)status;
	rec.outcome = (char *)(uintptr_t)outcome;
	tl = s->call != NULL ? flow_call_timeline(s->call, 0) : json_array();
	if (s->extra != NULL)
		json_array_extend(tl, s->extra);
	timeline = json_dumps(tl, JSON_COMPACT);
	json_decref(tl);
	rec.timeline = timeline;
	agi_record_batch(s->agi);
	if (store_call_put(s->agi->store, &rec) != STORE_OK)
		log_warnx("agi: call %.8s: record not written", s->uuid);
	free(timeline);
	s->rec_status = call_status(s);
	s->rec_outcome = call_outcome(s);
}

/* Written again whenever the status or the outcome moved. */
static void
maybe_record(struct agi_session *s)
{
	const char *status = call_status(s);
	const char *outcome = call_outcome(s);

	if (status != s->rec_status || outcome != s->rec_outcome) {
		if (strcmp(status, "in-progress") == 0 && !s->answered_at[0])
			wall_ms(s->answered_at);
		write_record(s, 0);
	}
}

/* --- starting the call ---------------------------------------------------- */

static char *
dup_or_null(const char *v)
{
	return v && v[0] && strcmp(v, "unknown") != 0 ? xstrdup(v) : NULL;
}

/* The call's own facts, kept; the rest of the agi_* block is let go. */
static void
take_env(struct agi_session *s, const char *tenant)
{
	s->uniqueid = dup_or_null(agi_env_uniqueid(s->env));
	s->channel = dup_or_null(agi_env_channel(s->env));
	s->from = dup_or_null(agi_env_callerid(s->env));
	s->to = dup_or_null(agi_env_dialed_number(s->env, s->wazo_dstnum,
	    s->xivo_exten));
	s->tenant = xstrdup(tenant);
}

/* routing_style wazo: a queue's Wazo extension, as deploy resolved it. */
static int
queue_route(const char *name, const char **context, const char **extension,
    void *arg)
{
	const struct agi_flow *f = arg;
	json_t *r = json_object_get(f->routes, name);

	*context = json_string_value(json_object_get(r, "context"));
	*extension = json_string_value(json_object_get(r, "number"));
	return *context != NULL && *extension != NULL ? 0 : -1;
}

static void
start_flow(struct agi_session *s, const char *tenant, const char *id)
{
	struct agi *agi = s->agi;
	struct flow_call_opts opts;
	struct timeval tv;
	const char *why = NULL;

	if ((s->flow = agi_flow_get(agi, tenant, id, &why)) == NULL) {
		char *msg;

		xasprintf(&msg, "%s: %s", why, id);
		handback(s, "FAILED", msg);
		free(msg);
		return;
	}
	memset(&opts, 0, sizeof(opts));
	opts.uniqueid = agi_env_uniqueid(s->env);
	opts.lang = agi_env_query_lang(s->env);
	opts.channel_language = agi_env_language(s->env);
	opts.recordings_dir = agi->recordings_dir;
	opts.dial_template = agi->dial_template;
	opts.routing = agi->routing;
	opts.queue_lookup = queue_route;
	opts.queue_lookup_arg = s->flow;
	s->call = flow_call_new(s->flow->flow, &opts);
	take_env(s, s->flow->tenant);
	s->flow_id = xstrdup(s->flow->id);
	agi_env_free(s->env);		/* a held call keeps no more than it needs */
	s->env = NULL;
	log_debug("agi: call %.8s: flow %s/%s, uniqueid %s", s->uuid,
	    s->tenant, s->flow_id, s->uniqueid ? s->uniqueid : "-");
	write_record(s, 0);

	/* The engine keeps max_call_duration; AUTOHANGUP is the backstop. */
	tv.tv_sec = flow_max_call_duration(s->flow->flow);
	tv.tv_usec = 0;
	s->deadline = evtimer_new(agi->base, deadline_cb, s);
	evtimer_add(s->deadline, &tv);
	s->state = S_RUN;
	step(s, FLOW_EV_START, 0, 0);
}

static void
begin_call(struct agi_session *s)
{
	const char *id = agi_env_flow_id(s->env);
	const char *tenant = agi_env_query_tenant(s->env);

	if (s->status != NULL) {		/* over the cap */
		handback(s, "BUSY", NULL);
		return;
	}
	if (id == NULL) {
		/* No flow in the URL: the dialed number decides. */
		start_lookup(s);
		return;
	}
	if (!safe_id(id, FLOW_ID_MAX)) {
		handback(s, "FAILED", "the flow id in the AGI URL is not valid");
		return;
	}
	if (tenant != NULL && !safe_id(tenant, FLOW_ID_MAX)) {
		handback(s, "FAILED", "the tenant in the AGI URL is not valid");
		return;
	}
	start_flow(s, tenant, id);
}

/* --- reached by number: the number's call-handling mode --------------- */

static void
send_cmd(struct agi_session *s, struct agi_cmd *c, int rc, int unbounded)
{
	if (rc == -1) {
		log_warnx("agi: call %.8s: command refused: %s", s->uuid,
		    c->error);
		finish(s);
		return;
	}
	send_line(s, c, unbounded);
}

/* GET VARIABLE WAZO_DSTNUM, then XIVO_BASE_EXTEN: where Wazo keeps the DID. */
static void
start_lookup(struct agi_session *s)
{
	struct agi_cmd c;

	s->state = S_LOOKUP;
	s->lookup_step = 0;
	send_cmd(s, &c, agi_cmd_get_variable(&c, "WAZO_DSTNUM"), 0);
}

static void
start_script(struct agi_session *s, enum script_phase first)
{
	s->state = S_SCRIPT;
	s->phase = first;
	script_next(s, NULL);
}

/* The IVR_* variables a hand-over sets, for one EXEC MSet. */
static void
set_mset(struct agi_session *s, const char *action, const char *target)
{
	free(s->mset);
	xasprintf(&s->mset, "IVR_FLOW=%s,IVR_LANGUAGE=%s,IVR_PATH=%s,"
	    "IVR_DIGITS=%s,IVR_ACTION=%s,IVR_TARGET=%s,IVR_STATUS=ROUTED",
	    s->flow_id ? s->flow_id : "",
	    s->call && flow_call_language(s->call) ?
	    flow_call_language(s->call) : "",
	    s->call && flow_call_path(s->call) ? flow_call_path(s->call) : "",
	    s->call && flow_call_digits(s->call) ? flow_call_digits(s->call) :
	    "", action, target);
}

static void
route_to_human(struct agi_session *s)
{
	free(s->route_app);
	free(s->route_args);
	free(s->route_outcome);
	s->route_app = xstrdup("Queue");
	xasprintf(&s->route_args, "%s,,,,", s->human_target);
	xasprintf(&s->route_outcome, "queue:%s", s->human_target);
	set_mset(s, "queue", s->human_target);
	note(s, json_pack("{s:s, s:s, s:s}", "event", "routed", "action",
	    "queue", "target", s->human_target));
}

/* The AI agent failed or is not there: a human takes the call. */
static void
ai_failed(struct agi_session *s, const char *why)
{
	log_warnx("agi: call %.8s: AI agent: %s", s->uuid, why);
	note(s, json_pack("{s:s, s:s}", "event", "ai_failed", "error", why));
	if (s->human_target == NULL) {
		s->sc_status = "failed";
		free(s->sc_outcome);
		s->sc_outcome = xstrdup("failed");
		maybe_record(s);
		handback(s, "FAILED", why);
		return;
	}
	route_to_human(s);
	s->phase = P_MSET;
	script_next(s, NULL);
}

static void
resolve_number(struct agi_session *s)
{
	const char *dialed = agi_env_dialed_number(s->env, s->wazo_dstnum,
	    s->xivo_exten);
	struct store_number n;
	const char *mode;
	char *msg;

	memset(&n, 0, sizeof(n));
	if (dialed == NULL) {
		handback(s, "FAILED", "no flow in the AGI URL and no dialed "
		    "number");
		return;
	}
	if (store_number_by_phone(s->agi->store, dialed, &n) != STORE_OK) {
		xasprintf(&msg, "no flow in the AGI URL and no phone number "
		    "%s", dialed);
		handback(s, "FAILED", msg);
		free(msg);
		return;
	}
	mode = n.call_handling_mode ? n.call_handling_mode : "ivr_menu";
	if (!store_tenant_voice_enabled(s->agi->store, n.tenant)) {
		xasprintf(&msg, "voice is not enabled for tenant %s", n.tenant);
		handback(s, "FAILED", msg);
	} else if (n.status != NULL && strcmp(n.status, "active") != 0) {
		xasprintf(&msg, "phone number %s is %s", n.phone_number,
		    n.status);
		handback(s, "FAILED", msg);
	} else if (strcmp(mode, "ivr_menu") == 0) {
		msg = NULL;
		if (n.flow_id == NULL)
			handback(s, "FAILED", "the number has no IVR menu");
		else {
			s->number_uuid = xstrdup(n.uuid);
			s->human_target = n.human_target ?
			    xstrdup(n.human_target) : NULL;
			start_flow(s, n.tenant, n.flow_id);
		}
	} else {
		msg = NULL;
		s->number_uuid = xstrdup(n.uuid);
		s->human_target = n.human_target ? xstrdup(n.human_target) :
		    NULL;
		take_env(s, n.tenant);
		agi_env_free(s->env);
		s->env = NULL;
		s->sc_status = "ringing";
		write_record(s, 0);
		log_debug("agi: call %.8s: number %s, %s", s->uuid,
		    n.phone_number, mode);
		if (strcmp(mode, "human_only") == 0) {
			if (s->human_target == NULL)
				ai_failed(s, "human_only without human_target");
			else {
				route_to_human(s);
				start_script(s, P_MSET);
			}
		} else {
			s->is_ai = 1;
			s->handoff = strcmp(mode, "ai_with_handoff") == 0;
			if (s->agi->ai_agent == NULL) {
				s->state = S_SCRIPT;
				ai_failed(s, "no AI agent configured "
				    "(ai_agent_address)");
			} else
				start_script(s, P_ANSWER);
		}
	}
	free(msg);
	store_number_clear(&n);
}

static void
lookup_reply(struct agi_session *s, const struct agi_reply *r)
{
	struct agi_cmd c;
	char **slot = s->lookup_step == 0 ? &s->wazo_dstnum : &s->xivo_exten;

	s->in_flight = 0;
	evtimer_del(s->timer);
	if (r->code == 200 && r->is_number && r->value == 1 && r->data != NULL)
		*slot = xstrdup(r->data);
	if (s->lookup_step++ == 0 && s->wazo_dstnum == NULL) {
		send_cmd(s, &c, agi_cmd_get_variable(&c, "XIVO_BASE_EXTEN"), 0);
		return;
	}
	resolve_number(s);
}

/*
 * One command of the script at a time: AI (ANSWER, AudioSocket), then a
 * hand-over (MSet, AUTOHANGUP 0, Queue or Dial), then the end.
 */
static void
script_next(struct agi_session *s, const struct agi_reply *r)
{
	struct agi_cmd c;
	char *arg;
	long v = r && r->is_number ? (long)r->value : 0;

	switch (s->phase) {
	case P_ANSWER:
		s->phase = P_AUDIOSOCKET;
		send_cmd(s, &c, agi_cmd_answer(&c), 0);
		return;
	case P_AUDIOSOCKET:
		if (r != NULL && v < 0) {
			ai_failed(s, "the call could not be answered");
			return;
		}
		s->sc_status = "in-progress";
		s->ai_handled = 1;
		free(s->sc_outcome);
		s->sc_outcome = xstrdup("ai");
		note(s, json_pack("{s:s, s:s}", "event", "ai", "agent",
		    s->agi->ai_agent));
		maybe_record(s);
		s->phase = P_END;
		xasprintf(&arg, "%s,%s", s->uuid, s->agi->ai_agent);
		send_cmd(s, &c, agi_cmd_exec(&c, "AudioSocket", arg), 1);
		free(arg);
		s->phase = P_MSET;	/* what follows AudioSocket's return */
		s->route_app = NULL;
		return;
	case P_MSET:
		if (s->is_ai && s->route_app == NULL) {
			/* AudioSocket returned. */
			if (r != NULL && v == -1) {
				hung_up(s);
				return;
			}
			if (r != NULL && v < -1) {
				ai_failed(s, "AudioSocket is not available in "
				    "this Asterisk");
				return;
			}
			if (!s->handoff || s->human_target == NULL) {
				s->phase = P_END;
				script_next(s, NULL);
				return;
			}
			note(s, json_pack("{s:s, s:s}", "event", "handoff",
			    "target", s->human_target));
			route_to_human(s);
		}
		s->phase = P_UNHANG;
		send_cmd(s, &c, agi_cmd_exec(&c, "MSet", s->mset), 0);
		return;
	case P_UNHANG:
		s->phase = P_ROUTE;
		send_cmd(s, &c, agi_cmd_set_autohangup(&c, 0), 0);
		return;
	case P_ROUTE:
		s->phase = P_END;
		free(s->sc_outcome);
		s->sc_outcome = xstrdup(s->route_outcome);
		s->sc_status = "in-progress";
		maybe_record(s);
		send_cmd(s, &c, agi_cmd_exec(&c, s->route_app, s->route_args),
		    1);
		return;
	case P_END:
		if (r != NULL && v == -1) {
			hung_up(s);
			return;
		}
		s->sc_status = "completed";
		finish(s);
		return;
	}
}

/* --- live transfer ------------------------------------------------------- */

/* The dial template with every "%s" the target and "%%" a "%". */
static char *
expand_template(const char *tmpl, const char *target)
{
	size_t cap = strlen(tmpl) + 8 * strlen(target) + 1, n = 0;
	char *out = xmalloc(cap);

	for (const char *p = tmpl; *p != '\0' && n + 1 < cap; p++) {
		if (p[0] == '%' && p[1] == 's' &&
		    n + strlen(target) + 1 < cap) {
			memcpy(out + n, target, strlen(target));
			n += strlen(target);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[n++] = '%';
			p++;
		} else
			out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

static void
start_transfer(struct agi_session *s, const char *target)
{
	struct agi *agi = s->agi;
	char *dial;

	evtimer_del(s->timer);
	if (s->state == S_TTS) {
		tts_cancel(agi->tts, s->tts_id);
		s->tts_id = 0;
	}
	free(s->route_app);
	free(s->route_args);
	free(s->route_outcome);
	s->route_app = xstrdup("Dial");
	dial = expand_template(agi->dial_template, target);
	xasprintf(&s->route_args, "%s,30", dial);
	free(dial);
	xasprintf(&s->route_outcome, "transfer:%s", target);
	s->sc_status = call_status(s);
	set_mset(s, "transfer", target);
	note(s, json_pack("{s:s, s:s, s:s}", "event", "transferred", "target",
	    target, "by", "api"));
	log_info("agi: call %.8s: transferred to %s through the API", s->uuid,
	    target);
	start_script(s, P_MSET);
}

static int
safe_target(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 80)
		return 0;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		    (*t >= '0' && *t <= '9') || strchr("+*#@._-/:", *t)))
			return 0;
	return 1;
}

static struct agi_session *
find_session(struct agi *agi, const char *call_uuid, const char *tenant)
{
	struct agi_session *s;

	TAILQ_FOREACH(s, &agi->sessions, entry)
		if (!s->dead && strcmp(s->uuid, call_uuid) == 0)
			return tenant == NULL || (s->tenant != NULL &&
			    strcmp(s->tenant, tenant) == 0) ? s : NULL;
	return NULL;
}

/* Handed over: blocked in a routing EXEC (Queue, Dial, AudioSocket). */
static int
handed_over(const struct agi_session *s)
{
	if (s->state == S_SCRIPT)
		return s->in_flight && s->cmd_unbounded;
	return s->state == S_RUN && s->call != NULL &&
	    flow_call_outcome(s->call) != NULL && s->in_flight &&
	    s->cmd_unbounded;
}

void
agi_note_redirect(struct agi *agi, const char *call_uuid, const char *target)
{
	struct agi_session *s = find_session(agi, call_uuid, NULL);

	if (s == NULL)
		return;
	note(s, json_pack("{s:s, s:s, s:s, s:s}", "event", "transferred",
	    "target", target, "by", "api", "via", "redirect"));
	free(s->sc_outcome);
	xasprintf(&s->sc_outcome, "transfer:%s", target);
	s->sc_status = "in-progress";
	maybe_record(s);
	log_info("agi: call %.8s: redirected to %s through Wazo", s->uuid,
	    target);
}

enum agi_transfer_res
agi_transfer(struct agi *agi, const char *call_uuid, const char *tenant,
    const char *target, char **channel)
{
	struct agi_session *s;

	*channel = NULL;
	if (!safe_target(target))
		return AGI_TRANSFER_BAD;
	if ((s = find_session(agi, call_uuid, tenant)) == NULL)
		return AGI_TRANSFER_NOTLIVE;
	if (handed_over(s)) {
		if (s->channel == NULL)
			return AGI_TRANSFER_NOTLIVE;
		*channel = xstrdup(s->channel);
		return AGI_TRANSFER_HANDED_OVER;
	}
	if (agi->dial_template == NULL)
		return AGI_TRANSFER_BAD;
	{
		/* Only a call still in the IVR is moved from here. */
		if ((s->state != S_RUN && s->state != S_TTS) ||
		    s->call == NULL || flow_call_outcome(s->call) != NULL ||
		    s->xfer_pending != NULL)
			return AGI_TRANSFER_NOTLIVE;
		s->sc_status = "in-progress";
		if (!s->in_flight || s->state == S_TTS)
			start_transfer(s, target);
		else if (s->cmd == FLOW_CMD_PLAY) {
			/* New bytes stop STREAM FILE: it will not answer. */
			s->in_flight = 0;
			start_transfer(s, target);
		} else if (s->cmd == FLOW_CMD_WAIT_DIGIT) {
			/* WAIT FOR DIGIT answers "200 result=1": dropped. */
			s->in_flight = 0;
			s->discard++;
			start_transfer(s, target);
		} else
			s->xfer_pending = xstrdup(target);
		return AGI_TRANSFER_OK;
	}
}

/* --- hang-ups ------------------------------------------------------------ */

/* The caller is gone (or the peer is): whoever drives ends the call. */
static void
hung_up(struct agi_session *s)
{
	if (s->dead)
		return;
	if (s->call != NULL && s->state != S_SCRIPT &&
	    s->state != S_HANDBACK && !flow_call_done(s->call)) {
		step(s, FLOW_EV_HANGUP, 0, 0);	/* answers END: finishes */
		return;
	}
	if (s->state == S_SCRIPT) {
		note(s, json_pack("{s:s, s:s}", "event", "hangup", "by",
		    "caller"));
		if (s->sc_outcome == NULL)
			s->sc_outcome = xstrdup("abandoned");
		s->sc_status = "completed";
	}
	finish(s);
}

/* --- commands out ---------------------------------------------------------- */

static void
send_line(struct agi_session *s, const struct agi_cmd *c, int unbounded)
{
	bufferevent_write(s->bev, c->line, c->len);
	s->in_flight = 1;
	s->cmd_unbounded = unbounded;
	/* Queue, Dial...: as long as the call lasts; others: bounded. */
	if (unbounded)
		evtimer_del(s->timer);
	else
		arm_timer(s, s->agi->command_timeout_sec * 1000);
}

/* Applications that hold the call for as long as it lasts. */
static int
routing_app(const char *app)
{
	return strcmp(app, "MSet") != 0 && strcmp(app, "MixMonitor") != 0;
}

static void
stream(struct agi_session *s, const char *path, const char *escape)
{
	struct agi_cmd c;

	if (agi_cmd_stream_file(&c, path, escape, 0) == -1) {
		step(s, FLOW_EV_PLAYED, 0, 1);
		return;
	}
	send_line(s, &c, 0);
}

static void
rendered(uint64_t id, int ok, const char *path, int fallback,
    const char *error, void *arg)
{
	struct agi_session *s = arg;

	ENTER(s);
	s->tts_id = 0;
	s->state = S_RUN;
	if (ok)
		stream(s, path, s->escape);
	else {
		log_warnx("agi: call %.8s: prompt skipped: %s", s->uuid, error);
		step(s, FLOW_EV_PLAYED, 0, 1);
	}
	LEAVE(s);
}

static void
play(struct agi_session *s, const struct flow_play *p)
{
	struct tts_prompt tp = { p->backend, p->voice, p->language, p->text };
	char path[TTS_PATH_MAX];

	if (tts_lookup(s->agi->tts, &tp, path)) {
		stream(s, path, p->escape);
		return;
	}
	/*
	 * Not rendered yet (a flow saved a moment ago): wait for it, other
	 * calls go on. The command stays the interpreter's until PLAYED.
	 */
	s->state = S_TTS;
	s->escape = p->escape;
	s->tts_id = tts_render(s->agi->tts, &tp, rendered, s);
}

static void
run(struct agi_session *s, const struct flow_cmd *cmd)
{
	struct agi_cmd c;
	int rc = -1;

	c.len = 0;
	c.error = "unknown command";
	if (s->in_flight) {
		/*
		 * Only DEADLINE's HANGUP replaces a command in flight: send
		 * it at once (it cuts a prompt short) and drop the old reply.
		 */
		s->discard++;
		s->in_flight = 0;
	}
	s->cmd = cmd->type;
	switch (cmd->type) {
	case FLOW_CMD_ANSWER:
		rc = agi_cmd_answer(&c);
		break;
	case FLOW_CMD_AUTOHANGUP:
		rc = agi_cmd_set_autohangup(&c, cmd->seconds);
		break;
	case FLOW_CMD_PLAY:
		play(s, &cmd->play);
		return;
	case FLOW_CMD_WAIT_DIGIT:
		rc = agi_cmd_wait_for_digit(&c, cmd->timeout_ms);
		break;
	case FLOW_CMD_SET_VAR:
		rc = agi_cmd_set_variable(&c, cmd->name, cmd->value);
		break;
	case FLOW_CMD_EXEC:
		rc = agi_cmd_exec(&c, cmd->name, cmd->value);
		break;
	case FLOW_CMD_SET_CONTEXT:
		if (strcmp(cmd->value, "ivrd-ai") == 0 && s->number_uuid) {
			/*
			 * A per-number menu's "ai" option: the AI agent takes
			 * the call here, a human after it (or if it fails).
			 */
			s->is_ai = 1;
			s->handoff = 1;
			s->sc_status = "in-progress";
			if (s->agi->ai_agent == NULL) {
				s->state = S_SCRIPT;
				ai_failed(s, "no AI agent configured "
				    "(ai_agent_address)");
			} else
				start_script(s, P_AUDIOSOCKET);
			return;
		}
		rc = agi_cmd_set_context(&c, cmd->value);
		break;
	case FLOW_CMD_SET_EXTENSION:
		rc = agi_cmd_set_extension(&c, cmd->value);
		break;
	case FLOW_CMD_SET_PRIORITY:
		rc = agi_cmd_set_priority(&c, cmd->value);
		break;
	case FLOW_CMD_HANGUP:
		rc = agi_cmd_hangup(&c);
		break;
	case FLOW_CMD_END:
		finish(s);
		return;
	}
	if (rc == -1) {
		/* Text that cannot travel safely (CR, LF): never sent. */
		log_warnx("agi: call %.8s: command refused: %s", s->uuid,
		    c.error);
		step(s, FLOW_EV_DONE, 0, 1);
		return;
	}
	send_line(s, &c, cmd->type == FLOW_CMD_EXEC && routing_app(cmd->name));
}

/* Feeds one event to the interpreter and runs what it asks next. */
static void
step(struct agi_session *s, enum flow_event_type type, char digit, int failed)
{
	struct flow_event ev;
	const struct flow_cmd *cmd;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.digit = digit;
	ev.failed = failed;
	ev.now_ms = elapsed_ms(s);
	ev.now = time(NULL);
	cmd = flow_call_next(s->call, &ev);
	maybe_record(s);
	if (cmd != NULL)
		run(s, cmd);
}

/* --- replies in ------------------------------------------------------------ */

static void
on_reply(struct agi_session *s, const struct agi_reply *r)
{
	int digit;

	if (s->discard > 0) {
		s->discard--;
		return;
	}
	s->in_flight = 0;
	evtimer_del(s->timer);
	if (r->code == 511) {
		hung_up(s);
		return;
	}
	if (r->code != 200) {
		log_warnx("agi: call %.8s: Asterisk answered %d to a command",
		    s->uuid, r->code);
		if (s->cmd == FLOW_CMD_PLAY)
			step(s, FLOW_EV_PLAYED, 0, 1);
		else if (s->cmd == FLOW_CMD_WAIT_DIGIT)
			step(s, FLOW_EV_TIMEOUT, 0, 0);
		else
			step(s, FLOW_EV_DONE, 0, 1);
		return;
	}
	digit = agi_reply_digit(r);
	switch (s->cmd) {
	case FLOW_CMD_PLAY:
		/* result=-1: the file would not play (or the line is dead). */
		step(s, FLOW_EV_PLAYED, digit > 0 ? (char)digit : 0,
		    r->is_number && r->value < 0);
		break;
	case FLOW_CMD_WAIT_DIGIT:
		if (r->is_number && r->value < 0)
			hung_up(s);
		else if (digit > 0)
			step(s, FLOW_EV_DIGIT, (char)digit, 0);
		else
			step(s, FLOW_EV_TIMEOUT, 0, 0);
		break;
	case FLOW_CMD_EXEC:
		/*
		 * -2: no such application (a real failure). -1: the caller
		 * hung up, or a Queue's or Dial's bridged call ended: the
		 * call is over, routed as it was.
		 */
		if (r->is_number && r->value == -1)
			hung_up(s);
		else
			step(s, FLOW_EV_DONE, 0, r->is_number && r->value < 0);
		break;
	default:
		step(s, FLOW_EV_DONE, 0, r->is_number && r->value < 0 &&
		    s->cmd != FLOW_CMD_HANGUP);
		break;
	}
}

/* 1 when the next line waiting in the buffer is Asterisk's HANGUP. */
static int
hangup_follows(struct evbuffer *in)
{
	unsigned char *p;

	if (evbuffer_get_length(in) < 7 || (p = evbuffer_pullup(in, 7)) == NULL)
		return 0;
	return memcmp(p, "HANGUP\n", 7) == 0;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct agi_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct agi_reply reply;
	size_t len;
	char *line;

	ENTER(s);
	while (!s->dead &&
	    (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		if (s->state == S_ENV) {
			enum agi_env_res res = agi_env_feed(s->env, line, len);

			free(line);
			if (res == AGI_ENV_ERR) {
				log_warnx("agi: call %.8s: not an AGI "
				    "environment: %s", s->uuid,
				    agi_env_error(s->env));
				finish(s);
			} else if (res == AGI_ENV_DONE)
				begin_call(s);
			continue;
		}
		switch (agi_reply_feed(s->replies, line, len, &reply)) {
		case AGI_REPLY_MORE:
			break;
		case AGI_REPLY_HANGUP:
			/* The hand-back still sets its variables. */
			if (s->state != S_HANDBACK)
				hung_up(s);
			break;
		case AGI_REPLY_ERR:
			log_warnx("agi: call %.8s: garbage from Asterisk: %s",
			    s->uuid, agi_reply_parser_error(s->replies));
			if (s->state == S_HANDBACK)
				finish(s);
			else
				hung_up(s);
			break;
		case AGI_REPLY_DONE:
			if (s->state == S_HANDBACK)
				handback(s, NULL, NULL);
			else if (s->state == S_LOOKUP)
				lookup_reply(s, &reply);
			else if (hangup_follows(in) && s->discard == 0) {
				/*
				 * The caller hung up: the reply (a Queue's -1,
				 * a prompt cut short) and the notice came
				 * together. The hang-up is what happened.
				 */
				evbuffer_drain(in, 7);
				s->in_flight = 0;
				hung_up(s);
			} else if (s->discard > 0)
				s->discard--;
			else if (s->state == S_SCRIPT) {
				s->in_flight = 0;
				evtimer_del(s->timer);
				script_next(s, &reply);
			} else if (s->xfer_pending != NULL) {
				/* The command a transfer waited for is done. */
				char *target = s->xfer_pending;

				s->xfer_pending = NULL;
				s->in_flight = 0;
				start_transfer(s, target);
				free(target);
			} else if (s->in_flight)
				on_reply(s, &reply);
			else
				log_warnx("agi: call %.8s: a reply to no "
				    "command, ignored", s->uuid);
			break;
		}
		free(line);
	}
	if (!s->dead && evbuffer_get_length(in) > AGI_REPLY_LINE_MAX) {
		log_warnx("agi: call %.8s: a line over %d bytes from Asterisk",
		    s->uuid, AGI_REPLY_LINE_MAX);
		hung_up(s);
	}
	LEAVE(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agi_session *s = arg;

	/* EOF or error: the caller is gone. */
	ENTER(s);
	hung_up(s);
	LEAVE(s);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agi_session *s = arg;

	ENTER(s);
	if (s->state == S_ENV)
		log_warnx("agi: call %.8s: no AGI environment within %ld ms",
		    s->uuid, s->agi->env_timeout_ms);
	else
		log_warnx("agi: call %.8s: Asterisk silent for %ld s: call "
		    "dropped", s->uuid, s->agi->command_timeout_sec);
	hung_up(s);
	LEAVE(s);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agi_session *s = arg;

	ENTER(s);
	if (s->state == S_TTS) {
		tts_cancel(s->agi->tts, s->tts_id);
		s->tts_id = 0;
		s->state = S_RUN;
	}
	/* The limit is for time in the IVR: a script is a hand-over. */
	if (s->state == S_RUN)
		step(s, FLOW_EV_DEADLINE, 0, 0);
	LEAVE(s);
}

/* --- handing back and ending ----------------------------------------------- */

/*
 * Sets IVR_STATUS (and IVR_ERROR), one command at a time, then closes:
 * the dialplan resumes and decides (contrib/dialplan/).
 */
static void
handback(struct agi_session *s, const char *status, const char *error)
{
	struct agi_cmd c;
	int rc;

	if (status != NULL) {
		s->state = S_HANDBACK;
		s->status = status;
		free(s->error);
		s->error = error ? xstrdup(error) : NULL;
		s->handback_step = 0;
		if (strcmp(status, "FAILED") == 0) {
			s->agi->calls_failed++;
			log_warnx("agi: call %.8s: IVR_STATUS=FAILED: %s",
			    s->uuid, error ? error : "");
		}
		agi_env_free(s->env);
		s->env = NULL;
	}
	switch (s->handback_step++) {
	case 0:
		rc = agi_cmd_set_variable(&c, "IVR_STATUS", s->status);
		break;
	case 1:
		if (s->error != NULL) {
			rc = agi_cmd_set_variable(&c, "IVR_ERROR", s->error);
			break;
		}
		/* FALLTHROUGH */
	default:
		finish(s);
		return;
	}
	if (rc == -1) {
		finish(s);
		return;
	}
	bufferevent_write(s->bev, c.line, c.len);
	arm_timer(s, s->agi->command_timeout_sec * 1000);
}

static void
session_free(struct agi_session *s)
{
	struct agi *agi = s->agi;

	TAILQ_REMOVE(&agi->sessions, s, entry);
	agi->nsessions--;
	if (s->tts_id != 0)
		tts_cancel(agi->tts, s->tts_id);
	bufferevent_free(s->bev);	/* closes: the dialplan resumes */
	event_free(s->timer);
	if (s->deadline != NULL)
		event_free(s->deadline);
	agi_env_free(s->env);
	agi_reply_parser_free(s->replies);
	flow_call_free(s->call);
	agi_flow_put(s->flow);
	free(s->error);
	free(s->uniqueid);
	free(s->from);
	free(s->to);
	free(s->tenant);
	free(s->flow_id);
	free(s->number_uuid);
	free(s->channel);
	free(s->human_target);
	free(s->route_app);
	free(s->route_args);
	free(s->route_outcome);
	free(s->mset);
	free(s->sc_outcome);
	free(s->xfer_pending);
	free(s->wazo_dstnum);
	free(s->xivo_exten);
	json_decref(s->extra);
	free(s);
}

static void
finish(struct agi_session *s)
{
	if (s->dead)
		return;
	if (s->call != NULL || s->sc_status != NULL) {
		write_record(s, 1);
		log_debug("agi: call %.8s: ended, %s, %s", s->uuid,
		    call_status(s), call_outcome(s) ? call_outcome(s) :
		    "abandoned");
	}
	s->dead = 1;
	if (s->in_cb > 0) {
		/* Freed as the callback returns; nothing more happens. */
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		evtimer_del(s->timer);
		if (s->deadline != NULL)
			evtimer_del(s->deadline);
		return;
	}
	session_free(s);
}

/* Shutdown: the caller is cut off, the record says so. */
void
agi_session_kill(struct agi_session *s)
{
	hung_up(s);
}
