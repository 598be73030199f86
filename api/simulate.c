#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agi/codec.h"
#include "api/api_int.h"
#include "flow/flow.h"
#include "flow/interp.h"
#include "log.h"
#include "tts/tts.h"
#include "util.h"

/*
 * POST /api/ivr/flows/{id}/simulate: the call interpreter the FastAGI
 * sessions run, driven by a scripted caller on a simulated clock, so a
 * flow can be tested without a phone. What Asterisk does is modelled as
 * agi-protocol.md says: a prompt lasts as long as its audio, a digit
 * pressed during a prompt interrupts it only if it is an escape digit, a
 * digit pressed while no command reads digits is lost.
 */
#define SIM_MAX_STEPS	10000
#define SIM_MAX_DIGITS	256

struct sim_digit {
	long	 at_ms;
	char	 digit;
	int	 used;
};

struct sim {
	struct sim_digit	 digits[SIM_MAX_DIGITS];
	size_t			 ndigits;
	long			 hangup_at;	/* -1: never */
	long			 deadline_ms;
	long			 t;		/* ms since the call started */
	time_t			 start;
	json_t			*prompts, *commands;
};

/* ISO 8601 with a Z or a +HH:MM offset; -1 when it does not parse. */
static time_t
parse_time(const char *s)
{
	struct tm tm;
	const char *rest;
	int sign, hh, mm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if ((rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*rest == '.')
		while (*++rest >= '0' && *rest <= '9')
			;
	t = timegm(&tm);
	if (strcmp(rest, "Z") == 0)
		return t;
	if ((rest[0] != '+' && rest[0] != '-') ||
	    sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2 || strlen(rest) != 6)
		return -1;
	sign = rest[0] == '+' ? 1 : -1;
	return t - sign * (hh * 3600 + mm * 60);
}

/* How long a prompt plays: its rendered audio, else an estimate. */
static long
prompt_ms(struct tts *tts, const struct flow_play *p)
{
	struct tts_prompt tp = { p->backend, p->voice, p->language, p->text };
	char path[TTS_PATH_MAX], file[TTS_PATH_MAX + 8];
	struct stat sb;
	long ms;

	if (tts_lookup(tts, &tp, path)) {
		snprintf(file, sizeof(file), "%s.wav", path);
		if (stat(file, &sb) == 0 && sb.st_size > 44)
			return (long)((sb.st_size - 44) / 16);	/* 8 kHz s16 */
	}
	ms = (long)strlen(p->text) * 65;	/* about espeak-ng's pace */
	return ms < 500 ? 500 : ms;
}

/* The next digit pressed in [from, to) that is still unused. */
static struct sim_digit *
digit_in(struct sim *sim, long from, long to)
{
	for (size_t i = 0; i < sim->ndigits; i++) {
		struct sim_digit *d = &sim->digits[i];

		if (d->used)
			continue;
		if (d->at_ms < from) {
			d->used = 1;	/* pressed between commands: lost */
			continue;
		}
		return d->at_ms < to ? d : NULL;
	}
	return NULL;
}

static void
note_command(struct sim *sim, const char *line)
{
	json_array_append_new(sim->commands, json_pack("{s:I, s:s#}", "at_ms",
	    (json_int_t)sim->t, "command", line, (int)strlen(line) - 1));
}

/*
 * Plays one command on the simulated clock; fills *ev with what Asterisk
 * would answer, when.
 */
static void
simulate_cmd(struct sim *sim, struct tts *tts, const struct flow_cmd *cmd,
    struct flow_event *ev)
{
	struct agi_cmd c;
	struct sim_digit *d;
	long end;

	memset(ev, 0, sizeof(*ev));
	ev->type = FLOW_EV_DONE;
	switch (cmd->type) {
	case FLOW_CMD_ANSWER:
		agi_cmd_answer(&c);
		break;
	case FLOW_CMD_AUTOHANGUP:
		agi_cmd_set_autohangup(&c, cmd->seconds);
		break;
	case FLOW_CMD_SET_VAR:
		agi_cmd_set_variable(&c, cmd->name, cmd->value);
		break;
	case FLOW_CMD_EXEC:
		agi_cmd_exec(&c, cmd->name, cmd->value);
		break;
	case FLOW_CMD_SET_CONTEXT:
		agi_cmd_set_context(&c, cmd->value);
		break;
	case FLOW_CMD_SET_EXTENSION:
		agi_cmd_set_extension(&c, cmd->value);
		break;
	case FLOW_CMD_SET_PRIORITY:
		agi_cmd_set_priority(&c, cmd->value);
		break;
	case FLOW_CMD_HANGUP:
		agi_cmd_hangup(&c);
		break;
	case FLOW_CMD_WAIT_DIGIT:
		agi_cmd_wait_for_digit(&c, cmd->timeout_ms);
		end = sim->t + cmd->timeout_ms;
		if ((d = digit_in(sim, sim->t, end)) != NULL) {
			d->used = 1;
			ev->type = FLOW_EV_DIGIT;
			ev->digit = d->digit;
			end = d->at_ms;
		} else
			ev->type = FLOW_EV_TIMEOUT;
		note_command(sim, c.line);
		sim->t = end;
		return;
	case FLOW_CMD_PLAY: {
		long len = prompt_ms(tts, &cmd->play), at = sim->t;
		json_t *entry;

		snprintf(c.line, sizeof(c.line), "STREAM FILE (%s, %s) \"%s\"\n",
		    cmd->play.prompt, cmd->play.language, cmd->play.escape);
		end = sim->t + len;
		ev->type = FLOW_EV_PLAYED;
		/* A digit that is no escape digit is heard by nobody. */
		while ((d = digit_in(sim, sim->t, end)) != NULL) {
			d->used = 1;
			if (strchr(cmd->play.escape, d->digit) != NULL) {
				ev->digit = d->digit;
				end = d->at_ms;
				break;
			}
		}
		entry = json_pack("{s:s, s:s, s:s, s:I, s:I}", "prompt",
		    cmd->play.prompt, "language", cmd->play.language, "text",
		    cmd->play.text, "at_ms", (json_int_t)at, "duration_ms",
		    (json_int_t)(end - at));
		if (ev->digit)
			json_object_set_new(entry, "interrupted_by",
			    json_sprintf("%c", ev->digit));
		json_array_append_new(sim->prompts, entry);
		note_command(sim, c.line);
		sim->t = end;
		return;
	}
	case FLOW_CMD_END:
		return;
	}
	note_command(sim, c.line);
}

static int
read_script(struct api_req *r, json_t *body, struct sim *sim)
{
	json_t *digits = json_object_get(body, "digits"), *v, *hang;
	const char *key;
	size_t i;

	json_object_foreach(body, key, v)
		if (strcmp(key, "digits") && strcmp(key, "hangup_at_ms") &&
		    strcmp(key, "language") && strcmp(key, "now") &&
		    strcmp(key, "caller_id")) {
			api_error(r, 400, "%s: unknown field", key);
			return -1;
		}
	if (digits != NULL && !json_is_array(digits)) {
		api_error(r, 400, "digits: must be an array");
		return -1;
	}
	if (json_array_size(digits) > SIM_MAX_DIGITS) {
		api_error(r, 400, "digits: at most %d", SIM_MAX_DIGITS);
		return -1;
	}
	json_array_foreach(digits, i, v) {
		json_t *at = json_object_get(v, "at_ms");
		const char *d = json_string_value(json_object_get(v, "digit"));

		if (!json_is_integer(at) || json_integer_value(at) < 0) {
			api_error(r, 400, "digits.%zu.at_ms: must be an "
			    "integer >= 0", i);
			return -1;
		}
		if (d == NULL || strlen(d) != 1 || !strchr("0123456789*#", *d)) {
			api_error(r, 400, "digits.%zu.digit: must be one of "
			    "0-9 * #", i);
			return -1;
		}
		if (i > 0 && json_integer_value(at) <
		    sim->digits[i - 1].at_ms) {
			api_error(r, 400, "digits.%zu.at_ms: digits must be in "
			    "time order", i);
			return -1;
		}
		sim->digits[i].at_ms = (long)json_integer_value(at);
		sim->digits[i].digit = *d;
		sim->ndigits++;
	}
	hang = json_object_get(body, "hangup_at_ms");
	sim->hangup_at = -1;
	if (hang != NULL && !json_is_null(hang)) {
		if (!json_is_integer(hang) || json_integer_value(hang) < 0) {
			api_error(r, 400, "hangup_at_ms: must be an integer "
			    ">= 0 or null");
			return -1;
		}
		sim->hangup_at = (long)json_integer_value(hang);
	}
	sim->start = time(NULL);
	if ((v = json_object_get(body, "now")) != NULL) {
		if (!json_is_string(v) ||
		    (sim->start = parse_time(json_string_value(v))) == -1) {
			api_error(r, 400, "now: must be an ISO 8601 time such "
			    "as 2026-11-23T10:00:00-05:00");
			return -1;
		}
	}
	v = json_object_get(body, "language");
	if (v != NULL && !json_is_string(v)) {
		api_error(r, 400, "language: must be a string");
		return -1;
	}
	v = json_object_get(body, "caller_id");
	if (v != NULL && !json_is_string(v)) {
		api_error(r, 400, "caller_id: must be a string");
		return -1;
	}
	return 0;
}

void
api_flow_simulate(struct api_req *r)
{
	struct store_flow sf;
	struct sim *sim;
	struct flow *flow;
	struct flow_call *call;
	struct flow_call_opts opts;
	struct flow_event ev;
	const struct flow_cmd *cmd;
	json_t *body, *doc, *errors = NULL;
	int steps = 0;

	if (api_find_flow(r, &sf) == -1)
		return;
	if ((body = api_body_object(r)) == NULL) {
		store_flow_clear(&sf);
		return;
	}
	sim = xcalloc(1, sizeof(*sim));
	if (read_script(r, body, sim) == -1)
		goto out;
	doc = json_loads(sf.doc, 0, NULL);
	flow = doc ? flow_parse(doc, &errors) : NULL;
	json_decref(doc);
	json_decref(errors);
	if (flow == NULL) {
		api_error(r, 500, "flow '%s' does not load", sf.id);
		goto out;
	}
	memset(&opts, 0, sizeof(opts));
	opts.uniqueid = "simulated";
	opts.lang = json_string_value(json_object_get(body, "language"));
	opts.routing = FLOW_ROUTING_EXEC;
	opts.dial_template = api_dial_template(r->api);
	opts.recordings_dir = api_recordings_dir(r->api);
	call = flow_call_new(flow, &opts);
	sim->deadline_ms = (long)flow_max_call_duration(flow) * 1000;
	sim->prompts = json_array();
	sim->commands = json_array();

	memset(&ev, 0, sizeof(ev));
	ev.type = FLOW_EV_START;
	ev.now = sim->start;
	while ((cmd = flow_call_next(call, &ev)) != NULL &&
	    cmd->type != FLOW_CMD_END && ++steps < SIM_MAX_STEPS) {
		long before = sim->t;

		simulate_cmd(sim, r->tts, cmd, &ev);
		/* The caller hangs up, or the time limit strikes, first. */
		if (sim->hangup_at >= 0 && sim->hangup_at <= sim->t &&
		    sim->hangup_at >= before) {
			sim->t = sim->hangup_at;
			ev.type = FLOW_EV_HANGUP;
			sim->hangup_at = -1;
		} else if (sim->t >= sim->deadline_ms &&
		    before < sim->deadline_ms) {
			sim->t = sim->deadline_ms;
			ev.type = FLOW_EV_DEADLINE;
		}
		ev.now_ms = sim->t;
		ev.now = sim->start + sim->t / 1000;
	}
	api_reply(r, 200, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, "
	    "s:I, s:o, s:o, s:o}",
	    "flow", sf.id, "tenant", sf.tenant,
	    "status", flow_call_status(call),
	    "outcome", flow_call_outcome(call),
	    "language", flow_call_language(call),
	    "path", flow_call_path(call) ? flow_call_path(call) : "",
	    "digits", flow_call_digits(call) ? flow_call_digits(call) : "",
	    "duration_ms", (json_int_t)sim->t,
	    "timeline", flow_call_timeline(call, 0),
	    "prompts", sim->prompts,
	    "commands", sim->commands));
	flow_call_free(call);
	flow_free(flow);
out:
	json_decref(body);
	store_flow_clear(&sf);
	free(sim);
}
