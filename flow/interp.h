/*
 * The call interpreter: runs one call through a flow as a pure state
 * machine. Events in, commands out; no sockets, no clock, no storage.
 * The FastAGI session turns each command into AGI lines and each reply
 * into an event; the simulation API drives the same machine with a
 * scripted caller. Behaviour is shared/flow-runtime.md's.
 *
 * The protocol, one command in flight at a time:
 *
 *	cmd = flow_call_next(call, START);
 *	while (cmd->type != FLOW_CMD_END) {
 *		run cmd; wait for its reply (or a hang-up, or the deadline);
 *		cmd = flow_call_next(call, the event that came);
 *	}
 *	close the session; store the record (flow_call_status() ...).
 *
 * Every command is completed by exactly one event:
 *	PLAY		PLAYED (digit that stopped it, or none)
 *	WAIT_DIGIT	DIGIT (the digit) or TIMEOUT
 *	anything else	DONE (failed set when the command failed)
 * A PLAY that cannot be played (synthesis failed, file missing) is
 * completed by PLAYED with failed set: the menu goes on by its keys.
 *
 * HANGUP (the caller went away: "HANGUP" line, 511, EOF) and DEADLINE
 * (max_call_duration reached) come whenever they happen, with a command
 * in flight or not. HANGUP always answers END. DEADLINE answers HANGUP
 * while the caller is in the IVR; the session sends it at once, which
 * cuts a STREAM FILE or WAIT FOR DIGIT short, and ignores whatever reply
 * the superseded command still gets. Once the call is handed over
 * (routing started) DEADLINE is ignored: the limit is for time inside
 * the IVR.
 *
 * flow_call_next() returns NULL when the event asks for nothing new (a
 * DEADLINE after the hand-over, an event before START): keep waiting for
 * the command in flight. After END it returns END again, forever.
 */
#ifndef IVRD_FLOW_INTERP_H
#define IVRD_FLOW_INTERP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct flow;
struct flow_call;

/*
 * How a queue is reached (config). Voicemail, transfer and extension are
 * the same in both styles.
 */
enum flow_routing {
	FLOW_ROUTING_EXEC,	/* plain Asterisk: EXEC Queue "name,,,," */
	FLOW_ROUTING_WAZO,	/* Wazo: EXEC Goto "ctx,exten,1" */
};

/*
 * The Wazo extension of queue name: 0 with *context and *extension set
 * (read at once, never kept), -1 when unknown; the call then falls back
 * to EXEC Queue, which still reaches the queue, without Wazo's extras.
 */
typedef int (*flow_queue_lookup_cb)(const char *name, const char **context,
    const char **extension, void *arg);

/*
 * What a call needs besides its flow. Every string is read during
 * flow_call_new() only (the call keeps copies of what it needs later),
 * so the session may free its agi_* variables and config may be reloaded.
 * The lookup callback and its arg must outlive the call.
 */
struct flow_call_opts {
	const char	*uniqueid;	/* agi_uniqueid: names the recording */
	const char	*lang;		/* the query's lang=, NULL if none */
	const char	*channel_language; /* agi_language: "en", "es_US" */
	const char	*recordings_dir; /* NULL: FLOW_DEFAULT_RECORDINGS_DIR */
	/*
	 * Outbound dial string for transfers: every "%s" becomes the
	 * destination, "%%" a "%" ("PJSIP/%s@trunk"). NULL or empty: a
	 * transfer fails (IVR_STATUS=FAILED), as nothing sane can be guessed.
	 */
	const char	*dial_template;
	enum flow_routing routing;
	flow_queue_lookup_cb queue_lookup; /* FLOW_ROUTING_WAZO; may be NULL */
	void		*queue_lookup_arg;
};

#define FLOW_DEFAULT_RECORDINGS_DIR	"/var/spool/asterisk/monitor"
#define FLOW_COLLECT_MS			3000	/* between digits of a key */

enum flow_event_type {
	FLOW_EV_START,		/* the AGI environment has been read */
	FLOW_EV_PLAYED,		/* PLAY ended: digit, or '\0' */
	FLOW_EV_DIGIT,		/* WAIT_DIGIT got digit */
	FLOW_EV_TIMEOUT,	/* WAIT_DIGIT got nothing */
	FLOW_EV_DONE,		/* any other command ended; see failed */
	FLOW_EV_HANGUP,		/* the caller is gone */
	FLOW_EV_DEADLINE,	/* max_call_duration inside the IVR is over */
};

/* Zeroed fields are the common case: no digit, not failed. */
struct flow_event {
	enum flow_event_type	 type;
	char			 digit;	/* '0'-'9', '*', '#'; '\0' for none */
	int			 failed; /* DONE, PLAYED: the command failed */
	int64_t			 now_ms; /* monotonic, since the call started */
	/*
	 * Wall clock, on every event: business hours are judged at the
	 * event that ends the set-up (the last DONE before the first menu).
	 */
	time_t			 now;
};

enum flow_cmd_type {
	FLOW_CMD_ANSWER,
	FLOW_CMD_AUTOHANGUP,	/* SET AUTOHANGUP seconds (0: off) */
	FLOW_CMD_PLAY,		/* STREAM FILE <audio of play> "escape" */
	FLOW_CMD_WAIT_DIGIT,	/* WAIT FOR DIGIT timeout_ms */
	FLOW_CMD_SET_VAR,	/* SET VARIABLE name "value" */
	FLOW_CMD_EXEC,		/* EXEC name "value" */
	FLOW_CMD_SET_CONTEXT,	/* SET CONTEXT value */
	FLOW_CMD_SET_EXTENSION,	/* SET EXTENSION value */
	FLOW_CMD_SET_PRIORITY,	/* SET PRIORITY value */
	FLOW_CMD_HANGUP,	/* HANGUP */
	FLOW_CMD_END,		/* close the session: back to the dialplan */
};

/*
 * One prompt to play: what decides its audio (the fields of a
 * struct tts_prompt) and the digits that stop it. language and voice are
 * those of the text chosen, which is the first language's when the
 * prompt has no text in the call's language.
 */
struct flow_play {
	const char	*prompt;	/* prompt id, "welcome" */
	const char	*text;
	const char	*language;	/* "en-US" */
	const char	*voice;		/* "Joanna" */
	const char	*backend;	/* "local" or "polly" */
	const char	*escape;	/* "12*"; "" when no digit may stop it */
};

/* Every pointer is borrowed, valid until the next flow_call_next(). */
struct flow_cmd {
	enum flow_cmd_type	 type;
	struct flow_play	 play;		/* PLAY */
	int			 timeout_ms;	/* WAIT_DIGIT */
	int			 seconds;	/* AUTOHANGUP */
	const char		*name;		/* SET_VAR variable, EXEC app */
	const char		*value;		/* SET_VAR, EXEC, SET_* */
};

/*
 * A new call on flow (borrowed: it must outlive the call). Chooses the
 * language at once. Never NULL.
 */
struct flow_call	*flow_call_new(const struct flow *flow,
			    const struct flow_call_opts *opts);
void			 flow_call_free(struct flow_call *call);

/* The next command (borrowed), or NULL for none; see above. */
const struct flow_cmd	*flow_call_next(struct flow_call *call,
			    const struct flow_event *ev);

/* 1 once END has been returned. */
int			 flow_call_done(const struct flow_call *call);

/*
 * The call record as it stands; borrowed strings, valid until the next
 * flow_call_next() or flow_call_free().
 *	status		"ringing" (until ANSWER is done), "in-progress",
 *			"completed", "failed"
 *	outcome		NULL while undecided; "queue:sales_q",
 *			"extension:1001@default", "voicemail:1000",
 *			"transfer:+15551234", "hangup", "abandoned", "failed"
 *	menu		the menu the caller is (or was last) in, NULL before
 *			the first one: with "abandoned", where they hung up
 *	path		menus entered, "root>support" (IVR_PATH)
 *	digits		every digit the caller pressed, in order (IVR_DIGITS)
 *	recording	the MixMonitor file, NULL when not recording
 */
const char	*flow_call_language(const struct flow_call *call);
const char	*flow_call_status(const struct flow_call *call);
const char	*flow_call_outcome(const struct flow_call *call);
const char	*flow_call_menu(const struct flow_call *call);
const char	*flow_call_path(const struct flow_call *call);
const char	*flow_call_digits(const struct flow_call *call);
const char	*flow_call_recording(const struct flow_call *call);

/*
 * The timeline: one object per event, {"at_ms": 1200, "event": "prompt",
 * ...}, from entry number from on (0 for all; the number of entries so
 * far is flow_call_timeline_len(), so a store can append as the call
 * goes). A new array. Events and their fields:
 *	answered
 *	recording	path
 *	recording_failed
 *	closed		(business hours)
 *	menu		menu
 *	prompt		prompt, language, text
 *	prompt_failed	prompt
 *	digit		digit, menu
 *	invalid		menu, digits
 *	timeout		menu
 *	fallback	menu (max_retries reached)
 *	language	language
 *	routed		action, target
 *	hangup		by ("caller" or "ivr"), menu
 *	deadline
 *	failed		error
 */
json_t		*flow_call_timeline(const struct flow_call *call, size_t from);
size_t		 flow_call_timeline_len(const struct flow_call *call);

#endif
