/*
 * The flow as C structures, for flow/ and its unit tests only.
 *
 * A struct flow exists only once its document has passed flow_validate(),
 * so the interpreter may rely on what the validator enforces: every
 * menu_ref, prompt and parent_menu names an existing menu or prompt (and
 * the ref_ pointers below are set), every language code is one of the
 * flow's, there is an entry menu, and strings that reach the dialplan
 * hold no quoting or separator characters.
 *
 * Arrays keep document order; they are allocated once at parse time and
 * never move, so pointers into them stay valid until flow_free().
 * Every string is owned by the flow.
 */
#ifndef IVRD_FLOW_INT_H
#define IVRD_FLOW_INT_H

#include <stddef.h>

#include <jansson.h>

#include "flow/flow.h"

#define FLOW_ENTRY_CONTEXT_MAX	79	/* Asterisk's AST_MAX_CONTEXT - 1 */
#define FLOW_TARGET_MAX		80	/* queue, context, extension, ... */
#define FLOW_VOICE_MAX		64
#define FLOW_HOURS_NAME_MAX	64
#define FLOW_PROMPT_TEXT_MAX	3000	/* characters; Polly's request limit */
#define FLOW_KEY_MAX		8	/* DTMF characters in an option key */

#define FLOW_DEFAULT_TENANT		"default"
#define FLOW_DEFAULT_TTS		FLOW_TTS_LOCAL
#define FLOW_DEFAULT_TIMEOUT_SEC	5
#define FLOW_DEFAULT_MAX_RETRIES	3
#define FLOW_DEFAULT_TRANSFER_TIMEOUT	30
#define FLOW_DEFAULT_TIMEZONE		"UTC"
#define FLOW_DEFAULT_REC_FORMAT		"wav"
#define FLOW_DEFAULT_MAX_DURATION	300

#ifndef FLOW_ZONEINFO_DIR
#define FLOW_ZONEINFO_DIR	"/usr/share/zoneinfo"
#endif

enum flow_tts {
	FLOW_TTS_LOCAL,
	FLOW_TTS_POLLY,
};

enum flow_action {
	FLOW_ACT_MENU,
	FLOW_ACT_QUEUE,
	FLOW_ACT_EXTENSION,
	FLOW_ACT_VOICEMAIL,
	FLOW_ACT_HANGUP,
	FLOW_ACT_TRANSFER,
	FLOW_ACT_LANGUAGE,
};
#define FLOW_ACT_COUNT	(FLOW_ACT_LANGUAGE + 1)

struct flow_menu;
struct flow_prompt;

/*
 * What a key (or a menu's fallback) does. Only the fields of its action are
 * set; the others are NULL (or 0):
 *   MENU       menu_ref (ref_menu)
 *   QUEUE      queue_ref
 *   EXTENSION  context, extension
 *   VOICEMAIL  voicemail_box, context (NULL for the "voicemail" fallback
 *              string: the box is then the flow's voicemail_fallback, used
 *              as is, so it may carry its own "@context")
 *   HANGUP     prompt (ref_prompt), optional
 *   TRANSFER   destination, timeout (always set, default 30 s)
 *   LANGUAGE   language, prompt (ref_prompt), optional
 */
struct flow_option {
	char			*key;		/* NULL for a fallback */
	enum flow_action	 action;
	char			*menu_ref;
	char			*queue_ref;
	char			*context;
	char			*extension;
	char			*voicemail_box;
	char			*destination;
	int			 timeout;	/* seconds */
	char			*language;
	char			*prompt;

	/* Resolved at parse time, so the interpreter needs no lookups. */
	const struct flow_menu	*ref_menu;	/* menu_ref */
	const struct flow_prompt *ref_prompt;	/* prompt, NULL if none */
};

struct flow_menu {
	char			*id;
	char			*prompt;
	const struct flow_prompt *ref_prompt;
	int			 timeout_sec;
	int			 max_retries;
	struct flow_option	*options;	/* document order */
	size_t			 noptions;

	/*
	 * Always a complete option. The string forms are expanded here:
	 * "hangup", "voicemail" (box = the flow's voicemail_fallback) and
	 * "queue" (queue_ref = fallback_queue_ref); fallback_is_string keeps
	 * which form the document used, so flow_to_json() writes it back.
	 */
	struct flow_option	 fallback;
	int			 fallback_is_string;

	char			*parent_menu;	/* NULL if none */
	const struct flow_menu	*ref_parent;
	char			*fallback_queue_ref; /* NULL if none */
};

struct flow_prompt_text {
	char			*lang;
	char			*text;
};

struct flow_prompt {
	char			*id;
	struct flow_prompt_text	*texts;		/* at least one */
	size_t			 ntexts;
};

struct flow_language {
	char			*code;		/* "en-US" */
	char			*voice;		/* "Joanna" */
};

/*
 * Minutes from midnight, end exclusive; end may be 1440 ("24:00").
 * end < start is an overnight range, which belongs to the day it starts
 * on: 22:00-06:00 on friday is open friday 22:00 to saturday 06:00.
 * start != end always.
 */
struct flow_time_range {
	int			 start;
	int			 end;
};

struct flow_day {
	int			 given;		/* the document has it */
	struct flow_time_range	*ranges;	/* may be empty: closed */
	size_t			 nranges;
};

struct flow_holiday {
	int			 year;		/* 0: every year */
	int			 month;		/* 1..12 */
	int			 day;		/* 1..31 */
};

struct flow_business_hours {
	char			*name;
	/*
	 * Indexed like struct tm's tm_wday, 0 = sunday, so the interpreter
	 * can use localtime_r()'s answer directly. A day that is not given
	 * is closed all day.
	 */
	struct flow_day		 days[7];
	char			*timezone;	/* tz database name, "UTC" */
	int			 holidays_given;
	struct flow_holiday	*holidays;
	size_t			 nholidays;
};

struct flow {
	char			*id;
	char			*tenant;
	char			*entry_context;
	enum flow_tts		 tts_backend;
	struct flow_language	*languages;	/* at least one; [0] default */
	size_t			 nlanguages;
	struct flow_prompt	*prompts;
	size_t			 nprompts;
	struct flow_menu	*menus;		/* at least one */
	size_t			 nmenus;
	const struct flow_menu	*entry_menu;	/* "root", or the only menu */
	struct flow_business_hours *business_hours; /* NULL: always open */
	char			*voicemail_fallback; /* NULL if none */
	int			 recording_enabled;
	char			*recording_format;
	int			 max_call_duration; /* seconds */
};

/* validate.c */

/*
 * Appends one "path: message" string to errors (an array) for every
 * problem in doc, in document order. Returns the number appended.
 */
size_t		 flow_validate(json_t *doc, json_t *errors);

/*
 * "HH:MM-HH:MM" -> range. 0 on success, -1 if malformed. An empty range
 * (start == end) parses; the validator is the one that refuses it.
 */
int		 flow_time_range_parse(const char *s,
		    struct flow_time_range *r);
/* "YYYY-MM-DD" or "MM-DD", a real date. 0 on success, -1 otherwise. */
int		 flow_holiday_parse(const char *s, struct flow_holiday *h);
/* "monday".."sunday" -> tm_wday (sunday 0), -1 for anything else. */
int		 flow_weekday_parse(const char *name);
const char	*flow_weekday_name(int wday);
/* -1 for an unknown name. */
int		 flow_action_parse(const char *name);
const char	*flow_action_name(enum flow_action action);

/* flow.c: lookups for the interpreter; NULL when not found. */
const struct flow_menu	*flow_menu_find(const struct flow *flow,
			    const char *id);
const struct flow_prompt *flow_prompt_find(const struct flow *flow,
			    const char *id);
const struct flow_option *flow_option_find(const struct flow_menu *menu,
			    const char *key);
const struct flow_language *flow_language_find(const struct flow *flow,
			    const char *code);
/*
 * The prompt's text in lang; else in the flow's first language; else its
 * first text (a prompt always has one). Never NULL.
 */
const char	*flow_prompt_text(const struct flow *flow,
		    const struct flow_prompt *prompt, const char *lang);

#endif
