#include "config.h"

/*
 * The call interpreter: one struct flow_call per call, driven by
 * flow_call_next(). See flow/interp.h for the protocol and
 * shared/flow-runtime.md for what a call does.
 *
 * Fifteen thousand calls are held at once, so a call is small: a few
 * scalars, pointers into the (shared, read-only) flow, and three buffers
 * that grow only with what the caller does (menus entered, digits,
 * timeline). Nothing is copied out of the flow, and timeline entries
 * point into it; the text of a prompt is looked up again only when the
 * timeline is turned into JSON. The MSet argument of the hand-over is
 * freed as soon as its reply comes: a queued call does not keep it.
 */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "log.h"
#include "util.h"
#include "flow/flow_int.h"
#include "flow/hours.h"
#include "flow/interp.h"

#define CALL_DTMF		"0123456789*#"	/* escape digit order */
#define CALL_PATH_MAX		256	/* IVR_PATH, bytes, ">..." included */
#define CALL_DIGITS_MAX		128	/* IVR_DIGITS */
/*
 * A caller who leans on the keypad for the whole call must not grow the
 * record without bound; the last few slots are kept for the entries that
 * say how the call ended.
 */
#define CALL_TIMELINE_MAX	256
#define CALL_TIMELINE_ENDING	8

enum call_state {
	CS_NEW,			/* waiting for START */
	CS_ANSWER,
	CS_AUTOHANGUP,		/* the max_call_duration backstop */
	CS_RECORD,		/* MixMonitor */
	CS_CLOSED_PROMPT,	/* "closed", then voicemail or hang-up */
	CS_MENU_PROMPT,		/* the menu's own prompt */
	CS_NOTICE,		/* invalid, timeout or language prompt */
	CS_WAIT,		/* timeout_sec for a first digit */
	CS_COLLECT,		/* FLOW_COLLECT_MS for the next digit */
	CS_GOODBYE,		/* a hangup action's prompt */
	CS_HANGUP,		/* our HANGUP */
	CS_ROUTE_MSET,		/* IVR_* variables, one MSet */
	CS_ROUTE_VARS,		/* IVR_* variables one by one; step = which */
	CS_ROUTE_UNLIMIT,	/* AUTOHANGUP 0 before leaving the IVR */
	CS_ROUTE,		/* the routing command(s); step = which */
	CS_FAIL,		/* IVR_STATUS=FAILED ...; step = which */
	CS_END,
};

enum tl_kind {
	TL_ANSWERED,
	TL_RECORDING,
	TL_RECORDING_FAILED,
	TL_CLOSED,
	TL_MENU,
	TL_PROMPT,
	TL_PROMPT_FAILED,
	TL_DIGIT,
	TL_INVALID,
	TL_TIMEOUT,
	TL_FALLBACK,
	TL_LANGUAGE,
	TL_ROUTED,
	TL_HANGUP_CALLER,
	TL_HANGUP_IVR,
	TL_DEADLINE,
	TL_FAILED,
};

static const char *const tl_names[] = {
	[TL_ANSWERED] = "answered",
	[TL_RECORDING] = "recording",
	[TL_RECORDING_FAILED] = "recording_failed",
	[TL_CLOSED] = "closed",
	[TL_MENU] = "menu",
	[TL_PROMPT] = "prompt",
	[TL_PROMPT_FAILED] = "prompt_failed",
	[TL_DIGIT] = "digit",
	[TL_INVALID] = "invalid",
	[TL_TIMEOUT] = "timeout",
	[TL_FALLBACK] = "fallback",
	[TL_LANGUAGE] = "language",
	[TL_ROUTED] = "routed",
	[TL_HANGUP_CALLER] = "hangup",
	[TL_HANGUP_IVR] = "hangup",
	[TL_DEADLINE] = "deadline",
	[TL_FAILED] = "failed",
};

/*
 * 24 bytes. ref is the menu, prompt, or string the entry is about, owned
 * by the flow or the call, both of which outlive the entry.
 */
struct tl_entry {
	uint32_t		 at_ms;
	uint8_t			 kind;
	uint8_t			 lang;		/* prompt, language */
	char			 digits[FLOW_KEY_MAX + 2];
	const void		*ref;
};

struct strbuf {
	char			*s;
	uint16_t		 len;
	uint16_t		 cap;
};

static const char *const route_vars[] = {
	"IVR_FLOW", "IVR_LANGUAGE", "IVR_PATH", "IVR_DIGITS", "IVR_ACTION",
	"IVR_TARGET", "IVR_STATUS",
};
#define NROUTE_VARS	(sizeof(route_vars) / sizeof(route_vars[0]))

/*
 * What MSet's argument parser (ast_app_separate_args, once on ',' for
 * the pairs, once on '=' within each) would not take literally: ','
 * splits, '"' and '\' are removed as quoting, '(' ')' '[' ']' nest and
 * hide a ',' from the split, and '|' is a ',' to old Asterisk's AGI
 * EXEC. Control characters too. '=' is harmless: each pair is split on
 * its first '=' only, and the names have none.
 */
#define MSET_UNSAFE	",\"\\|()[]"

static const char *const route_errors[FLOW_ACT_COUNT] = {
	[FLOW_ACT_QUEUE] = "routing to the queue failed",
	[FLOW_ACT_EXTENSION] = "routing to the extension failed",
	[FLOW_ACT_VOICEMAIL] = "voicemail failed",
	[FLOW_ACT_TRANSFER] = "transfer failed",
};

struct flow_call {
	const struct flow	*flow;
	const struct flow_menu	*menu;		/* NULL before the first */
	const struct flow_prompt *playing;	/* the PLAY in flight */
	enum call_state		 state;
	uint8_t			 step;
	uint8_t			 lang;		/* index in flow->languages */
	uint8_t			 retries;	/* of the current menu */
	uint8_t			 nentry;
	uint8_t			 answered;
	uint8_t			 autohangup;	/* set, not yet cleared */
	uint8_t			 failed;
	uint8_t			 path_full;
	uint8_t			 recording_failed;
	char			 entry[FLOW_KEY_MAX + 2]; /* digits of a key */
	char			 escape[sizeof(CALL_DTMF)]; /* current menu's */

	enum flow_routing	 routing;
	flow_queue_lookup_cb	 queue_lookup;
	void			*queue_lookup_arg;
	char			*dial_template;	/* NULL: no transfers */

	/* Routing, once decided. */
	enum flow_action	 route_action;
	const char		*route_app;	/* EXEC app; NULL: SET_* */
	const struct flow_option *route_opt;	/* extension: ctx, exten */
	char			*route_arg;	/* EXEC argument */
	char			*route;		/* "queue:sales_q" */
	size_t			 target_off;	/* IVR_TARGET in route */
	char			*route_mset;	/* MSet argument, while in flight */
	const char		*error;		/* IVR_ERROR */

	const char		*outcome;	/* route or static; NULL: undecided */
	char			*recording;
	int64_t			 now_ms;
	struct strbuf		 path;
	struct strbuf		 digits;
	struct tl_entry		*timeline;
	uint16_t		 ntimeline;
	uint16_t		 timeline_cap;

	struct flow_cmd		 cmd;
};

static int	 choose_language(const struct flow *,
		    const struct flow_call_opts *);
static int	 language_match(const struct flow *, const char *);
static char	*recording_path(const struct flow *, const char *,
		    const char *);
static void	 completed(struct flow_call *, const struct flow_event *);
static void	 caller_gone(struct flow_call *);
static int	 deadline(struct flow_call *);
static void	 begin(struct flow_call *, time_t);
static void	 closed_route(struct flow_call *);
static void	 enter_menu(struct flow_call *, const struct flow_menu *);
static void	 play_menu(struct flow_call *);
static void	 take_digit(struct flow_call *, char);
static void	 entry_complete(struct flow_call *);
static void	 menu_failed(struct flow_call *, enum tl_kind);
static void	 run_option(struct flow_call *, const struct flow_option *);
static void	 route_start(struct flow_call *, const struct flow_option *);
static const char *route_value(const struct flow_call *, size_t);
static int	 mset_safe(const char *);
static char	*route_mset(const struct flow_call *);
static void	 route_next(struct flow_call *);
static void	 route_unlimit(struct flow_call *);
static void	 route_go(struct flow_call *);
static void	 call_fail(struct flow_call *, const char *);
static void	 fail_next(struct flow_call *);
static void	 hangup_now(struct flow_call *);
static void	 end(struct flow_call *);
static void	 set_outcome(struct flow_call *, const char *);
static void	 prompt_done(struct flow_call *, const struct flow_event *);
static int	 key_prefix(const struct flow_menu *, const char *, size_t);
static int	 longer_key(const struct flow_menu *, const char *, size_t);
static void	 menu_escape(const struct flow_menu *, char *);
static int	 goto_safe(const char *);
static char	*dial_string(const char *, const char *, int);
static const struct flow_prompt_text *prompt_text(const struct flow *,
		    const struct flow_prompt *, const char *);
static void	 emit(struct flow_call *, enum flow_cmd_type);
static void	 emit_play(struct flow_call *, const struct flow_prompt *,
		    const char *);
static void	 emit_wait(struct flow_call *, int);
static void	 emit_var(struct flow_call *, const char *, const char *);
static void	 tl_add(struct flow_call *, enum tl_kind, const void *,
		    const char *);
static json_t	*tl_json(const struct flow_call *, const struct tl_entry *);
static void	 jset_str(json_t *, const char *, const char *);
static void	 sb_add(struct strbuf *, const char *, size_t);

struct flow_call *
flow_call_new(const struct flow *flow, const struct flow_call_opts *opts)
{
	struct flow_call *c;

	c = xcalloc(1, sizeof(*c));
	c->flow = flow;
	c->state = CS_NEW;
	c->lang = (uint8_t)choose_language(flow, opts);
	c->routing = opts->routing;
	c->queue_lookup = opts->queue_lookup;
	c->queue_lookup_arg = opts->queue_lookup_arg;
	if (opts->dial_template != NULL && opts->dial_template[0] != '\0')
		c->dial_template = xstrdup(opts->dial_template);
	if (flow->recording_enabled)
		c->recording = recording_path(flow, opts->recordings_dir,
		    opts->uniqueid);
	return c;
}

void
flow_call_free(struct flow_call *c)
{
	if (c == NULL)
		return;
	free(c->dial_template);
	free(c->route_arg);
	free(c->route);
	free(c->route_mset);
	free(c->recording);
	free(c->path.s);
	free(c->digits.s);
	free(c->timeline);
	free(c);
}

const struct flow_cmd *
flow_call_next(struct flow_call *c, const struct flow_event *ev)
{
	if (c->state == CS_END)
		return &c->cmd;
	c->now_ms = ev->now_ms;

	switch (ev->type) {
	case FLOW_EV_HANGUP:
		caller_gone(c);
		return &c->cmd;
	case FLOW_EV_DEADLINE:
		return deadline(c) ? &c->cmd : NULL;
	case FLOW_EV_START:
		if (c->state != CS_NEW)
			return NULL;
		c->state = CS_ANSWER;
		emit(c, FLOW_CMD_ANSWER);
		return &c->cmd;
	default:
		break;
	}
	if (c->state == CS_NEW)
		return NULL;
	completed(c, ev);
	return &c->cmd;
}

int
flow_call_done(const struct flow_call *c)
{
	return c->state == CS_END;
}

const char *
flow_call_language(const struct flow_call *c)
{
	return c->flow->languages[c->lang].code;
}

const char *
flow_call_status(const struct flow_call *c)
{
	if (c->state != CS_END)
		return c->answered ? "in-progress" : "ringing";
	return c->failed ? "failed" : "completed";
}

const char *
flow_call_outcome(const struct flow_call *c)
{
	return c->outcome;
}

const char *
flow_call_menu(const struct flow_call *c)
{
	return c->menu != NULL ? c->menu->id : NULL;
}

const char *
flow_call_path(const struct flow_call *c)
{
	return c->path.s != NULL ? c->path.s : "";
}

const char *
flow_call_digits(const struct flow_call *c)
{
	return c->digits.s != NULL ? c->digits.s : "";
}

const char *
flow_call_recording(const struct flow_call *c)
{
	return c->recording_failed ? NULL : c->recording;
}

json_t *
flow_call_timeline(const struct flow_call *c, size_t from)
{
	json_t *a;

	if ((a = json_array()) == NULL)
		fatalx("out of memory");
	for (size_t i = from; i < c->ntimeline; i++)
		if (json_array_append_new(a, tl_json(c, &c->timeline[i])) != 0)
			fatalx("out of memory");
	return a;
}

size_t
flow_call_timeline_len(const struct flow_call *c)
{
	return c->ntimeline;
}

/*
 * The query's lang wins, then the channel's; the first exact match in
 * each, else a language of the flow with the same primary subtag ("es"
 * or "es_MX" pick the flow's first Spanish), else the flow's first.
 */
static int
choose_language(const struct flow *flow, const struct flow_call_opts *opts)
{
	int i;

	if ((i = language_match(flow, opts->lang)) != -1)
		return i;
	if ((i = language_match(flow, opts->channel_language)) != -1)
		return i;
	return 0;
}

static int
language_match(const struct flow *flow, const char *want)
{
	size_t i, n, primary;

	if (want == NULL || want[0] == '\0')
		return -1;
	primary = strcspn(want, "-_");
	for (i = 0; i < flow->nlanguages; i++) {
		const char *code = flow->languages[i].code;

		/* Asterisk writes es_US where BCP 47 writes es-US. */
		for (n = 0; want[n] != '\0' && code[n] != '\0'; n++) {
			char a = want[n] == '_' ? '-' : want[n];

			if (tolower((unsigned char)a) !=
			    tolower((unsigned char)code[n]))
				break;
		}
		if (want[n] == '\0' && code[n] == '\0')
			return (int)i;
	}
	for (i = 0; i < flow->nlanguages; i++) {
		const char *code = flow->languages[i].code;

		if (strcspn(code, "-") == primary &&
		    strncasecmp(code, want, primary) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * DIR/TENANT/FLOW/UNIQUEID.FORMAT. The uniqueid comes from Asterisk,
 * not from us: anything but [A-Za-z0-9._-] becomes '_', so it can never
 * leave the folder.
 */
static char *
recording_path(const struct flow *flow, const char *dir, const char *uniqueid)
{
	char *path, *id;
	size_t len;

	if (dir == NULL || dir[0] == '\0')
		dir = FLOW_DEFAULT_RECORDINGS_DIR;
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (uniqueid == NULL || uniqueid[0] == '\0')
		uniqueid = "unknown";
	id = xstrdup(uniqueid);
	for (char *p = id; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			*p = '_';
	xasprintf(&path, "%.*s/%s/%s/%s.%s", (int)len, dir, flow->tenant,
	    flow->id, id, flow->recording_format);
	free(id);
	return path;
}

/* The command in flight is over; what it answered decides what is next. */
static void
completed(struct flow_call *c, const struct flow_event *ev)
{
	char d = ev->digit;

	if (ev->type == FLOW_EV_TIMEOUT || d == '\0' ||
	    strchr(CALL_DTMF, d) == NULL)
		d = '\0';

	switch (c->state) {
	case CS_ANSWER:
		if (ev->failed) {
			call_fail(c, "answer failed");
			return;
		}
		c->answered = 1;
		tl_add(c, TL_ANSWERED, NULL, NULL);
		c->state = CS_AUTOHANGUP;
		c->autohangup = 1;
		emit(c, FLOW_CMD_AUTOHANGUP);
		c->cmd.seconds = c->flow->max_call_duration;
		return;
	case CS_AUTOHANGUP:
		if (c->recording == NULL) {
			begin(c, ev->now);
			return;
		}
		c->state = CS_RECORD;
		tl_add(c, TL_RECORDING, c->recording, NULL);
		emit(c, FLOW_CMD_EXEC);
		c->cmd.name = "MixMonitor";
		c->cmd.value = c->recording;
		return;
	case CS_RECORD:
		/*
		 * A call without its recording beats no call. The path
		 * stays allocated: the timeline points to it.
		 */
		if (ev->failed) {
			tl_add(c, TL_RECORDING_FAILED, NULL, NULL);
			c->recording_failed = 1;
		}
		begin(c, ev->now);
		return;
	case CS_CLOSED_PROMPT:
		prompt_done(c, ev);
		closed_route(c);
		return;
	case CS_MENU_PROMPT:
		prompt_done(c, ev);
		if (d != '\0') {
			take_digit(c, d);
			return;
		}
		c->state = CS_WAIT;
		emit_wait(c, c->menu->timeout_sec * 1000);
		return;
	case CS_NOTICE:
		prompt_done(c, ev);
		if (d != '\0')
			take_digit(c, d);
		else
			play_menu(c);
		return;
	case CS_WAIT:
		if (d != '\0')
			take_digit(c, d);
		else
			menu_failed(c, TL_TIMEOUT);
		return;
	case CS_COLLECT:
		if (d != '\0')
			take_digit(c, d);
		else
			entry_complete(c);
		return;
	case CS_GOODBYE:
		prompt_done(c, ev);
		hangup_now(c);
		return;
	case CS_HANGUP:
		end(c);
		return;
	case CS_ROUTE_MSET:
	case CS_ROUTE_VARS:
	case CS_ROUTE_UNLIMIT:
		/*
		 * SET VARIABLE, MSet (a builtin) and SET AUTOHANGUP cannot
		 * fail on a live call; a failure all the same is ignored and
		 * the call is routed regardless.
		 */
		route_next(c);
		return;
	case CS_ROUTE:
		if (ev->failed)
			call_fail(c, route_errors[c->route_action]);
		else
			route_next(c);
		return;
	case CS_FAIL:
		fail_next(c);
		return;
	case CS_NEW:
	case CS_END:
		break;
	}
}

/*
 * The caller hung up. Once handed over, the outcome stays what the IVR
 * did (a caller leaving the queue or the agent is no IVR abandon).
 */
static void
caller_gone(struct flow_call *c)
{
	if (c->state == CS_HANGUP) {
		/* Asterisk's notice after our own HANGUP. */
		end(c);
		return;
	}
	if (c->outcome == NULL) {
		/* The AUTOHANGUP backstop beat the session's deadline. */
		if (c->now_ms >= (int64_t)c->flow->max_call_duration * 1000) {
			tl_add(c, TL_DEADLINE, NULL, NULL);
			set_outcome(c, "hangup");
		} else
			set_outcome(c, "abandoned");
	}
	tl_add(c, TL_HANGUP_CALLER, c->menu, NULL);
	end(c);
}

/* 1 when the deadline makes a command (HANGUP); 0 when it is ignored. */
static int
deadline(struct flow_call *c)
{
	switch (c->state) {
	case CS_HANGUP:
	case CS_ROUTE_MSET:
	case CS_ROUTE_VARS:
	case CS_ROUTE_UNLIMIT:
	case CS_ROUTE:
	case CS_FAIL:
	case CS_END:
		return 0;
	default:
		break;
	}
	tl_add(c, TL_DEADLINE, NULL, NULL);
	set_outcome(c, "hangup");
	if (c->state == CS_NEW)
		end(c);
	else
		hangup_now(c);
	return 1;
}

/* Set-up is done: business hours, then the entry menu. */
static void
begin(struct flow_call *c, time_t now)
{
	const struct flow_prompt *closed;

	if (flow_hours_open(c->flow->business_hours, now)) {
		enter_menu(c, c->flow->entry_menu);
		return;
	}
	tl_add(c, TL_CLOSED, NULL, NULL);
	if ((closed = flow_prompt_find(c->flow, "closed")) != NULL) {
		c->state = CS_CLOSED_PROMPT;
		emit_play(c, closed, "");
		return;
	}
	closed_route(c);
}

static void
closed_route(struct flow_call *c)
{
	struct flow_option vm;

	if (c->flow->voicemail_fallback == NULL) {
		set_outcome(c, "hangup");
		hangup_now(c);
		return;
	}
	/* The fallback box is used as is, "@context" included if any. */
	memset(&vm, 0, sizeof(vm));
	vm.action = FLOW_ACT_VOICEMAIL;
	vm.voicemail_box = c->flow->voicemail_fallback;
	route_start(c, &vm);
}

static void
enter_menu(struct flow_call *c, const struct flow_menu *m)
{
	c->menu = m;
	c->retries = 0;
	if (!c->path_full) {
		size_t need = strlen(m->id) + (c->path.len > 0);

		if (c->path.len + need > CALL_PATH_MAX - sizeof(">...")) {
			sb_add(&c->path, ">...", 4);
			c->path_full = 1;
		} else {
			if (c->path.len > 0)
				sb_add(&c->path, ">", 1);
			sb_add(&c->path, m->id, strlen(m->id));
		}
	}
	tl_add(c, TL_MENU, m, NULL);
	menu_escape(m, c->escape);
	play_menu(c);
}

static void
play_menu(struct flow_call *c)
{
	c->state = CS_MENU_PROMPT;
	c->nentry = 0;
	emit_play(c, c->menu->ref_prompt, c->escape);
}

/*
 * One digit of the current menu, during a prompt or a wait. A key is
 * taken as soon as no longer key starts with what was typed, and refused
 * as soon as no key does: a caller never waits for nothing.
 */
static void
take_digit(struct flow_call *c, char d)
{
	const struct flow_menu *m = c->menu;
	const struct flow_option *o;
	char one[2] = { d, '\0' };

	tl_add(c, TL_DIGIT, m, one);
	if (c->digits.len < CALL_DIGITS_MAX)
		sb_add(&c->digits, one, 1);

	if (c->nentry == 0 && d == '*' && m->ref_parent != NULL &&
	    !key_prefix(m, "*", 1)) {
		enter_menu(c, m->ref_parent);
		return;
	}
	c->entry[c->nentry] = d;
	if (d == '#' && !key_prefix(m, c->entry, c->nentry + 1u)) {
		/* '#' ends the entry; it is not part of it. */
		entry_complete(c);
		return;
	}
	c->nentry++;
	c->entry[c->nentry] = '\0';
	if (!key_prefix(m, c->entry, c->nentry)) {
		menu_failed(c, TL_INVALID);
		return;
	}
	if ((o = flow_option_find(m, c->entry)) != NULL &&
	    !longer_key(m, c->entry, c->nentry)) {
		c->nentry = 0;
		run_option(c, o);
		return;
	}
	c->state = CS_COLLECT;
	emit_wait(c, FLOW_COLLECT_MS);
}

/* '#' or FLOW_COLLECT_MS of silence ended the entry. */
static void
entry_complete(struct flow_call *c)
{
	const struct flow_option *o;

	c->entry[c->nentry] = '\0';
	if (c->nentry > 0 &&
	    (o = flow_option_find(c->menu, c->entry)) != NULL) {
		c->nentry = 0;
		run_option(c, o);
		return;
	}
	menu_failed(c, TL_INVALID);
}

/*
 * An invalid entry or a timeout. The menu is replayed at most
 * max_retries times; the failure after that runs the fallback at once,
 * without the invalid or timeout prompt (the fallback speaks for itself,
 * and a caller typing into that prompt would get a retry too many).
 */
static void
menu_failed(struct flow_call *c, enum tl_kind kind)
{
	const struct flow_menu *m = c->menu;
	const struct flow_prompt *p;

	c->entry[c->nentry] = '\0';
	tl_add(c, kind, m, kind == TL_INVALID ? c->entry : NULL);
	c->nentry = 0;
	if (c->retries >= m->max_retries) {
		tl_add(c, TL_FALLBACK, m, NULL);
		run_option(c, &m->fallback);
		return;
	}
	c->retries++;
	p = flow_prompt_find(c->flow, kind == TL_INVALID ? "invalid" :
	    "timeout");
	if (p == NULL) {
		play_menu(c);
		return;
	}
	c->state = CS_NOTICE;
	emit_play(c, p, c->escape);
}

static void
run_option(struct flow_call *c, const struct flow_option *o)
{
	switch (o->action) {
	case FLOW_ACT_MENU:
		enter_menu(c, o->ref_menu);
		return;
	case FLOW_ACT_LANGUAGE:
		for (size_t i = 0; i < c->flow->nlanguages; i++)
			if (strcmp(c->flow->languages[i].code,
			    o->language) == 0)
				c->lang = (uint8_t)i;
		tl_add(c, TL_LANGUAGE, NULL, NULL);
		/* A valid choice: the caller is getting somewhere. */
		c->retries = 0;
		if (o->ref_prompt == NULL) {
			play_menu(c);
			return;
		}
		c->state = CS_NOTICE;
		emit_play(c, o->ref_prompt, c->escape);
		return;
	case FLOW_ACT_HANGUP:
		set_outcome(c, "hangup");
		if (o->ref_prompt == NULL) {
			hangup_now(c);
			return;
		}
		c->state = CS_GOODBYE;
		emit_play(c, o->ref_prompt, "");
		return;
	case FLOW_ACT_QUEUE:
	case FLOW_ACT_EXTENSION:
	case FLOW_ACT_VOICEMAIL:
	case FLOW_ACT_TRANSFER:
		route_start(c, o);
		return;
	}
}

/*
 * Routing out of the IVR: everything the commands need is computed here,
 * once, so the steps below only read it. o may live on the caller's
 * stack: only an extension option (always the flow's) is kept.
 */
static void
route_start(struct flow_call *c, const struct flow_option *o)
{
	const char *action = flow_action_name(o->action);
	const char *ctx, *exten;
	char *target = NULL;

	c->route_action = o->action;
	c->route_opt = NULL;
	free(c->route_arg);
	c->route_arg = NULL;

	switch (o->action) {
	case FLOW_ACT_QUEUE:
		target = xstrdup(o->queue_ref);
		if (c->routing == FLOW_ROUTING_WAZO &&
		    c->queue_lookup != NULL &&
		    c->queue_lookup(o->queue_ref, &ctx, &exten,
		    c->queue_lookup_arg) == 0 &&
		    goto_safe(ctx) && goto_safe(exten)) {
			c->route_app = "Goto";
			xasprintf(&c->route_arg, "%s,%s,1", ctx, exten);
		} else {
			c->route_app = "Queue";
			xasprintf(&c->route_arg, "%s,,,,", o->queue_ref);
		}
		break;
	case FLOW_ACT_EXTENSION:
		xasprintf(&target, "%s@%s", o->extension, o->context);
		c->route_app = NULL;
		c->route_opt = o;
		break;
	case FLOW_ACT_VOICEMAIL:
		if (o->context != NULL)
			xasprintf(&target, "%s@%s", o->voicemail_box,
			    o->context);
		else
			target = xstrdup(o->voicemail_box);
		c->route_app = "VoiceMail";
		c->route_arg = xstrdup(target);
		break;
	case FLOW_ACT_TRANSFER:
		if (c->dial_template == NULL) {
			call_fail(c, "transfer: no dial template configured");
			return;
		}
		target = xstrdup(o->destination);
		c->route_app = "Dial";
		c->route_arg = dial_string(c->dial_template, o->destination,
		    o->timeout);
		break;
	default:
		fatalx("%s: action %d is not a route", __func__, o->action);
	}

	/* Not the outcome until the routing command goes out. */
	free(c->route);
	xasprintf(&c->route, "%s:%s", action, target);
	c->target_off = strlen(action) + 1;
	free(target);

	/*
	 * The IVR_* variables in one round trip. The validator keeps every
	 * value MSet-safe; one that is not all the same (a flow built
	 * around the validator) gets them one SET VARIABLE at a time, which
	 * takes any value as it is.
	 */
	c->step = 0;
	free(c->route_mset);
	if ((c->route_mset = route_mset(c)) != NULL) {
		c->state = CS_ROUTE_MSET;
		emit(c, FLOW_CMD_EXEC);
		c->cmd.name = "MSet";
		c->cmd.value = c->route_mset;
		return;
	}
	c->state = CS_ROUTE_VARS;
	emit_var(c, route_vars[0], route_value(c, 0));
}

/* The value of route_vars[i]; "" when empty, never NULL. */
static const char *
route_value(const struct flow_call *c, size_t i)
{
	switch (i) {
	case 0:
		return c->flow->id;
	case 1:
		return flow_call_language(c);
	case 2:
		return flow_call_path(c);
	case 3:
		return flow_call_digits(c);
	case 4:
		return flow_action_name(c->route_action);
	case 5:
		return c->route + c->target_off;
	default:
		return "ROUTED";
	}
}

/* Can s be a value in MSet's argument, taken literally? */
static int
mset_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    strchr(MSET_UNSAFE, *s) != NULL)
			return 0;
	return 1;
}

/*
 * "IVR_FLOW=sales,IVR_LANGUAGE=en-US,...,IVR_STATUS=ROUTED", an empty
 * value as "IVR_DIGITS=" (MSet sets it to ""); NULL when a value is not
 * mset_safe().
 */
static char *
route_mset(const struct flow_call *c)
{
	const char *value[NROUTE_VARS];
	size_t i, n, len = 0;
	char *s, *p;

	for (i = 0; i < NROUTE_VARS; i++) {
		value[i] = route_value(c, i);
		if (!mset_safe(value[i]))
			return NULL;
		len += strlen(route_vars[i]) + strlen(value[i]) + 2;
	}
	p = s = xmalloc(len);
	for (i = 0; i < NROUTE_VARS; i++) {
		if (i > 0)
			*p++ = ',';
		n = strlen(route_vars[i]);
		memcpy(p, route_vars[i], n);
		p += n;
		*p++ = '=';
		n = strlen(value[i]);
		memcpy(p, value[i], n);
		p += n;
	}
	*p = '\0';
	return s;
}

static void
route_next(struct flow_call *c)
{
	switch (c->state) {
	case CS_ROUTE_MSET:
		free(c->route_mset);
		c->route_mset = NULL;
		route_unlimit(c);
		return;
	case CS_ROUTE_VARS:
		if (++c->step < NROUTE_VARS) {
			emit_var(c, route_vars[c->step],
			    route_value(c, c->step));
			return;
		}
		route_unlimit(c);
		return;
	case CS_ROUTE_UNLIMIT:
		route_go(c);
		return;
	case CS_ROUTE:
		c->step++;
		if (c->route_app == NULL && c->step == 1) {
			emit(c, FLOW_CMD_SET_EXTENSION);
			c->cmd.value = c->route_opt->extension;
			return;
		}
		if (c->route_app == NULL && c->step == 2) {
			/* Last: a label would be looked up where we are. */
			emit(c, FLOW_CMD_SET_PRIORITY);
			c->cmd.value = "1";
			return;
		}
		end(c);
		return;
	default:
		return;
	}
}

/* The variables are set; the limit is for the IVR, not a queued caller. */
static void
route_unlimit(struct flow_call *c)
{
	if (c->autohangup) {
		c->autohangup = 0;
		c->state = CS_ROUTE_UNLIMIT;
		emit(c, FLOW_CMD_AUTOHANGUP);
		c->cmd.seconds = 0;
		return;
	}
	route_go(c);
}

/* The hand-over itself: from here on the outcome is the route. */
static void
route_go(struct flow_call *c)
{
	c->state = CS_ROUTE;
	c->step = 0;
	c->outcome = c->route;
	tl_add(c, TL_ROUTED, c->route, NULL);
	if (c->route_app == NULL) {
		emit(c, FLOW_CMD_SET_CONTEXT);
		c->cmd.value = c->route_opt->context;
		return;
	}
	emit(c, FLOW_CMD_EXEC);
	c->cmd.name = c->route_app;
	c->cmd.value = c->route_arg;
}

/* Back to the dialplan with IVR_STATUS=FAILED: it decides what next. */
static void
call_fail(struct flow_call *c, const char *error)
{
	set_outcome(c, "failed");
	c->failed = 1;
	c->error = error;
	tl_add(c, TL_FAILED, error, NULL);
	c->state = CS_FAIL;
	c->step = 0;
	emit_var(c, "IVR_STATUS", "FAILED");
}

static void
fail_next(struct flow_call *c)
{
	if (++c->step == 1) {
		emit_var(c, "IVR_ERROR", c->error);
		return;
	}
	if (c->autohangup) {
		c->autohangup = 0;
		emit(c, FLOW_CMD_AUTOHANGUP);
		c->cmd.seconds = 0;
		return;
	}
	end(c);
}

static void
hangup_now(struct flow_call *c)
{
	tl_add(c, TL_HANGUP_IVR, c->menu, NULL);
	c->state = CS_HANGUP;
	emit(c, FLOW_CMD_HANGUP);
}

static void
end(struct flow_call *c)
{
	c->state = CS_END;
	emit(c, FLOW_CMD_END);
}

/* outcome is a string constant; routes set theirs in route_go(). */
static void
set_outcome(struct flow_call *c, const char *outcome)
{
	c->outcome = outcome;
}

static void
prompt_done(struct flow_call *c, const struct flow_event *ev)
{
	if (ev->failed && c->playing != NULL)
		tl_add(c, TL_PROMPT_FAILED, c->playing, NULL);
	c->playing = NULL;
}

/* Does a key of m start with the n characters of s? */
static int
key_prefix(const struct flow_menu *m, const char *s, size_t n)
{
	for (size_t i = 0; i < m->noptions; i++)
		if (strncmp(m->options[i].key, s, n) == 0 &&
		    strlen(m->options[i].key) >= n)
			return 1;
	return 0;
}

static int
longer_key(const struct flow_menu *m, const char *s, size_t n)
{
	for (size_t i = 0; i < m->noptions; i++)
		if (strlen(m->options[i].key) > n &&
		    strncmp(m->options[i].key, s, n) == 0)
			return 1;
	return 0;
}

/* First characters of m's keys, and '*' when it leads to the parent. */
static void
menu_escape(const struct flow_menu *m, char *out)
{
	const char *d;
	size_t n = 0;

	for (d = CALL_DTMF; *d != '\0'; d++)
		if (key_prefix(m, d, 1) ||
		    (*d == '*' && m->ref_parent != NULL))
			out[n++] = *d;
	out[n] = '\0';
}

/* Goto's argument is split on ',' and AGI's on quotes and spaces. */
static int
goto_safe(const char *s)
{
	return s != NULL && s[0] != '\0' &&
	    strpbrk(s, ",|\"'\\ \t\r\n()") == NULL;
}

/* tmpl with every "%s" replaced by dest and "%%" by "%", then ",timeout". */
static char *
dial_string(const char *tmpl, const char *dest, int timeout)
{
	char *out, *p, *arg;
	size_t dlen = strlen(dest), n = strlen(tmpl) + 1;

	for (const char *t = tmpl; (t = strstr(t, "%s")) != NULL; t += 2)
		n += dlen;
	p = out = xmalloc(n);
	for (const char *t = tmpl; *t != '\0'; t++) {
		if (t[0] == '%' && t[1] == 's') {
			memcpy(p, dest, dlen);
			p += dlen;
			t++;
		} else if (t[0] == '%' && t[1] == '%') {
			*p++ = '%';
			t++;
		} else
			*p++ = *t;
	}
	*p = '\0';
	xasprintf(&arg, "%s,%d", out, timeout);
	free(out);
	return arg;
}

/*
 * flow_prompt_text(), but keeping which language the text is in: its
 * audio was rendered with that language's voice.
 */
static const struct flow_prompt_text *
prompt_text(const struct flow *flow, const struct flow_prompt *p,
    const char *lang)
{
	const char *want[2] = { lang, flow->languages[0].code };

	for (size_t w = 0; w < 2; w++)
		for (size_t i = 0; i < p->ntexts; i++)
			if (strcmp(p->texts[i].lang, want[w]) == 0)
				return &p->texts[i];
	return &p->texts[0];
}

static void
emit(struct flow_call *c, enum flow_cmd_type type)
{
	memset(&c->cmd, 0, sizeof(c->cmd));
	c->cmd.type = type;
}

static void
emit_play(struct flow_call *c, const struct flow_prompt *p,
    const char *escape)
{
	const struct flow_prompt_text *t;
	const struct flow_language *l;

	t = prompt_text(c->flow, p, flow_call_language(c));
	l = flow_language_find(c->flow, t->lang);
	c->playing = p;
	tl_add(c, TL_PROMPT, p, NULL);
	emit(c, FLOW_CMD_PLAY);
	c->cmd.play.prompt = p->id;
	c->cmd.play.text = t->text;
	c->cmd.play.language = t->lang;
	c->cmd.play.voice = l != NULL ? l->voice : NULL;
	c->cmd.play.backend = c->flow->tts_backend == FLOW_TTS_POLLY ?
	    "polly" : "local";
	c->cmd.play.escape = escape;
}

static void
emit_wait(struct flow_call *c, int ms)
{
	emit(c, FLOW_CMD_WAIT_DIGIT);
	c->cmd.timeout_ms = ms;
}

static void
emit_var(struct flow_call *c, const char *name, const char *value)
{
	emit(c, FLOW_CMD_SET_VAR);
	c->cmd.name = name;
	c->cmd.value = value;
}

static void
tl_add(struct flow_call *c, enum tl_kind kind, const void *ref,
    const char *digits)
{
	struct tl_entry *e;
	int ending = kind == TL_ROUTED || kind == TL_HANGUP_CALLER ||
	    kind == TL_HANGUP_IVR || kind == TL_DEADLINE || kind == TL_FAILED;

	if (c->ntimeline >= CALL_TIMELINE_MAX || (!ending &&
	    c->ntimeline >= CALL_TIMELINE_MAX - CALL_TIMELINE_ENDING))
		return;
	if (c->ntimeline == c->timeline_cap) {
		c->timeline_cap = c->timeline_cap == 0 ? 8 :
		    c->timeline_cap * 2;
		c->timeline = xrealloc(c->timeline,
		    c->timeline_cap * sizeof(*c->timeline));
	}
	e = &c->timeline[c->ntimeline++];
	memset(e, 0, sizeof(*e));
	e->at_ms = c->now_ms < 0 ? 0 : c->now_ms > UINT32_MAX ?
	    UINT32_MAX : (uint32_t)c->now_ms;
	e->kind = (uint8_t)kind;
	e->lang = c->lang;
	e->ref = ref;
	if (digits != NULL)
		snprintf(e->digits, sizeof(e->digits), "%s", digits);
}

static json_t *
tl_json(const struct flow_call *c, const struct tl_entry *e)
{
	const struct flow_prompt *p;
	const struct flow_prompt_text *t;
	const struct flow_menu *m;
	const char *colon;
	json_t *o;

	if ((o = json_object()) == NULL)
		fatalx("out of memory");
	if (json_object_set_new(o, "at_ms", json_integer(e->at_ms)) != 0)
		fatalx("out of memory");
	jset_str(o, "event", tl_names[e->kind]);

	switch (e->kind) {
	case TL_RECORDING:
		jset_str(o, "path", e->ref);
		break;
	case TL_PROMPT:
	case TL_PROMPT_FAILED:
		p = e->ref;
		t = prompt_text(c->flow, p, c->flow->languages[e->lang].code);
		jset_str(o, "prompt", p->id);
		if (e->kind == TL_PROMPT) {
			jset_str(o, "language", t->lang);
			jset_str(o, "text", t->text);
		}
		break;
	case TL_DIGIT:
		jset_str(o, "digit", e->digits);
		/* FALLTHROUGH */
	case TL_MENU:
	case TL_TIMEOUT:
	case TL_FALLBACK:
		m = e->ref;
		jset_str(o, "menu", m->id);
		break;
	case TL_INVALID:
		m = e->ref;
		jset_str(o, "menu", m->id);
		jset_str(o, "digits", e->digits);
		break;
	case TL_LANGUAGE:
		jset_str(o, "language", c->flow->languages[e->lang].code);
		break;
	case TL_ROUTED:
		colon = strchr(e->ref, ':');
		if (json_object_set_new(o, "action", json_stringn(e->ref,
		    (size_t)(colon - (const char *)e->ref))) != 0)
			fatalx("out of memory");
		jset_str(o, "target", colon + 1);
		break;
	case TL_HANGUP_CALLER:
	case TL_HANGUP_IVR:
		jset_str(o, "by", e->kind == TL_HANGUP_CALLER ? "caller" :
		    "ivr");
		if ((m = e->ref) != NULL)
			jset_str(o, "menu", m->id);
		break;
	case TL_FAILED:
		jset_str(o, "error", e->ref);
		break;
	default:
		break;
	}
	return o;
}

static void
jset_str(json_t *o, const char *key, const char *value)
{
	if (json_object_set_new(o, key, json_string(value)) != 0)
		fatalx("out of memory");
}

/* Grows by doubling; the callers bound the length. */
static void
sb_add(struct strbuf *sb, const char *s, size_t n)
{
	size_t need = sb->len + n + 1, cap = sb->cap;

	if (need > cap) {
		while (cap < need)
			cap = cap == 0 ? 16 : cap * 2;
		sb->s = xrealloc(sb->s, cap);
		sb->cap = (uint16_t)cap;
	}
	memcpy(sb->s + sb->len, s, n);
	sb->len += (uint16_t)n;
	sb->s[sb->len] = '\0';
}
