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
	enum flow_cmd_type	 cmd;		/* which */
	int			 discard;	/* replies to drop */
	const char		*escape;	/* of the PLAY awaiting TTS */
	int			 in_cb;		/* our callbacks on the stack */
	int			 dead;		/* free when in_cb drops to 0 */

	/* The hand-back path: IVR_STATUS, then IVR_ERROR, then close. */
	const char		*status;
	char			*error;
	int			 handback_step;

	/* The call record. */
	struct timespec		 t0;		/* monotonic */
	char			 started_at[ISO8601_MS_LEN];
	char			 answered_at[ISO8601_MS_LEN];
	char			*uniqueid, *from, *to, *tenant, *flow_id;
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

static void
write_record(struct agi_session *s, int final)
{
	struct store_call rec;
	char ended[ISO8601_MS_LEN], *timeline = NULL;
	json_t *tl;

	memset(&rec, 0, sizeof(rec));
	rec.id = s->uuid;
	rec.uniqueid = s->uniqueid;
	rec.tenant = s->tenant;
	rec.flow_id = s->flow_id;
	rec.from_number = s->from;
	rec.to_number = s->to;
	rec.status = (char *)(uintptr_t)flow_call_status(s->call);
	rec.started_at = s->started_at;
	rec.answered_at = s->answered_at[0] ? s->answered_at : NULL;
	rec.duration_ms = -1;
	rec.language = (char *)(uintptr_t)flow_call_language(s->call);
	rec.outcome = (char *)(uintptr_t)flow_call_outcome(s->call);
	rec.recording_path = (char *)(uintptr_t)flow_call_recording(s->call);
	if (final) {
		wall_ms(ended);
		rec.ended_at = ended;
		rec.duration_ms = elapsed_ms(s);
		if (strcmp(rec.status, "ringing") == 0 ||
		    strcmp(rec.status, "in-progress") == 0)
			rec.status = (char *)(uintptr_t)"completed";
		if (rec.outcome == NULL)
			rec.outcome = (char *)(uintptr_t)"abandoned";
	}
	tl = flow_call_timeline(s->call, 0);
	timeline = json_dumps(tl, JSON_COMPACT);
	json_decref(tl);
	rec.timeline = timeline;
	agi_record_batch(s->agi);
	if (store_call_put(s->agi->store, &rec) != STORE_OK)
		log_warnx("agi: call %.8s: record not written", s->uuid);
	free(timeline);
	s->rec_status = flow_call_status(s->call);
	s->rec_outcome = flow_call_outcome(s->call);
}

/* Written again whenever the status or the outcome moved. */
static void
maybe_record(struct agi_session *s)
{
	const char *status = flow_call_status(s->call);
	const char *outcome = flow_call_outcome(s->call);

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

static void
begin_call(struct agi_session *s)
{
	struct agi *agi = s->agi;
	const char *id = agi_env_flow_id(s->env);
	const char *tenant = agi_env_query_tenant(s->env), *why = NULL;
	struct flow_call_opts opts;
	struct timeval tv;

	if (s->status != NULL) {		/* over the cap */
		handback(s, "BUSY", NULL);
		return;
	}
	if (id == NULL || !safe_id(id, FLOW_ID_MAX)) {
		handback(s, "FAILED", id == NULL ? "no flow in the AGI URL "
		    "(agi://HOST:PORT/FLOW_ID)" : "the flow id in the AGI URL "
		    "is not valid");
		return;
	}
	if (tenant != NULL && !safe_id(tenant, FLOW_ID_MAX)) {
		handback(s, "FAILED", "the tenant in the AGI URL is not valid");
		return;
	}
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
	s->call = flow_call_new(s->flow->flow, &opts);

	s->uniqueid = dup_or_null(agi_env_uniqueid(s->env));
	s->from = dup_or_null(agi_env_callerid(s->env));
	s->to = dup_or_null(agi_env_dialed_number(s->env, NULL, NULL));
	s->tenant = xstrdup(s->flow->tenant);
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

/* --- commands out ---------------------------------------------------------- */

static void
send_line(struct agi_session *s, const struct agi_cmd *c, int unbounded)
{
	bufferevent_write(s->bev, c->line, c->len);
	s->in_flight = 1;
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
		step(s, FLOW_EV_HANGUP, 0, 0);
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
			step(s, FLOW_EV_HANGUP, 0, 0);
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
			step(s, FLOW_EV_HANGUP, 0, 0);
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
				step(s, FLOW_EV_HANGUP, 0, 0);
			break;
		case AGI_REPLY_ERR:
			log_warnx("agi: call %.8s: garbage from Asterisk: %s",
			    s->uuid, agi_reply_parser_error(s->replies));
			if (s->state == S_HANDBACK || s->call == NULL)
				finish(s);
			else
				step(s, FLOW_EV_HANGUP, 0, 0);
			break;
		case AGI_REPLY_DONE:
			if (s->state == S_HANDBACK)
				handback(s, NULL, NULL);
			else if (hangup_follows(in) && s->discard == 0) {
				/*
				 * The caller hung up: the reply (a Queue's -1,
				 * a prompt cut short) and the notice came
				 * together. The hang-up is what happened.
				 */
				evbuffer_drain(in, 7);
				s->in_flight = 0;
				step(s, FLOW_EV_HANGUP, 0, 0);
			} else if (s->in_flight || s->discard > 0)
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
		if (s->call != NULL && s->state != S_HANDBACK)
			step(s, FLOW_EV_HANGUP, 0, 0);
		else
			finish(s);
	}
	LEAVE(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agi_session *s = arg;

	/* EOF or error: the caller is gone. */
	ENTER(s);
	if (s->call != NULL && s->state != S_HANDBACK)
		step(s, FLOW_EV_HANGUP, 0, 0);
	else
		finish(s);
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
	if (s->call != NULL && s->state != S_HANDBACK)
		step(s, FLOW_EV_HANGUP, 0, 0);
	else
		finish(s);
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
	free(s);
}

static void
finish(struct agi_session *s)
{
	if (s->dead)
		return;
	if (s->call != NULL) {
		write_record(s, 1);
		log_debug("agi: call %.8s: ended, %s, %s", s->uuid,
		    flow_call_status(s->call), flow_call_outcome(s->call) ?
		    flow_call_outcome(s->call) : "abandoned");
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
	if (s->call != NULL && s->state != S_HANDBACK && !flow_call_done(s->call))
		step(s, FLOW_EV_HANGUP, 0, 0);	/* answers END: finishes */
	else
		finish(s);
}

/* Live transfer: filled in with the call-handling modes. */
enum agi_transfer_res
agi_transfer(struct agi *agi, const char *call_uuid, const char *tenant,
    const char *target)
{
	return AGI_TRANSFER_NOTLIVE;
}
