#include "config.h"

/*
 * The rules a flow document must follow before it is stored or run.
 *
 * The validator walks the document once, in its own key order (jansson
 * keeps insertion order, which for a parsed document is document order),
 * and reports every problem it meets rather than the first one: whoever
 * edits a flow by hand wants the whole list. A problem on an object itself
 * (a missing field) is reported before the problems of its children.
 *
 * Cross references (a menu's prompt, an option's menu_ref, a prompt's
 * languages) are looked up in the document directly, so a reference to
 * something defined later in the document is fine.
 */

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "flow/flow_int.h"

struct vctx {
	json_t		*doc;
	json_t		*errors;
	size_t		 nerrors;
	/*
	 * What references are checked against. A section of the wrong type
	 * is reported once, and references into it are then not checked,
	 * so one mistake does not come back as a page of errors.
	 */
	json_t		*languages;	/* NULL if absent */
	int		 languages_bad;
	json_t		*prompts;
	int		 prompts_bad;
	json_t		*menus;
	int		 menus_bad;
};

typedef void vcheck_fn(struct vctx *, const char *, json_t *, void *);

struct vfield {
	const char	*name;
	vcheck_fn	*check;		/* NULL: accepted and ignored */
};

/* The fields an option may have; the table below says which per action. */
enum opt_field {
	OPT_ACTION,
	OPT_MENU_REF,
	OPT_QUEUE_REF,
	OPT_CONTEXT,
	OPT_EXTENSION,
	OPT_VOICEMAIL_BOX,
	OPT_DESTINATION,
	OPT_TIMEOUT,
	OPT_LANGUAGE,
	OPT_PROMPT,
	OPT_NFIELDS
};

#define F(x)	(1u << (x))

static const char *const opt_field_names[OPT_NFIELDS] = {
	"action", "menu_ref", "queue_ref", "context", "extension",
	"voicemail_box", "destination", "timeout", "language", "prompt",
};

static const struct {
	const char	*name;
	unsigned	 required;
	unsigned	 allowed;
} actions[FLOW_ACT_COUNT] = {
	[FLOW_ACT_MENU] = { "menu", F(OPT_MENU_REF), F(OPT_MENU_REF) },
	[FLOW_ACT_QUEUE] = { "queue", F(OPT_QUEUE_REF), F(OPT_QUEUE_REF) },
	[FLOW_ACT_EXTENSION] = { "extension",
	    F(OPT_CONTEXT) | F(OPT_EXTENSION),
	    F(OPT_CONTEXT) | F(OPT_EXTENSION) },
	[FLOW_ACT_VOICEMAIL] = { "voicemail",
	    F(OPT_VOICEMAIL_BOX) | F(OPT_CONTEXT),
	    F(OPT_VOICEMAIL_BOX) | F(OPT_CONTEXT) },
	[FLOW_ACT_HANGUP] = { "hangup", 0, F(OPT_PROMPT) },
	[FLOW_ACT_TRANSFER] = { "transfer", F(OPT_DESTINATION),
	    F(OPT_DESTINATION) | F(OPT_TIMEOUT) },
	[FLOW_ACT_LANGUAGE] = { "language", F(OPT_LANGUAGE),
	    F(OPT_LANGUAGE) | F(OPT_PROMPT) },
};

/* The languages Polly and espeak-ng both have a voice for. */
static const char *const supported_languages[] = {
	"en-US", "en-GB", "es-ES", "es-US", "fr-FR", "de-DE", "it-IT",
	"pt-BR", "ja-JP", "ko-KR", "zh-CN", "ru-RU",
};
#define NSUPPORTED_LANGUAGES \
	(sizeof(supported_languages) / sizeof(supported_languages[0]))

/* Asterisk's MixMonitor writes these; the extension is the format. */
static const char *const recording_formats[] = {
	"wav", "wav49", "gsm", "sln", "ulaw", "alaw", "g722",
};
#define NRECORDING_FORMATS \
	(sizeof(recording_formats) / sizeof(recording_formats[0]))

static const char *const weekday_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday",
};

#define MSG_ID		"must be 1-64 characters of A-Z a-z 0-9 _ -"
#define MSG_TARGET	"must be 1-80 characters of A-Z a-z 0-9 + * # @ . _ - / :"
#define MSG_KEY		"key must be 1-8 DTMF characters (0-9 * #)"

static void	 problem(struct vctx *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static char	*path_key(const char *, const char *);
static char	*path_index(const char *, size_t);
static void	 walk_fields(struct vctx *, const char *, json_t *,
		    const struct vfield *, void *);
static void	 require(struct vctx *, const char *, json_t *, const char *);
static const char *want_string(struct vctx *, const char *, json_t *);
static int	 want_int(struct vctx *, const char *, json_t *, json_int_t,
		    json_int_t);
static int	 want_object(struct vctx *, const char *, json_t *);
static int	 want_array(struct vctx *, const char *, json_t *);
static size_t	 utf8_chars(const char *);
static int	 safe_target(const char *);
static int	 in_list(const char *, const char *const *, size_t);
static int	 flow_has_language(struct vctx *, const char *);
static int	 flow_has_prompt(struct vctx *, const char *);
static int	 flow_has_menu(struct vctx *, const char *);
static int	 dtmf_key(const char *);
static int	 timezone_known(const char *);

static vcheck_fn check_flow_id, check_entry_context, check_tts_backend,
    check_languages, check_language, check_language_code, check_voice,
    check_prompts, check_prompt, check_prompt_text, check_menus, check_menu,
    check_menu_id, check_menu_prompt, check_timeout_sec, check_max_retries,
    check_options, check_option, check_fallback, check_parent_menu,
    check_target, check_business_hours, check_hours_name, check_timeframes,
    check_timezone, check_holidays, check_call_recording, check_enabled,
    check_format, check_max_call_duration;

static const struct vfield root_fields[] = {
	{ "id",			check_flow_id },
	{ "tenant",		check_flow_id },
	{ "entry_context",	check_entry_context },
	{ "tts_backend",	check_tts_backend },
	{ "languages",		check_languages },
	{ "prompts",		check_prompts },
	{ "menus",		check_menus },
	{ "business_hours",	check_business_hours },
	{ "voicemail_fallback",	check_target },
	{ "call_recording",	check_call_recording },
	{ "max_call_duration",	check_max_call_duration },
	/* Added by the API on the way out; a client may send them back. */
	{ "created_at",		NULL },
	{ "updated_at",		NULL },
	{ "prompts_total",	NULL },
	{ "prompts_ready",	NULL },
	{ "prompts_failed",	NULL },
	{ "status",		NULL },
	{ NULL,			NULL }
};

static const struct vfield language_fields[] = {
	{ "code",		check_language_code },
	{ "voice",		check_voice },
	{ NULL,			NULL }
};

static const struct vfield prompt_fields[] = {
	{ "text",		check_prompt_text },
	{ NULL,			NULL }
};

static const struct vfield menu_fields[] = {
	{ "id",			check_menu_id },
	{ "prompt",		check_menu_prompt },
	{ "timeout_sec",	check_timeout_sec },
	{ "max_retries",	check_max_retries },
	{ "options",		check_options },
	{ "fallback_action",	check_fallback },
	{ "parent_menu",	check_parent_menu },
	{ "fallback_queue_ref",	check_target },
	{ NULL,			NULL }
};

static const struct vfield hours_fields[] = {
	{ "name",		check_hours_name },
	{ "timeframes",		check_timeframes },
	{ "timezone",		check_timezone },
	{ "holidays",		check_holidays },
	{ NULL,			NULL }
};

static const struct vfield recording_fields[] = {
	{ "enabled",		check_enabled },
	{ "format",		check_format },
	{ NULL,			NULL }
};

/* The menu being checked, for the checks of its fields. */
struct menu_arg {
	const char	*key;
	json_t		*menu;
};

size_t
flow_validate(json_t *doc, json_t *errors)
{
	struct vctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.doc = doc;
	ctx.errors = errors;
	if (!json_is_object(doc)) {
		problem(&ctx, "flow", "must be a JSON object");
		return ctx.nerrors;
	}
	if ((ctx.languages = json_object_get(doc, "languages")) != NULL)
		ctx.languages_bad = !json_is_array(ctx.languages);
	if ((ctx.prompts = json_object_get(doc, "prompts")) != NULL)
		ctx.prompts_bad = !json_is_object(ctx.prompts);
	if ((ctx.menus = json_object_get(doc, "menus")) != NULL)
		ctx.menus_bad = !json_is_object(ctx.menus);

	require(&ctx, NULL, doc, "id");
	require(&ctx, NULL, doc, "languages");
	require(&ctx, NULL, doc, "menus");
	walk_fields(&ctx, NULL, doc, root_fields, NULL);
	return ctx.nerrors;
}

int
flow_time_range_parse(const char *s, struct flow_time_range *r)
{
	int v[4];

	/* Exactly "HH:MM-HH:MM": sscanf would let "9:0-17:00" through. */
	if (strlen(s) != 11 || s[2] != ':' || s[5] != '-' || s[8] != ':')
		return -1;
	for (int i = 0; i < 4; i++) {
		const char *p = s + i * 3;

		if (!isdigit((unsigned char)p[0]) ||
		    !isdigit((unsigned char)p[1]))
			return -1;
		v[i] = (p[0] - '0') * 10 + (p[1] - '0');
	}
	if (v[0] > 23 || v[1] > 59 || v[3] > 59)
		return -1;
	/* "24:00" ends a range at midnight; no other 24:xx does. */
	if (v[2] > 24 || (v[2] == 24 && v[3] != 0))
		return -1;
	r->start = v[0] * 60 + v[1];
	r->end = v[2] * 60 + v[3];
	return 0;
}

int
flow_holiday_parse(const char *s, struct flow_holiday *h)
{
	static const int mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	size_t len = strlen(s);
	int year = 0, month, day;

	if (len == 10) {
		if (s[4] != '-')
			return -1;
		for (int i = 0; i < 4; i++) {
			if (!isdigit((unsigned char)s[i]))
				return -1;
			year = year * 10 + (s[i] - '0');
		}
		if (year == 0)	/* 0 means every year in the struct */
			return -1;
		s += 5;
	} else if (len != 5)
		return -1;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != '-' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	month = (s[0] - '0') * 10 + (s[1] - '0');
	day = (s[3] - '0') * 10 + (s[4] - '0');
	if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1])
		return -1;
	/* "02-29" is fine every year: it simply does not happen in some. */
	if (year != 0 && month == 2 && day == 29 &&
	    !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return -1;
	h->year = year;
	h->month = month;
	h->day = day;
	return 0;
}

int
flow_weekday_parse(const char *name)
{
	for (int i = 0; i < 7; i++)
		if (strcmp(name, weekday_names[i]) == 0)
			return i;
	return -1;
}

const char *
flow_weekday_name(int wday)
{
	if (wday < 0 || wday > 6)
		return NULL;
	return weekday_names[wday];
}

int
flow_action_parse(const char *name)
{
	for (int i = 0; i < FLOW_ACT_COUNT; i++)
		if (strcmp(name, actions[i].name) == 0)
			return i;
	return -1;
}

const char *
flow_action_name(enum flow_action action)
{
	if ((int)action < 0 || action >= FLOW_ACT_COUNT)
		return NULL;
	return actions[action].name;
}

static void
problem(struct vctx *ctx, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *msg, *line;
	json_t *s;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatalx("out of memory");
	va_end(ap);
	xasprintf(&line, "%s: %s", path, msg);
	/*
	 * Keys and values come from jansson, so are valid UTF-8; a NULL here
	 * is out of memory, fatal like everywhere else.
	 */
	if ((s = json_string(line)) == NULL ||
	    json_array_append_new(ctx->errors, s) == -1)
		fatalx("out of memory");
	free(line);
	free(msg);
	ctx->nerrors++;
}

/* The root's children have no prefix: "id", not "flow.id". */
static char *
path_key(const char *parent, const char *key)
{
	char *p;

	if (parent == NULL)
		return xstrdup(key);
	xasprintf(&p, "%s.%s", parent, key);
	return p;
}

static char *
path_index(const char *parent, size_t i)
{
	char *p;

	xasprintf(&p, "%s.%zu", parent, i);
	return p;
}

static void
walk_fields(struct vctx *ctx, const char *path, json_t *obj,
    const struct vfield *fields, void *arg)
{
	const char *key;
	json_t *value;

	json_object_foreach(obj, key, value) {
		const struct vfield *f;
		char *sub = path_key(path, key);

		for (f = fields; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL)
			problem(ctx, sub, "unknown field");
		else if (f->check != NULL)
			f->check(ctx, sub, value, arg);
		free(sub);
	}
}

static void
require(struct vctx *ctx, const char *path, json_t *obj, const char *field)
{
	if (json_object_get(obj, field) == NULL)
		problem(ctx, path != NULL ? path : "flow", "%s is required",
		    field);
}

static const char *
want_string(struct vctx *ctx, const char *path, json_t *v)
{
	const char *s;

	if (!json_is_string(v)) {
		problem(ctx, path, "must be a string");
		return NULL;
	}
	s = json_string_value(v);
	/* A "\u0000" would silently cut every C string made from it. */
	if (strlen(s) != json_string_length(v)) {
		problem(ctx, path, "must not contain NUL characters");
		return NULL;
	}
	return s;
}

/* 1 if v is an integer within min..max; reports and returns 0 otherwise. */
static int
want_int(struct vctx *ctx, const char *path, json_t *v, json_int_t min,
    json_int_t max)
{
	json_int_t n;

	/* jansson keeps reals and booleans apart from integers. */
	if (!json_is_integer(v)) {
		problem(ctx, path, "must be an integer");
		return 0;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		problem(ctx, path, "must be between %" JSON_INTEGER_FORMAT
		    " and %" JSON_INTEGER_FORMAT, min, max);
		return 0;
	}
	return 1;
}

static int
want_object(struct vctx *ctx, const char *path, json_t *v)
{
	if (json_is_object(v))
		return 1;
	problem(ctx, path, "must be an object");
	return 0;
}

static int
want_array(struct vctx *ctx, const char *path, json_t *v)
{
	if (json_is_array(v))
		return 1;
	problem(ctx, path, "must be an array");
	return 0;
}

/* Characters, not bytes: limits are what a user counts. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * A string that ends up inside a dialplan application's arguments
 * (Queue, VoiceMail, Dial, Goto): a comma or | would start another
 * argument, a quote or a backslash would end or escape the AGI quoting,
 * and $ [ ] { } ( ) would be expanded or parsed by Asterisk. Rather than
 * list what is dangerous, allow what real targets use: letters, digits,
 * and + * # @ . _ - / : ("PJSIP/+15551234", "1000@default", "*97").
 */
static int
safe_target(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n >= FLOW_TARGET_MAX)
			return 0;
		if (!isalnum((unsigned char)s[n]) &&
		    strchr("+*#@._-/:", s[n]) == NULL)
			return 0;
	}
	return n > 0;
}

static int
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

static int
flow_has_language(struct vctx *ctx, const char *code)
{
	size_t i;
	json_t *lang;

	/* Every code the flow names counts, even an unsupported one. */
	json_array_foreach(ctx->languages, i, lang) {
		json_t *c = json_object_get(lang, "code");

		if (json_is_string(c) &&
		    strcmp(json_string_value(c), code) == 0)
			return 1;
	}
	return 0;
}

static int
flow_has_prompt(struct vctx *ctx, const char *id)
{
	return ctx->prompts_bad || json_object_get(ctx->prompts, id) != NULL;
}

static int
flow_has_menu(struct vctx *ctx, const char *id)
{
	return ctx->menus_bad || json_object_get(ctx->menus, id) != NULL;
}

static int
dtmf_key(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= FLOW_KEY_MAX || strchr("0123456789*#", s[n]) == NULL)
			return 0;
	return n > 0;
}

/*
 * The name goes into a path, so only tz database characters are allowed:
 * with no "." at all there can be no ".." component, and no leading "/"
 * keeps it under the zoneinfo folder. The file must then be a real TZif
 * file, so that "posix/../whatever" style tricks and stray files (the
 * folder also holds zone1970.tab, leapseconds, ...) are refused.
 */
static int
timezone_known(const char *name)
{
	char *path, magic[4];
	struct stat st;
	size_t n;
	int fd, ok = 0;

	/* The runtime's default; glibc knows it even without tzdata. */
	if (strcmp(name, "UTC") == 0)
		return 1;
	for (n = 0; name[n] != '\0'; n++) {
		if (n >= 64)
			return 0;
		if (!isalnum((unsigned char)name[n]) &&
		    strchr("_+-/", name[n]) == NULL)
			return 0;
		if (name[n] == '/' && (n == 0 || name[n - 1] == '/'))
			return 0;
	}
	/* Unreachable with today's character set; kept should it grow. */
	if (n == 0 || strstr(name, "..") != NULL)
		return 0;

	xasprintf(&path, "%s/%s", FLOW_ZONEINFO_DIR, name);
	/* O_NONBLOCK: never hang on a FIFO someone left there. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	free(path);
	if (fd == -1)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", sizeof(magic)) == 0)
		ok = 1;
	close(fd);
	return ok;
}

/* Top level. */

static void
check_flow_id(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL &&
	    !safe_id(s, FLOW_ID_MAX))
		problem(ctx, path, MSG_ID);
}

static void
check_entry_context(struct vctx *ctx, const char *path, json_t *v,
    void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL &&
	    !safe_id(s, FLOW_ENTRY_CONTEXT_MAX))
		problem(ctx, path,
		    "must be 1-79 characters of A-Z a-z 0-9 _ -");
}

static void
check_tts_backend(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL &&
	    strcmp(s, "polly") != 0 && strcmp(s, "local") != 0)
		problem(ctx, path, "must be one of polly, local");
}

static void
check_target(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL && !safe_target(s))
		problem(ctx, path, MSG_TARGET);
}

static void
check_max_call_duration(struct vctx *ctx, const char *path, json_t *v,
    void *arg)
{
	(void)arg;
	want_int(ctx, path, v, 10, 86400);
}

/* Languages. */

static void
check_languages(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	size_t i;
	json_t *lang;

	(void)arg;
	if (!want_array(ctx, path, v))
		return;
	if (json_array_size(v) == 0) {
		problem(ctx, path, "must have at least one language");
		return;
	}
	json_array_foreach(v, i, lang) {
		char *sub = path_index(path, i);

		check_language(ctx, sub, lang, &i);
		free(sub);
	}
}

static void
check_language(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	if (!want_object(ctx, path, v))
		return;
	require(ctx, path, v, "code");
	require(ctx, path, v, "voice");
	walk_fields(ctx, path, v, language_fields, arg);
}

/* arg: the language's index, to find duplicates among earlier ones. */
static void
check_language_code(struct vctx *ctx, const char *path, json_t *v,
    void *arg)
{
	size_t index = *(size_t *)arg;
	const char *code;
	char list[128];
	size_t len = 0;

	if ((code = want_string(ctx, path, v)) == NULL)
		return;
	if (!in_list(code, supported_languages, NSUPPORTED_LANGUAGES)) {
		list[0] = '\0';
		for (size_t i = 0; i < NSUPPORTED_LANGUAGES; i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s%s", i > 0 ? ", " : "", supported_languages[i]);
		problem(ctx, path, "must be one of %s", list);
		return;
	}
	for (size_t i = 0; i < index; i++) {
		json_t *c = json_object_get(json_array_get(ctx->languages, i),
		    "code");

		if (json_is_string(c) &&
		    strcmp(json_string_value(c), code) == 0) {
			problem(ctx, path, "duplicate language '%s'", code);
			return;
		}
	}
}

static void
check_voice(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL &&
	    !safe_id(s, FLOW_VOICE_MAX))
		problem(ctx, path, MSG_ID);
}

/* Prompts. */

static void
check_prompts(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *key;
	json_t *prompt;

	(void)arg;
	if (!want_object(ctx, path, v))
		return;
	json_object_foreach(v, key, prompt) {
		char *sub = path_key(path, key);

		if (!safe_id(key, FLOW_ID_MAX))
			problem(ctx, sub, "prompt id " MSG_ID);
		check_prompt(ctx, sub, prompt, NULL);
		free(sub);
	}
}

static void
check_prompt(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	if (!want_object(ctx, path, v))
		return;
	require(ctx, path, v, "text");
	walk_fields(ctx, path, v, prompt_fields, arg);
}

static void
check_prompt_text(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *lang;
	json_t *text;

	(void)arg;
	if (!want_object(ctx, path, v))
		return;
	if (json_object_size(v) == 0) {
		problem(ctx, path, "must have at least one language");
		return;
	}
	json_object_foreach(v, lang, text) {
		char *sub = path_key(path, lang);
		const char *s;

		if (!ctx->languages_bad && !flow_has_language(ctx, lang))
			problem(ctx, sub,
			    "language '%s' is not one of the flow's languages",
			    lang);
		if ((s = want_string(ctx, sub, text)) != NULL) {
			if (*s == '\0')
				problem(ctx, sub, "must not be empty");
			else if (utf8_chars(s) > FLOW_PROMPT_TEXT_MAX)
				problem(ctx, sub,
				    "must be at most %d characters",
				    FLOW_PROMPT_TEXT_MAX);
		}
		free(sub);
	}
}

/* Menus. */

static void
check_menus(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *key;
	json_t *menu;

	(void)arg;
	if (!want_object(ctx, path, v))
		return;
	if (json_object_size(v) == 0) {
		problem(ctx, path, "must have at least one menu");
		return;
	}
	/* A call has to start somewhere the admin chose, not by luck. */
	if (json_object_size(v) > 1 && json_object_get(v, "root") == NULL)
		problem(ctx, path,
		    "a flow with several menus needs one named 'root'");
	json_object_foreach(v, key, menu) {
		struct menu_arg ma = { key, menu };
		char *sub = path_key(path, key);

		if (!safe_id(key, FLOW_ID_MAX))
			problem(ctx, sub, "menu id " MSG_ID);
		check_menu(ctx, sub, menu, &ma);
		free(sub);
	}
}

static void
check_menu(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	if (!want_object(ctx, path, v))
		return;
	require(ctx, path, v, "id");
	require(ctx, path, v, "prompt");
	require(ctx, path, v, "options");
	walk_fields(ctx, path, v, menu_fields, arg);
}

static void
check_menu_id(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const struct menu_arg *ma = arg;
	const char *s;

	/* The key is the id everything refers to; the field must agree. */
	if ((s = want_string(ctx, path, v)) != NULL && strcmp(s, ma->key) != 0)
		problem(ctx, path, "must match the menu's key '%s'", ma->key);
}

static void
check_menu_prompt(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL &&
	    !flow_has_prompt(ctx, s))
		problem(ctx, path, "prompt '%s' does not exist", s);
}

static void
check_timeout_sec(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	(void)arg;
	want_int(ctx, path, v, 1, 300);
}

static void
check_max_retries(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	(void)arg;
	want_int(ctx, path, v, 0, 10);
}

static void
check_options(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *key;
	json_t *option;

	if (!want_object(ctx, path, v))
		return;
	if (json_object_size(v) == 0) {
		problem(ctx, path, "must have at least one option");
		return;
	}
	json_object_foreach(v, key, option) {
		char *sub = path_key(path, key);

		if (!dtmf_key(key))
			problem(ctx, sub, MSG_KEY);
		check_option(ctx, sub, option, arg);
		free(sub);
	}
}

/* An option, or the object form of a menu's fallback_action. */
static void
check_option(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *key, *s;
	json_t *value, *action;
	int act = -1;

	(void)arg;
	if (!want_object(ctx, path, v))
		return;
	if ((action = json_object_get(v, "action")) == NULL)
		problem(ctx, path, "action is required");
	else if (json_is_string(action))
		act = flow_action_parse(json_string_value(action));
	if (act != -1) {
		for (int f = 0; f < OPT_NFIELDS; f++)
			if ((actions[act].required & F(f)) &&
			    json_object_get(v, opt_field_names[f]) == NULL)
				problem(ctx, path,
				    "%s is required for action '%s'",
				    opt_field_names[f], actions[act].name);
	}

	json_object_foreach(v, key, value) {
		char *sub = path_key(path, key);
		int f;

		for (f = 0; f < OPT_NFIELDS; f++)
			if (strcmp(key, opt_field_names[f]) == 0)
				break;
		if (f == OPT_NFIELDS) {
			problem(ctx, sub, "unknown field");
			goto next;
		}
		if (f != OPT_ACTION && act != -1 &&
		    !(actions[act].allowed & F(f))) {
			problem(ctx, sub, "not allowed for action '%s'",
			    actions[act].name);
			goto next;
		}
		switch (f) {
		case OPT_ACTION:
			if ((s = want_string(ctx, sub, value)) != NULL &&
			    act == -1)
				problem(ctx, sub, "must be one of menu, queue, "
				    "extension, voicemail, hangup, transfer, "
				    "language");
			break;
		case OPT_MENU_REF:
			if ((s = want_string(ctx, sub, value)) != NULL &&
			    !flow_has_menu(ctx, s))
				problem(ctx, sub, "menu '%s' does not exist",
				    s);
			break;
		case OPT_TIMEOUT:
			want_int(ctx, sub, value, 1, 600);
			break;
		case OPT_LANGUAGE:
			if ((s = want_string(ctx, sub, value)) != NULL &&
			    !ctx->languages_bad && !flow_has_language(ctx, s))
				problem(ctx, sub, "language '%s' is not one of "
				    "the flow's languages", s);
			break;
		case OPT_PROMPT:
			if ((s = want_string(ctx, sub, value)) != NULL &&
			    !flow_has_prompt(ctx, s))
				problem(ctx, sub, "prompt '%s' does not exist",
				    s);
			break;
		default:	/* queue_ref, context, extension, box, dest. */
			check_target(ctx, sub, value, NULL);
			break;
		}
next:
		free(sub);
	}
}

static void
check_fallback(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const struct menu_arg *ma = arg;
	const char *s;

	if (json_is_object(v)) {
		check_option(ctx, path, v, arg);
		return;
	}
	if (!json_is_string(v)) {
		problem(ctx, path, "must be a string or an object");
		return;
	}
	if ((s = want_string(ctx, path, v)) == NULL)
		return;
	if (strcmp(s, "voicemail") == 0) {
		if (json_object_get(ctx->doc, "voicemail_fallback") == NULL)
			problem(ctx, path,
			    "'voicemail' needs the flow's voicemail_fallback");
	} else if (strcmp(s, "queue") == 0) {
		if (json_object_get(ma->menu, "fallback_queue_ref") == NULL)
			problem(ctx, path,
			    "'queue' needs the menu's fallback_queue_ref");
	} else if (strcmp(s, "hangup") != 0)
		problem(ctx, path, "must be one of voicemail, queue, hangup, "
		    "or an option object");
}

static void
check_parent_menu(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const struct menu_arg *ma = arg;
	const char *s;

	if ((s = want_string(ctx, path, v)) == NULL)
		return;
	if (strcmp(s, ma->key) == 0)
		problem(ctx, path, "must not be the menu itself");
	else if (!flow_has_menu(ctx, s))
		problem(ctx, path, "menu '%s' does not exist", s);
}

/* Business hours. */

static void
check_business_hours(struct vctx *ctx, const char *path, json_t *v,
    void *arg)
{
	if (!want_object(ctx, path, v))
		return;
	require(ctx, path, v, "name");
	require(ctx, path, v, "timeframes");
	walk_fields(ctx, path, v, hours_fields, arg);
}

static void
check_hours_name(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;
	size_t n;

	(void)arg;
	if ((s = want_string(ctx, path, v)) == NULL)
		return;
	n = utf8_chars(s);
	if (n == 0 || n > FLOW_HOURS_NAME_MAX)
		problem(ctx, path, "must be 1-%d characters",
		    FLOW_HOURS_NAME_MAX);
}

static void
check_timeframes(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *day;
	json_t *ranges, *range;
	struct flow_time_range r;
	size_t i;

	(void)arg;
	if (!want_object(ctx, path, v))
		return;
	json_object_foreach(v, day, ranges) {
		char *sub = path_key(path, day);

		if (flow_weekday_parse(day) == -1)
			problem(ctx, sub, "unknown day (monday .. sunday)");
		else if (want_array(ctx, sub, ranges)) {
			json_array_foreach(ranges, i, range) {
				char *rpath = path_index(sub, i);
				const char *s = want_string(ctx, rpath, range);

				if (s != NULL &&
				    flow_time_range_parse(s, &r) == -1)
					problem(ctx, rpath, "'%s' is not a "
					    "HH:MM-HH:MM range", s);
				else if (s != NULL && r.start == r.end)
					problem(ctx, rpath, "'%s' is an empty "
					    "range", s);
				free(rpath);
			}
		}
		free(sub);
	}
}

static void
check_timezone(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL && !timezone_known(s))
		problem(ctx, path, "unknown time zone '%s'", s);
}

static void
check_holidays(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	struct flow_holiday h;
	json_t *day;
	size_t i;

	(void)arg;
	if (!want_array(ctx, path, v))
		return;
	json_array_foreach(v, i, day) {
		char *sub = path_index(path, i);
		const char *s = want_string(ctx, sub, day);

		if (s != NULL && flow_holiday_parse(s, &h) == -1)
			problem(ctx, sub,
			    "'%s' is not a date (YYYY-MM-DD or MM-DD)", s);
		free(sub);
	}
}

/* Call recording. */

static void
check_call_recording(struct vctx *ctx, const char *path, json_t *v,
    void *arg)
{
	if (want_object(ctx, path, v))
		walk_fields(ctx, path, v, recording_fields, arg);
}

static void
check_enabled(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	(void)arg;
	if (!json_is_boolean(v))
		problem(ctx, path, "must be a boolean");
}

static void
check_format(struct vctx *ctx, const char *path, json_t *v, void *arg)
{
	const char *s;

	(void)arg;
	if ((s = want_string(ctx, path, v)) != NULL &&
	    !in_list(s, recording_formats, NRECORDING_FORMATS))
		problem(ctx, path,
		    "must be one of wav, wav49, gsm, sln, ulaw, alaw, g722");
}

int
flow_safe_target(const char *s)
{
	return s != NULL && safe_target(s);
}
