#include "config.h"

/*
 * The call interpreter, read as calls: a scripted caller feeds events
 * and each test checks the exact commands the session would send. A
 * command is written as a short line ("PLAY welcome en-US \"12*\"",
 * "EXEC MSet IVR_FLOW=sales,...", "SET IVR_STATUS=FAILED",
 * "EXEC Queue sales_q,,,,"), and a run of set-up commands as lines
 * joined by '|'.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "flow/flow.h"
#include "flow/flow_int.h"
#include "flow/hours.h"
#include "flow/interp.h"
#include "t/unit/tap.h"

/*
 * Flows are written with ' for " so they stay readable here; no text
 * below contains an apostrophe.
 */

/* Single-digit keys, two languages, a submenu, every action. */
static const char flow_sales[] =
"{'id': 'sales', 'tenant': 'acme',"
" 'languages': [{'code': 'en-US', 'voice': 'Joanna'},"
"               {'code': 'es-US', 'voice': 'Lupe'}],"
" 'prompts': {"
"   'welcome': {'text': {'en-US': 'Welcome. 1 sales, 2 support.',"
"                        'es-US': 'Bienvenido. 1 ventas, 2 soporte.'}},"
"   'support': {'text': {'en-US': 'Support. 1 agent, 2 bye.'}},"
"   'invalid': {'text': {'en-US': 'Invalid choice.',"
"                        'es-US': 'Opcion invalida.'}},"
"   'timeout': {'text': {'en-US': 'We did not get that.',"
"                        'es-US': 'No recibimos nada.'}},"
"   'bye': {'text': {'en-US': 'Goodbye.', 'es-US': 'Adios.'}},"
"   'espanol': {'text': {'en-US': 'Spanish.', 'es-US': 'Espanol.'}}"
" },"
" 'menus': {"
"   'root': {'id': 'root', 'prompt': 'welcome', 'timeout_sec': 5,"
"     'max_retries': 2,"
"     'options': {"
"       '1': {'action': 'queue', 'queue_ref': 'sales_q'},"
"       '2': {'action': 'menu', 'menu_ref': 'support'},"
"       '3': {'action': 'extension', 'context': 'default',"
"             'extension': '1001'},"
"       '4': {'action': 'voicemail', 'voicemail_box': '1000',"
"             'context': 'default'},"
"       '5': {'action': 'transfer', 'destination': '+15551234',"
"             'timeout': 20},"
"       '0': {'action': 'hangup', 'prompt': 'bye'},"
"       '9': {'action': 'language', 'language': 'es-US',"
"             'prompt': 'espanol'}},"
"     'fallback_action': 'hangup'},"
"   'support': {'id': 'support', 'prompt': 'support',"
"     'parent_menu': 'root', 'timeout_sec': 8, 'max_retries': 0,"
"     'options': {"
"       '1': {'action': 'queue', 'queue_ref': 'support_q'},"
"       '2': {'action': 'hangup'}},"
"     'fallback_action': {'action': 'transfer',"
"       'destination': '+15559999'}}"
" },"
" 'voicemail_fallback': '1000'}";

/* Multi-digit keys, '#' as a key, the 'voicemail' fallback string. */
static const char flow_multi[] =
"{'id': 'multi',"
" 'languages': [{'code': 'en-US', 'voice': 'Joanna'}],"
" 'prompts': {'keys': {'text': {'en-US': 'Enter your code.'}}},"
" 'menus': {'root': {'id': 'root', 'prompt': 'keys', 'max_retries': 0,"
"   'options': {"
"     '11': {'action': 'queue', 'queue_ref': 'q11'},"
"     '12': {'action': 'queue', 'queue_ref': 'q12'},"
"     '123': {'action': 'queue', 'queue_ref': 'q123'},"
"     '2': {'action': 'queue', 'queue_ref': 'q2'},"
"     '#': {'action': 'hangup'}},"
"   'fallback_action': 'voicemail'}},"
" 'voicemail_fallback': '2000@office',"
" 'max_call_duration': 120}";

/* Recording, the 'queue' fallback string. */
static const char flow_rec[] =
"{'id': 'rec', 'tenant': 'acme', 'tts_backend': 'polly',"
" 'languages': [{'code': 'en-US', 'voice': 'Joanna'}],"
" 'prompts': {'hello': {'text': {'en-US': 'Hello.'}}},"
" 'menus': {'root': {'id': 'root', 'prompt': 'hello', 'max_retries': 0,"
"   'options': {'1': {'action': 'queue', 'queue_ref': 'sales_q'}},"
"   'fallback_action': 'queue', 'fallback_queue_ref': 'overflow_q'}},"
" 'call_recording': {'enabled': true, 'format': 'wav'}}";

/* Business hours in New York, an overnight range, two kinds of holiday. */
static const char flow_hours[] =
"{'id': 'hours', 'tenant': 'acme',"
" 'languages': [{'code': 'en-US', 'voice': 'Joanna'}],"
" 'prompts': {'hello': {'text': {'en-US': 'Hello.'}},"
"   'closed': {'text': {'en-US': 'We are closed.'}}},"
" 'menus': {'root': {'id': 'root', 'prompt': 'hello',"
"   'options': {'1': {'action': 'queue', 'queue_ref': 'sales_q'}}}},"
" 'business_hours': {'name': 'office', 'timezone': 'America/New_York',"
"   'timeframes': {"
"     'monday': ['09:00-17:00'], 'tuesday': ['09:00-17:00'],"
"     'wednesday': ['09:00-17:00'], 'thursday': ['09:00-17:00'],"
"     'friday': ['09:00-17:00', '22:00-06:00']},"
"   'holidays': ['12-25', '2024-07-04', '2024-11-29']},"
" 'voicemail_fallback': '1000'}";

/* The same hours, no closed prompt, no voicemail: closed hangs up. */
static const char flow_hours_bare[] =
"{'id': 'bare',"
" 'languages': [{'code': 'en-US', 'voice': 'Joanna'}],"
" 'prompts': {'hello': {'text': {'en-US': 'Hello.'}}},"
" 'menus': {'root': {'id': 'root', 'prompt': 'hello',"
"   'options': {'1': {'action': 'hangup'}}}},"
" 'business_hours': {'name': 'office', 'timezone': 'America/New_York',"
"   'timeframes': {'monday': ['09:00-17:00']}}}";

struct drv {
	struct flow_call	*call;
	const struct flow_cmd	*cmd;
	int64_t			 now_ms;
	time_t			 wall;
	char			 line[512];
	char			 scratch[512];
	char			 run[4096];
};

static struct flow *
parse(const char *src)
{
	char *s = strdup(src);
	struct flow *flow;
	json_error_t jerr;
	json_t *doc, *errors;

	for (char *p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	if ((doc = json_loads(s, 0, &jerr)) == NULL) {
		diag("JSON: %s at line %d", jerr.text, jerr.line);
		exit(1);
	}
	free(s);
	if ((flow = flow_parse(doc, &errors)) == NULL) {
		char *e = json_dumps(errors, 0);

		diag("flow refused: %s", e);
		exit(1);
	}
	json_decref(doc);
	return flow;
}

static const char *
cmd_line(const struct flow_cmd *cmd, char *buf, size_t len)
{
	if (cmd == NULL)
		return "NULL";
	switch (cmd->type) {
	case FLOW_CMD_ANSWER:
		return "ANSWER";
	case FLOW_CMD_AUTOHANGUP:
		snprintf(buf, len, "AUTOHANGUP %d", cmd->seconds);
		return buf;
	case FLOW_CMD_PLAY:
		snprintf(buf, len, "PLAY %s %s \"%s\"", cmd->play.prompt,
		    cmd->play.language, cmd->play.escape);
		return buf;
	case FLOW_CMD_WAIT_DIGIT:
		snprintf(buf, len, "WAIT %d", cmd->timeout_ms);
		return buf;
	case FLOW_CMD_SET_VAR:
		snprintf(buf, len, "SET %s=%s", cmd->name, cmd->value);
		return buf;
	case FLOW_CMD_EXEC:
		snprintf(buf, len, "EXEC %s %s", cmd->name, cmd->value);
		return buf;
	case FLOW_CMD_SET_CONTEXT:
		snprintf(buf, len, "CONTEXT %s", cmd->value);
		return buf;
	case FLOW_CMD_SET_EXTENSION:
		snprintf(buf, len, "EXTENSION %s", cmd->value);
		return buf;
	case FLOW_CMD_SET_PRIORITY:
		snprintf(buf, len, "PRIORITY %s", cmd->value);
		return buf;
	case FLOW_CMD_HANGUP:
		return "HANGUP";
	case FLOW_CMD_END:
		return "END";
	}
	return "?";
}

static const struct flow_call_opts default_opts = {
	.uniqueid = "1718035200.97",
	.recordings_dir = "/rec/",
	.dial_template = "PJSIP/%s@trunk",
	.routing = FLOW_ROUTING_EXEC,
};

static void
drv_start(struct drv *d, const struct flow *flow,
    const struct flow_call_opts *opts)
{
	memset(d, 0, sizeof(*d));
	d->call = flow_call_new(flow, opts != NULL ? opts : &default_opts);
	/* Friday 2024-03-08 10:00 in New York: open. */
	d->wall = 1709910000;
}

static void
drv_end(struct drv *d)
{
	flow_call_free(d->call);
	d->call = NULL;
}

/* Each event comes 100 ms after the one before. */
static const char *
feed(struct drv *d, enum flow_event_type type, char digit, int failed)
{
	struct flow_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.digit = digit;
	ev.failed = failed;
	ev.now_ms = d->now_ms;
	ev.now = d->wall;
	d->now_ms += 100;
	d->cmd = flow_call_next(d->call, &ev);
	snprintf(d->line, sizeof(d->line), "%s",
	    cmd_line(d->cmd, d->scratch, sizeof(d->scratch)));
	return d->line;
}

#define START(d)	feed((d), FLOW_EV_START, '\0', 0)
#define DONE(d)		feed((d), FLOW_EV_DONE, '\0', 0)
#define FAILED(d)	feed((d), FLOW_EV_DONE, '\0', 1)
#define PLAYED(d, c)	feed((d), FLOW_EV_PLAYED, (c), 0)
#define DIGIT(d, c)	feed((d), FLOW_EV_DIGIT, (c), 0)
#define TIMEOUT(d)	feed((d), FLOW_EV_TIMEOUT, '\0', 0)
#define HANGUP(d)	feed((d), FLOW_EV_HANGUP, '\0', 0)
#define DEADLINE(d)	feed((d), FLOW_EV_DEADLINE, '\0', 0)

/* START, ANSWER done, AUTOHANGUP done: the first command of the flow. */
static const char *
answered(struct drv *d)
{
	START(d);
	DONE(d);
	return DONE(d);
}

/* Sets variables: SET VARIABLE, or an EXEC of MSet. */
static int
is_set(const struct flow_cmd *cmd)
{
	return cmd->type == FLOW_CMD_SET_VAR || (cmd->type == FLOW_CMD_EXEC &&
	    strcmp(cmd->name, "MSet") == 0);
}

/*
 * The command in hand and every command after it that just completes
 * (variables, autohangup, SET_*), joined by '|', up to the first one
 * that does something for the caller (EXEC but MSet, PLAY, WAIT, HANGUP,
 * END).
 */
static const char *
run(struct drv *d)
{
	size_t n;

	snprintf(d->run, sizeof(d->run), "%s", d->line);
	while (d->cmd != NULL && (is_set(d->cmd) ||
	    d->cmd->type == FLOW_CMD_AUTOHANGUP ||
	    d->cmd->type == FLOW_CMD_SET_CONTEXT ||
	    d->cmd->type == FLOW_CMD_SET_EXTENSION ||
	    d->cmd->type == FLOW_CMD_SET_PRIORITY)) {
		DONE(d);
		n = strlen(d->run);
		snprintf(d->run + n, sizeof(d->run) - n, "|%s", d->line);
	}
	return d->run;
}

/* run() without its last command: the set-up of a route. */
static const char *
run_head(struct drv *d)
{
	char *bar;

	run(d);
	if ((bar = strrchr(d->run, '|')) != NULL)
		*bar = '\0';
	return d->run;
}

/* The IVR_* block, one MSet, and the AUTOHANGUP 0 before a route. */
static const char *
vars(const char *flow, const char *lang, const char *path,
    const char *digits, const char *action, const char *target)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "EXEC MSet IVR_FLOW=%s,IVR_LANGUAGE=%s,"
	    "IVR_PATH=%s,IVR_DIGITS=%s,IVR_ACTION=%s,IVR_TARGET=%s,"
	    "IVR_STATUS=ROUTED|AUTOHANGUP 0",
	    flow, lang, path, digits, action, target);
	return buf;
}

/* The same block as one SET VARIABLE per variable: the fallback. */
static const char *
vars_one_by_one(const char *flow, const char *lang, const char *path,
    const char *digits, const char *action, const char *target)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "SET IVR_FLOW=%s|SET IVR_LANGUAGE=%s|"
	    "SET IVR_PATH=%s|SET IVR_DIGITS=%s|SET IVR_ACTION=%s|"
	    "SET IVR_TARGET=%s|SET IVR_STATUS=ROUTED|AUTOHANGUP 0",
	    flow, lang, path, digits, action, target);
	return buf;
}

static int
tl_count(struct drv *d, const char *event)
{
	json_t *tl = flow_call_timeline(d->call, 0), *e;
	size_t i;
	int n = 0;

	json_array_foreach(tl, i, e)
		if (strcmp(json_string_value(json_object_get(e, "event")),
		    event) == 0)
			n++;
	json_decref(tl);
	return n;
}

/* The timeline as "event:detail" words, e.g. "menu:root prompt:welcome". */
static const char *
tl_words(struct drv *d, size_t from)
{
	static char buf[4096];
	static const char *const detail[] = {
		"digit", "prompt", "language", "target", "by", "menu", NULL
	};
	json_t *tl = flow_call_timeline(d->call, from), *e;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach(tl, i, e) {
		const char *ev = json_string_value(json_object_get(e, "event"));
		const char *v = NULL;

		for (int k = 0; detail[k] != NULL && v == NULL; k++)
			v = json_string_value(json_object_get(e, detail[k]));
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s%s%s",
		    n > 0 ? " " : "", ev, v != NULL ? ":" : "",
		    v != NULL ? v : "");
	}
	json_decref(tl);
	return buf;
}

static void
test_queue_call(const struct flow *sales)
{
	struct drv d;
	json_t *tl, *e;

	drv_start(&d, sales, NULL);
	is_str(flow_call_status(d.call), "ringing", "a new call rings");
	is_str(START(&d), "ANSWER", "queue call: ANSWER first");
	is_str(DONE(&d), "AUTOHANGUP 300", "then the max_call_duration "
	    "backstop");
	is_str(flow_call_status(d.call), "in-progress", "answered: in "
	    "progress");
	is_str(DONE(&d), "PLAY welcome en-US \"0123459\"", "the root "
	    "prompt, every key an escape digit");
	is_str(d.cmd->play.text, "Welcome. 1 sales, 2 support.",
	    "with its English text");
	is_str(d.cmd->play.voice, "Joanna", "in the English voice");
	is_str(d.cmd->play.backend, "local", "on the flow's backend");
	PLAYED(&d, '1');
	is_str(run(&d), "EXEC MSet IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=1,IVR_ACTION=queue,"
	    "IVR_TARGET=sales_q,IVR_STATUS=ROUTED|AUTOHANGUP 0|"
	    "EXEC Queue sales_q,,,,", "barge-in 1: IVR_* variables in one "
	    "MSet, backstop off, Queue");
	is_str(flow_call_outcome(d.call), "queue:sales_q", "outcome "
	    "queue:sales_q as soon as the call is handed over");
	ok(!flow_call_done(d.call), "not done while queued");
	is_str(DONE(&d), "END", "Queue returns: back to the dialplan");
	ok(flow_call_done(d.call), "done");
	is_str(flow_call_status(d.call), "completed", "status completed");
	is_str(DONE(&d), "END", "END again after END");

	tl = flow_call_timeline(d.call, 0);
	e = json_array_get(tl, 2);
	is_str(json_string_value(json_object_get(e, "event")), "prompt",
	    "timeline: the prompt after answered and menu");
	is_str(json_string_value(json_object_get(e, "text")),
	    "Welcome. 1 sales, 2 support.", "timeline: with its text");
	is_int(json_integer_value(json_object_get(e, "at_ms")), 200,
	    "timeline: at its offset");
	json_decref(tl);
	is_str(tl_words(&d, 0), "answered menu:root prompt:welcome "
	    "digit:1 routed:sales_q", "timeline of a queue call");
	is_int((long long)flow_call_timeline_len(d.call), 5, "five entries");
	is_str(tl_words(&d, 3), "digit:1 routed:sales_q", "timeline from "
	    "an index, for appending");
	drv_end(&d);
}

static void
test_wait_digit(const struct flow *sales)
{
	struct drv d;

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '\0'), "WAIT 5000", "no digit in the prompt: "
	    "wait timeout_sec");
	DIGIT(&d, '3');
	is_str(run(&d), "EXEC MSet IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=3,IVR_ACTION=extension,"
	    "IVR_TARGET=1001@default,IVR_STATUS=ROUTED|AUTOHANGUP 0|"
	    "CONTEXT default|EXTENSION 1001|PRIORITY 1|END",
	    "3 in the wait: extension through SET CONTEXT/EXTENSION/PRIORITY");
	is_str(flow_call_outcome(d.call), "extension:1001@default",
	    "outcome extension:1001@default");
	drv_end(&d);
}

static void
test_actions(const struct flow *sales)
{
	struct flow_call_opts opts = default_opts;
	struct drv d;

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '4');
	is_str(run_head(&d), vars("sales", "en-US", "root", "4", "voicemail",
	    "1000@default"), "voicemail: variables");
	is_str(d.line, "EXEC VoiceMail 1000@default", "voicemail: "
	    "VoiceMail(box@ctx)");
	is_str(DONE(&d), "END", "voicemail left: END");
	is_str(flow_call_outcome(d.call), "voicemail:1000@default",
	    "outcome voicemail");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '5');
	run(&d);
	is_str(d.line, "EXEC Dial PJSIP/+15551234@trunk,20", "transfer: "
	    "Dial through the template for timeout s");
	is_str(flow_call_outcome(d.call), "transfer:+15551234",
	    "outcome transfer");
	is_str(DONE(&d), "END", "transfer over: END");
	drv_end(&d);

	opts.dial_template = NULL;
	drv_start(&d, sales, &opts);
	answered(&d);
	PLAYED(&d, '5');
	is_str(run(&d), "SET IVR_STATUS=FAILED|SET IVR_ERROR=transfer: no "
	    "dial template configured|AUTOHANGUP 0|END", "transfer without "
	    "a dial template: FAILED back to the dialplan");
	is_str(flow_call_status(d.call), "failed", "status failed");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '0'), "PLAY bye en-US \"\"", "hangup action: its "
	    "prompt, no escape digits");
	is_str(PLAYED(&d, '\0'), "HANGUP", "then HANGUP");
	is_str(DONE(&d), "END", "then END");
	is_str(flow_call_outcome(d.call), "hangup", "outcome hangup");
	is_str(flow_call_status(d.call), "completed", "hung up by the IVR: "
	    "completed");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '2');
	is_str(PLAYED(&d, '2'), "HANGUP", "hangup action without a prompt: "
	    "HANGUP at once");
	is_str(HANGUP(&d), "END", "Asterisk's HANGUP notice: END");
	is_str(flow_call_outcome(d.call), "hangup", "still outcome hangup");
	is_int(tl_count(&d, "hangup"), 1, "one hangup in the timeline");
	drv_end(&d);
}

static void
test_language(const struct flow *sales)
{
	struct flow_call_opts opts = default_opts;
	struct drv d;

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '9'), "PLAY espanol es-US \"0123459\"",
	    "language: its prompt in the new language, menu escape digits");
	is_str(d.cmd->play.text, "Espanol.", "with the Spanish text");
	is_str(d.cmd->play.voice, "Lupe", "in the Spanish voice");
	is_str(PLAYED(&d, '\0'), "PLAY welcome es-US \"0123459\"", "then "
	    "the menu again, in Spanish");
	is_str(d.cmd->play.text, "Bienvenido. 1 ventas, 2 soporte.",
	    "with the menu's Spanish text");
	is_str(flow_call_language(d.call), "es-US", "the call is in es-US");
	is_str(PLAYED(&d, '2'), "PLAY support en-US \"12*\"", "a prompt "
	    "without Spanish falls back to the first language");
	is_str(d.cmd->play.text, "Support. 1 agent, 2 bye.", "its English "
	    "text");
	is_str(d.cmd->play.voice, "Joanna", "in the English voice");
	PLAYED(&d, '1');
	is_str(run_head(&d), vars("sales", "es-US", "root>support", "921",
	    "queue", "support_q"), "IVR_LANGUAGE follows the switch");
	is_str(tl_words(&d, 0), "answered menu:root prompt:welcome digit:9 "
	    "language:es-US prompt:espanol prompt:welcome digit:2 "
	    "menu:support prompt:support digit:1 routed:support_q",
	    "timeline of a language switch");
	drv_end(&d);

	opts.lang = "es-US";
	opts.channel_language = "en";
	drv_start(&d, sales, &opts);
	is_str(flow_call_language(d.call), "es-US", "query lang wins over "
	    "the channel");
	answered(&d);
	is_str(d.cmd->play.text, "Bienvenido. 1 ventas, 2 soporte.",
	    "and the first prompt is Spanish");
	drv_end(&d);

	opts.lang = NULL;
	opts.channel_language = "es_US";
	drv_start(&d, sales, &opts);
	is_str(flow_call_language(d.call), "es-US", "channel es_US: es-US");
	drv_end(&d);

	opts.channel_language = "es";
	drv_start(&d, sales, &opts);
	is_str(flow_call_language(d.call), "es-US", "channel es: es-US");
	drv_end(&d);

	opts.lang = "fr-FR";
	opts.channel_language = "en";
	drv_start(&d, sales, &opts);
	is_str(flow_call_language(d.call), "en-US", "unknown query lang, "
	    "channel en: en-US");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	is_str(flow_call_language(d.call), "en-US", "nothing asked: the "
	    "first language");
	drv_end(&d);
}

static void
test_retries(const struct flow *sales)
{
	struct drv d;

	/* max_retries 2: welcome x3, one invalid, one timeout, fallback. */
	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '7'), "PLAY invalid en-US \"0123459\"",
	    "7 is invalid: the invalid prompt, with the menu's escape "
	    "digits");
	is_str(PLAYED(&d, '\0'), "PLAY welcome en-US \"0123459\"",
	    "then the menu again");
	is_str(PLAYED(&d, '\0'), "WAIT 5000", "then the wait");
	is_str(TIMEOUT(&d), "PLAY timeout en-US \"0123459\"", "no digit: "
	    "the timeout prompt, with escape digits");
	is_str(PLAYED(&d, '\0'), "PLAY welcome en-US \"0123459\"",
	    "the menu a third time");
	is_str(PLAYED(&d, '\0'), "WAIT 5000", "wait again");
	is_str(TIMEOUT(&d), "HANGUP", "retries used up: the fallback "
	    "(hangup) at once");
	is_str(DONE(&d), "END", "END");
	is_int(tl_count(&d, "prompt"), 5, "five prompts played in all");
	is_int(tl_count(&d, "invalid"), 1, "one invalid");
	is_int(tl_count(&d, "timeout"), 2, "two timeouts");
	is_int(tl_count(&d, "fallback"), 1, "one fallback");
	is_str(flow_call_outcome(d.call), "hangup", "outcome hangup");
	drv_end(&d);

	/* A digit typed into the invalid prompt is heard. */
	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '8');
	PLAYED(&d, '1');
	is_str(run_head(&d), vars("sales", "en-US", "root", "81", "queue",
	    "sales_q"), "barge-in during the invalid prompt selects");
	drv_end(&d);

	/* Fallback object form: support has max_retries 0. */
	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '2');
	is_str(PLAYED(&d, '\0'), "WAIT 8000", "support waits its own "
	    "timeout_sec");
	TIMEOUT(&d);
	is_str(run_head(&d), vars("sales", "en-US", "root>support", "2",
	    "transfer", "+15559999"), "fallback object: a transfer");
	is_str(d.line, "EXEC Dial PJSIP/+15559999@trunk,30", "with the "
	    "default 30 s");
	drv_end(&d);
}

static void
test_parent_and_path(const struct flow *sales)
{
	struct drv d;

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '2');
	is_str(flow_call_menu(d.call), "support", "in support");
	is_str(PLAYED(&d, '*'), "PLAY welcome en-US \"0123459\"", "* in "
	    "support: back to root");
	is_str(PLAYED(&d, '\0'), "WAIT 5000", "root waits");
	is_str(DIGIT(&d, '*'), "PLAY invalid en-US \"0123459\"", "* in "
	    "root, which has no parent: invalid");
	PLAYED(&d, '2');
	is_str(PLAYED(&d, '\0'), "WAIT 8000", "support again");
	DIGIT(&d, '1');
	is_str(run_head(&d), vars("sales", "en-US", "root>support>root>support",
	    "2**21", "queue", "support_q"), "IVR_PATH keeps every menu "
	    "entered, IVR_DIGITS every digit");
	is_str(flow_call_path(d.call), "root>support>root>support",
	    "the record's path");
	is_str(flow_call_digits(d.call), "2**21", "the record's digits");
	drv_end(&d);
}

static void
test_multi(const struct flow *multi)
{
	struct drv d;

	drv_start(&d, multi, NULL);
	is_str(answered(&d), "PLAY keys en-US \"12#\"", "multi-digit menu: "
	    "first characters as escape digits");
	is_str(PLAYED(&d, '1'), "WAIT 3000", "1 needs a second digit: "
	    "3 s for it");
	DIGIT(&d, '1');
	is_str(run_head(&d), vars("multi", "en-US", "root", "11", "queue",
	    "q11"), "11: no longer key, taken at once");
	drv_end(&d);

	drv_start(&d, multi, NULL);
	answered(&d);
	PLAYED(&d, '1');
	is_str(DIGIT(&d, '2'), "WAIT 3000", "12 could still be 123: wait");
	TIMEOUT(&d);
	is_str(run_head(&d), vars("multi", "en-US", "root", "12", "queue",
	    "q12"), "3 s without a digit: 12");
	drv_end(&d);

	drv_start(&d, multi, NULL);
	answered(&d);
	PLAYED(&d, '\0');
	DIGIT(&d, '1');
	DIGIT(&d, '2');
	DIGIT(&d, '#');
	is_str(run_head(&d), vars("multi", "en-US", "root", "12#", "queue",
	    "q12"), "# ends the entry: 12");
	drv_end(&d);

	drv_start(&d, multi, NULL);
	answered(&d);
	PLAYED(&d, '1');
	DIGIT(&d, '2');
	DIGIT(&d, '3');
	is_str(run_head(&d), vars("multi", "en-US", "root", "123", "queue",
	    "q123"), "123: the longest key, at once");
	drv_end(&d);

	drv_start(&d, multi, NULL);
	answered(&d);
	PLAYED(&d, '2');
	is_str(run_head(&d), vars("multi", "en-US", "root", "2", "queue", "q2"),
	    "2: a one-digit key among longer ones, at once");
	drv_end(&d);

	drv_start(&d, multi, NULL);
	answered(&d);
	is_str(PLAYED(&d, '#'), "HANGUP", "# is a key here: taken, not an "
	    "end of entry");
	drv_end(&d);
}

static void
test_multi_invalid(const struct flow *multi)
{
	struct drv d;

	drv_start(&d, multi, NULL);
	answered(&d);
	PLAYED(&d, '1');
	DIGIT(&d, '5');
	is_str(run_head(&d), vars("multi", "en-US", "root", "15", "voicemail",
	    "2000@office"), "15 starts no key: invalid at once, then the "
	    "'voicemail' fallback");
	is_str(d.line, "EXEC VoiceMail 2000@office", "the flow's box, "
	    "its @context kept");
	is_str(tl_words(&d, 0), "answered menu:root prompt:keys digit:1 "
	    "digit:5 invalid:root fallback:root routed:2000@office",
	    "timeline of an invalid multi-digit entry");
	drv_end(&d);

	drv_start(&d, multi, NULL);
	answered(&d);
	PLAYED(&d, '1');
	TIMEOUT(&d);
	is_str(flow_call_outcome(d.call), NULL, "no outcome while setting "
	    "the variables");
	is_str(run_head(&d), vars("multi", "en-US", "root", "1", "voicemail",
	    "2000@office"), "1 then 3 s: invalid");
	drv_end(&d);
}

static void
test_recording(const struct flow *rec)
{
	struct flow_call_opts opts = default_opts;
	struct drv d;

	drv_start(&d, rec, NULL);
	START(&d);
	DONE(&d);
	is_str(DONE(&d), "EXEC MixMonitor /rec/acme/rec/1718035200.97.wav",
	    "recording starts before the first prompt");
	is_str(flow_call_recording(d.call), "/rec/acme/rec/1718035200.97.wav",
	    "the recording path is on the record");
	is_str(DONE(&d), "PLAY hello en-US \"1\"", "then the prompt");
	is_str(d.cmd->play.backend, "polly", "a polly flow says so");
	PLAYED(&d, '\0');
	TIMEOUT(&d);
	is_str(run(&d), "EXEC MSet IVR_FLOW=rec,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=,IVR_ACTION=queue,"
	    "IVR_TARGET=overflow_q,IVR_STATUS=ROUTED|AUTOHANGUP 0|"
	    "EXEC Queue overflow_q,,,,", "the 'queue' fallback: "
	    "fallback_queue_ref");
	drv_end(&d);

	opts.uniqueid = "../../etc/x";
	drv_start(&d, rec, &opts);
	is_str(flow_call_recording(d.call), "/rec/acme/rec/.._.._etc_x.wav",
	    "a uniqueid cannot leave the folder");
	START(&d);
	DONE(&d);
	DONE(&d);
	is_str(FAILED(&d), "PLAY hello en-US \"1\"", "MixMonitor failed: "
	    "the call goes on");
	is_str(flow_call_recording(d.call), NULL, "without a recording");
	is_int(tl_count(&d, "recording_failed"), 1, "the failure is on the "
	    "timeline");
	drv_end(&d);
}

static int
lookup(const char *name, const char **context, const char **extension,
    void *arg)
{
	int *calls = arg;

	(*calls)++;
	if (strcmp(name, "sales_q") != 0)
		return -1;
	*context = "queue-acme";
	*extension = "3001";
	return 0;
}

static void
test_wazo(const struct flow *sales)
{
	struct flow_call_opts opts = default_opts;
	struct drv d;
	int calls = 0;

	opts.routing = FLOW_ROUTING_WAZO;
	opts.queue_lookup = lookup;
	opts.queue_lookup_arg = &calls;
	drv_start(&d, sales, &opts);
	answered(&d);
	PLAYED(&d, '1');
	run(&d);
	is_str(d.line, "EXEC Goto queue-acme,3001,1", "wazo: a queue by its "
	    "extension and context");
	is_int(calls, 1, "looked up once");
	is_str(flow_call_outcome(d.call), "queue:sales_q", "outcome still "
	    "names the queue");
	is_str(DONE(&d), "END", "Goto done: END, the dialplan goes there");
	drv_end(&d);

	drv_start(&d, sales, &opts);
	answered(&d);
	PLAYED(&d, '2');
	PLAYED(&d, '1');
	run(&d);
	is_str(d.line, "EXEC Queue support_q,,,,", "wazo, unknown queue: "
	    "Queue as a fallback");
	drv_end(&d);

	opts.queue_lookup = NULL;
	drv_start(&d, sales, &opts);
	answered(&d);
	PLAYED(&d, '1');
	run(&d);
	is_str(d.line, "EXEC Queue sales_q,,,,", "wazo without a lookup: "
	    "Queue");
	drv_end(&d);
}

static void
test_hangups(const struct flow *sales)
{
	struct drv d;

	drv_start(&d, sales, NULL);
	START(&d);
	is_str(HANGUP(&d), "END", "hang-up right after START: END");
	is_str(flow_call_outcome(d.call), "abandoned", "abandoned");
	is_str(flow_call_menu(d.call), NULL, "in no menu yet");
	is_str(flow_call_status(d.call), "completed", "status completed");
	is_str(DONE(&d), "END", "the ANSWER reply after that: no command");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(HANGUP(&d), "END", "hang-up during the prompt: END");
	is_str(flow_call_outcome(d.call), "abandoned", "abandoned");
	is_str(flow_call_menu(d.call), "root", "in root");
	is_str(tl_words(&d, 3), "hangup:caller", "timeline: hung up by the "
	    "caller");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '2');
	PLAYED(&d, '\0');
	is_str(HANGUP(&d), "END", "hang-up during the wait in support");
	is_str(flow_call_outcome(d.call), "abandoned", "abandoned");
	is_str(flow_call_menu(d.call), "support", "in support");
	is_str(flow_call_path(d.call), "root>support", "path so far");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '1'), "EXEC MSet IVR_FLOW=sales,"
	    "IVR_LANGUAGE=en-US,IVR_PATH=root,IVR_DIGITS=1,IVR_ACTION=queue,"
	    "IVR_TARGET=sales_q,IVR_STATUS=ROUTED", "1: the IVR_* MSet");
	is_str(HANGUP(&d), "END", "hang-up while the MSet of the IVR_* "
	    "variables is in flight");
	is_str(flow_call_outcome(d.call), "abandoned", "not routed yet: "
	    "abandoned");
	is_str(flow_call_menu(d.call), "root", "in root");
	is_int(tl_count(&d, "routed"), 0, "never routed");
	is_str(flow_call_status(d.call), "completed", "status completed");
	is_str(DONE(&d), "END", "the MSet reply after that: no command");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '1');
	is_str(DONE(&d), "AUTOHANGUP 0", "MSet done: the backstop off");
	is_str(HANGUP(&d), "END", "hang-up between the variables and the "
	    "Queue");
	is_str(flow_call_outcome(d.call), "abandoned", "still not routed: "
	    "abandoned");
	is_int(tl_count(&d, "routed"), 0, "never routed");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '1');
	run(&d);
	is_str(HANGUP(&d), "END", "hang-up during the Queue EXEC");
	is_str(flow_call_outcome(d.call), "queue:sales_q", "handed over: "
	    "the outcome stays the queue");
	is_str(flow_call_status(d.call), "completed", "completed");
	drv_end(&d);
}

/*
 * The IVR_* variables go out in one MSet, its argument exactly what
 * Asterisk's MSet parses back into the seven variables.
 */
static void
test_mset(const struct flow *sales)
{
	struct drv d;

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '2');
	is_str(PLAYED(&d, '1'), "EXEC MSet IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root>support,IVR_DIGITS=21,IVR_ACTION=queue,"
	    "IVR_TARGET=support_q,IVR_STATUS=ROUTED", "queue after "
	    "root>support: one MSet");
	is_int(d.cmd->type, FLOW_CMD_EXEC, "an EXEC");
	is_str(d.cmd->name, "MSet", "of MSet");
	is_str(d.cmd->value, "IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root>support,IVR_DIGITS=21,IVR_ACTION=queue,"
	    "IVR_TARGET=support_q,IVR_STATUS=ROUTED", "its exact argument: "
	    "name=value pairs, comma-separated, in the old SET order");
	is_str(flow_call_outcome(d.call), NULL, "no outcome while the MSet "
	    "is in flight");
	is_str(DONE(&d), "AUTOHANGUP 0", "then the backstop off");
	is_str(DONE(&d), "EXEC Queue support_q,,,,", "then Queue");
	is_str(flow_call_outcome(d.call), "queue:support_q", "handed over");
	is_str(DONE(&d), "END", "END");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '3'), "EXEC MSet IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=3,IVR_ACTION=extension,"
	    "IVR_TARGET=1001@default,IVR_STATUS=ROUTED", "extension: one "
	    "MSet, IVR_TARGET exten@context");
	is_str(d.cmd->value, "IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=3,IVR_ACTION=extension,"
	    "IVR_TARGET=1001@default,IVR_STATUS=ROUTED", "its exact argument");
	is_str(run(&d), "EXEC MSet IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=3,IVR_ACTION=extension,"
	    "IVR_TARGET=1001@default,IVR_STATUS=ROUTED|AUTOHANGUP 0|"
	    "CONTEXT default|EXTENSION 1001|PRIORITY 1|END", "then the "
	    "backstop off and SET CONTEXT/EXTENSION/PRIORITY");
	drv_end(&d);

	/* As a failed SET VARIABLE was: the call is routed all the same. */
	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '1'), "EXEC MSet IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=1,IVR_ACTION=queue,IVR_TARGET=sales_q,"
	    "IVR_STATUS=ROUTED", "1: the MSet");
	is_str(FAILED(&d), "AUTOHANGUP 0", "MSet failed: ignored, the "
	    "backstop off");
	is_str(DONE(&d), "EXEC Queue sales_q,,,,", "and Queue");
	is_str(DONE(&d), "END", "END");
	is_str(flow_call_outcome(d.call), "queue:sales_q", "outcome the "
	    "queue");
	is_str(flow_call_status(d.call), "completed", "not failed");
	is_int(tl_count(&d, "failed"), 0, "no failure on the timeline");
	drv_end(&d);

	/* The hand-over has started: the deadline no longer applies. */
	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '1');
	is_str(DEADLINE(&d), "NULL", "DEADLINE during the MSet: ignored");
	is_str(DONE(&d), "AUTOHANGUP 0", "the MSet's reply: on to the "
	    "route");
	is_str(DONE(&d), "EXEC Queue sales_q,,,,", "Queue");
	drv_end(&d);
}

/* The option of root for key, to alter behind the validator's back. */
static struct flow_option *
root_option(struct flow *flow, const char *key)
{
	for (size_t i = 0; i < flow->nmenus; i++) {
		struct flow_menu *m = &flow->menus[i];

		if (strcmp(m->id, "root") != 0)
			continue;
		for (size_t j = 0; j < m->noptions; j++)
			if (strcmp(m->options[j].key, key) == 0)
				return &m->options[j];
	}
	diag("no option %s in root", key);
	exit(1);
}

/*
 * A value MSet would not take literally gets the variables one SET
 * VARIABLE at a time. The validator lets no such value into a flow (the
 * first assertions show it refusing each), so the flow is altered
 * behind its back.
 */
static void
test_mset_unsafe(struct flow *sales)
{
	static const struct {
		char		 c;
		const char	*name;
	} bad[] = {
		{ ',', "a comma" }, { '"', "a quote" }, { '\\', "a backslash" },
		{ '|', "a pipe" }, { '(', "a parenthesis" },
		{ ')', "a closing parenthesis" }, { '[', "a bracket" },
		{ ']', "a closing bracket" }, { '\n', "a newline" },
		{ '\t', "a tab" }, { '\x01', "a control character" },
		{ '\x7f', "DEL" },
	};
	struct flow_option *o = root_option(sales, "1");
	char *saved = o->queue_ref, ref[16], want[1200];
	const char *src = "{'id': 'x',"
	    " 'languages': [{'code': 'en-US', 'voice': 'Joanna'}],"
	    " 'prompts': {'p': {'text': {'en-US': 'Hi.'}}},"
	    " 'menus': {'root': {'id': 'root', 'prompt': 'p',"
	    "   'options': {'1': {'action': 'queue', 'queue_ref': 'q'}}}}}";
	char *js = strdup(src);
	json_t *doc, *opt, *errors;
	struct flow *f;
	struct drv d;

	for (char *p = js; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	doc = json_loads(js, 0, NULL);
	free(js);
	opt = json_object_get(json_object_get(json_object_get(
	    json_object_get(doc, "menus"), "root"), "options"), "1");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(ref, sizeof(ref), "q%cx", bad[i].c);
		json_object_set_new(opt, "queue_ref", json_string(ref));
		errors = NULL;
		f = flow_parse(doc, &errors);
		ok(f == NULL && json_array_size(errors) == 1, "the validator "
		    "refuses a queue_ref with %s", bad[i].name);
		flow_free(f);
		json_decref(errors);
	}
	json_object_set_new(opt, "queue_ref", json_string("q"));
	errors = NULL;
	f = flow_parse(doc, &errors);
	ok(f != NULL, "and takes it without");
	flow_free(f);
	json_decref(errors);
	json_decref(doc);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(ref, sizeof(ref), "q%cx", bad[i].c);
		o->queue_ref = ref;
		drv_start(&d, sales, NULL);
		answered(&d);
		PLAYED(&d, '1');
		/* run_head() would cut "q|x" at its '|'. */
		snprintf(want, sizeof(want), "%s|EXEC Queue %s,,,,",
		    vars_one_by_one("sales", "en-US", "root", "1", "queue",
		    ref), ref);
		is_str(run(&d), want, "IVR_TARGET with %s: one SET VARIABLE "
		    "a variable, then the route as ever", bad[i].name);
		is_int(d.cmd->type, FLOW_CMD_EXEC, "with %s, the route is "
		    "the Queue EXEC", bad[i].name);
		drv_end(&d);
	}

	/* The fallback behaves as the variables always did. */
	o->queue_ref = ref;
	snprintf(ref, sizeof(ref), "q,x");
	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '1'), "SET IVR_FLOW=sales", "one by one: "
	    "IVR_FLOW first");
	is_str(FAILED(&d), "SET IVR_LANGUAGE=en-US", "a failed SET VARIABLE "
	    "is ignored");
	DONE(&d);
	is_str(HANGUP(&d), "END", "hang-up while setting the IVR_* "
	    "variables one by one");
	is_str(flow_call_outcome(d.call), "abandoned", "not routed yet: "
	    "abandoned");
	is_int(tl_count(&d, "routed"), 0, "never routed");
	drv_end(&d);

	/* '=' is no separator within a value: MSet splits on the first. */
	snprintf(ref, sizeof(ref), "q=x");
	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '1'), "EXEC MSet IVR_FLOW=sales,IVR_LANGUAGE=en-US,"
	    "IVR_PATH=root,IVR_DIGITS=1,IVR_ACTION=queue,IVR_TARGET=q=x,"
	    "IVR_STATUS=ROUTED", "an '=' in a value: still one MSet");
	drv_end(&d);
	o->queue_ref = saved;
}

static void
test_failures(const struct flow *sales)
{
	struct drv d;

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '1');
	run(&d);
	is_str(FAILED(&d), "SET IVR_STATUS=FAILED", "Queue failed: "
	    "IVR_STATUS=FAILED");
	is_str(DONE(&d), "SET IVR_ERROR=routing to the queue failed",
	    "and IVR_ERROR");
	is_str(DONE(&d), "END", "back to the dialplan");
	is_str(flow_call_outcome(d.call), "failed", "outcome failed");
	is_str(flow_call_status(d.call), "failed", "status failed");
	is_str(tl_words(&d, 3), "digit:1 routed:sales_q failed",
	    "the routing and its failure on the timeline");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(PLAYED(&d, '3'), "EXEC MSet IVR_FLOW=sales,"
	    "IVR_LANGUAGE=en-US,IVR_PATH=root,IVR_DIGITS=3,"
	    "IVR_ACTION=extension,IVR_TARGET=1001@default,IVR_STATUS=ROUTED",
	    "extension: the MSet ...");
	is_str(DONE(&d), "AUTOHANGUP 0", "... AUTOHANGUP 0 ...");
	is_str(DONE(&d), "CONTEXT default", "... SET CONTEXT ...");
	FAILED(&d);
	is_str(run(&d), "SET IVR_STATUS=FAILED|SET IVR_ERROR=routing to the "
	    "extension failed|END", "refused: FAILED");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	START(&d);
	is_str(run(&d), "ANSWER", "ANSWER ...");
	FAILED(&d);
	is_str(run(&d), "SET IVR_STATUS=FAILED|SET IVR_ERROR=answer "
	    "failed|END", "ANSWER failed: FAILED, no backstop to clear");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	is_str(feed(&d, FLOW_EV_PLAYED, '\0', 1), "WAIT 5000", "a failed "
	    "prompt: the menu still works by its keys");
	is_int(tl_count(&d, "prompt_failed"), 1, "and the timeline says so");
	drv_end(&d);
}

static void
test_deadline(const struct flow *sales, const struct flow *multi)
{
	struct drv d;

	drv_start(&d, multi, NULL);
	is_str(DONE(&d), "NULL", "an event before START: nothing to do");
	START(&d);
	is_str(DONE(&d), "AUTOHANGUP 120", "the flow's max_call_duration");
	DONE(&d);
	PLAYED(&d, '\0');
	is_str(DEADLINE(&d), "HANGUP", "DEADLINE during the wait: HANGUP");
	is_str(DONE(&d), "END", "then END");
	is_str(flow_call_outcome(d.call), "hangup", "outcome hangup");
	is_int(tl_count(&d, "deadline"), 1, "deadline on the timeline");
	drv_end(&d);

	drv_start(&d, sales, NULL);
	answered(&d);
	PLAYED(&d, '1');
	run(&d);
	is_str(DEADLINE(&d), "NULL", "DEADLINE once queued: ignored");
	is_str(DONE(&d), "END", "the queue call goes on to its end");
	is_str(flow_call_outcome(d.call), "queue:sales_q", "outcome queue");
	drv_end(&d);

	/* The backstop fired before the session's timer. */
	drv_start(&d, multi, NULL);
	answered(&d);
	d.now_ms = 120000;
	is_str(HANGUP(&d), "END", "hang-up at max_call_duration");
	is_str(flow_call_outcome(d.call), "hangup", "is the deadline, not "
	    "an abandon");
	drv_end(&d);
}

/* Local time in New York to UTC, by hand: EST -5, EDT -4. */
static time_t
ny(int y, int mo, int da, int h, int mi, int offset)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = da;
	tm.tm_hour = h - offset;
	tm.tm_min = mi;
	return timegm(&tm);
}

static void
test_hours(const struct flow *hours, const struct flow *bare)
{
	const struct flow_business_hours *bh = hours->business_hours;
	struct drv d;
	struct tm tm;

	setenv("TZ", "Europe/Paris", 1);
	tzset();
	is_int(flow_localtime("America/New_York", ny(2024, 3, 9, 3, 0, -5),
	    &tm), 0, "localtime in New York");
	is_int(tm.tm_hour * 100 + tm.tm_min, 300, "03:00 there");
	is_int(tm.tm_wday, 6, "a saturday");
	is_str(getenv("TZ"), "Europe/Paris", "TZ is put back");

	is_int(flow_hours_open(bh, ny(2024, 3, 8, 10, 0, -5)), 1,
	    "friday 10:00: open");
	is_int(flow_hours_open(bh, ny(2024, 3, 8, 16, 59, -5)), 1,
	    "friday 16:59: open");
	is_int(flow_hours_open(bh, ny(2024, 3, 8, 17, 0, -5)), 0,
	    "friday 17:00: closed (end exclusive)");
	is_int(flow_hours_open(bh, ny(2024, 3, 8, 23, 0, -5)), 1,
	    "friday 23:00: the overnight range");
	is_int(flow_hours_open(bh, ny(2024, 3, 9, 3, 0, -5)), 1,
	    "saturday 03:00: friday's overnight range");
	is_int(flow_hours_open(bh, ny(2024, 3, 9, 6, 0, -5)), 0,
	    "saturday 06:00: closed");
	is_int(flow_hours_open(bh, ny(2024, 3, 10, 3, 0, -4)), 0,
	    "sunday 03:00: saturday has no overnight range");
	is_int(flow_hours_open(bh, ny(2024, 3, 11, 9, 30, -4)), 1,
	    "monday after the spring DST change, 09:30 EDT: open");
	is_int(flow_hours_open(bh, ny(2024, 3, 11, 8, 30, -4)), 0,
	    "08:30 EDT: closed (a fixed EST offset would say 07:30)");
	is_int(flow_hours_open(bh, ny(2024, 11, 4, 8, 30, -5)), 0,
	    "monday after the autumn change, 08:30 EST: closed");
	is_int(flow_hours_open(bh, ny(2024, 11, 4, 9, 0, -5)), 1,
	    "09:00 EST: open");
	is_int(flow_hours_open(bh, ny(2024, 12, 25, 10, 0, -5)), 0,
	    "12-25 in 2024: holiday");
	is_int(flow_hours_open(bh, ny(2025, 12, 25, 10, 0, -5)), 0,
	    "12-25 in 2025: holiday every year");
	is_int(flow_hours_open(bh, ny(2024, 7, 4, 10, 0, -4)), 0,
	    "2024-07-04: holiday");
	is_int(flow_hours_open(bh, ny(2025, 7, 4, 10, 0, -4)), 1,
	    "2025-07-04: a working friday");
	is_int(flow_hours_open(bh, ny(2024, 11, 30, 3, 0, -5)), 0,
	    "saturday after a friday holiday: its overnight range is off");
	is_int(flow_hours_open(NULL, 0), 1, "no business hours: open");

	/* Closed, through the interpreter: prompt, then voicemail. */
	drv_start(&d, hours, NULL);
	d.wall = ny(2024, 3, 10, 12, 0, -4);
	START(&d);
	DONE(&d);
	is_str(DONE(&d), "PLAY closed en-US \"\"", "sunday: the closed "
	    "prompt");
	is_str(PLAYED(&d, '\0'), "EXEC MSet IVR_FLOW=hours,"
	    "IVR_LANGUAGE=en-US,IVR_PATH=,IVR_DIGITS=,IVR_ACTION=voicemail,"
	    "IVR_TARGET=1000,IVR_STATUS=ROUTED", "closed: one MSet, empty "
	    "IVR_PATH and IVR_DIGITS written as NAME=");
	is_str(run_head(&d), vars("hours", "en-US", "", "", "voicemail", "1000"),
	    "then the voicemail_fallback");
	is_str(d.line, "EXEC VoiceMail 1000", "VoiceMail(1000)");
	is_str(flow_call_outcome(d.call), "voicemail:1000",
	    "outcome voicemail:1000");
	is_str(tl_words(&d, 0), "answered closed prompt:closed "
	    "routed:1000", "timeline: closed hours");
	drv_end(&d);

	drv_start(&d, hours, NULL);
	d.wall = ny(2024, 3, 9, 3, 0, -5);
	is_str(answered(&d), "PLAY hello en-US \"1\"", "saturday 03:00: "
	    "open, the menu");
	drv_end(&d);

	drv_start(&d, hours, NULL);
	d.wall = ny(2024, 12, 25, 11, 0, -5);
	is_str(answered(&d), "PLAY closed en-US \"\"", "christmas: closed");
	drv_end(&d);

	drv_start(&d, bare, NULL);
	d.wall = ny(2024, 3, 12, 10, 0, -4);
	is_str(answered(&d), "HANGUP", "closed, no prompt, no voicemail: "
	    "hang up");
	is_str(flow_call_outcome(d.call), "hangup", "outcome hangup");
	is_str(DONE(&d), "END", "END");
	drv_end(&d);
}

int
main(void)
{
	struct flow *sales = parse(flow_sales), *multi = parse(flow_multi);
	struct flow *rec = parse(flow_rec), *hours = parse(flow_hours);
	struct flow *bare = parse(flow_hours_bare);

	test_queue_call(sales);
	test_wait_digit(sales);
	test_actions(sales);
	test_language(sales);
	test_retries(sales);
	test_parent_and_path(sales);
	test_multi(multi);
	test_multi_invalid(multi);
	test_recording(rec);
	test_wazo(sales);
	test_hangups(sales);
	test_mset(sales);
	test_mset_unsafe(sales);
	test_failures(sales);
	test_deadline(sales, multi);
	test_hours(hours, bare);

	flow_free(sales);
	flow_free(multi);
	flow_free(rec);
	flow_free(hours);
	flow_free(bare);
	return done_testing();
}
