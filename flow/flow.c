#include "config.h"

/*
 * JSON <-> struct flow. flow_parse() lets validate.c judge the document
 * first, so the builder below may take every type, range and reference
 * for granted and only fills in defaults.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "flow/flow_int.h"

static void	 build_language(struct flow_language *, json_t *);
static void	 build_prompt(struct flow_prompt *, const char *, json_t *);
static void	 build_menu(struct flow *, struct flow_menu *, const char *,
		    json_t *);
static void	 build_option(struct flow_option *, const char *, json_t *);
static void	 build_fallback(struct flow *, struct flow_menu *, json_t *);
static struct flow_business_hours *build_hours(json_t *);
static void	 resolve(struct flow *);
static void	 resolve_option(struct flow *, struct flow_option *);
static void	 option_clear(struct flow_option *);
static void	 menu_clear(struct flow_menu *);
static void	 hours_free(struct flow_business_hours *);
static json_t	*option_to_json(const struct flow_option *);
static json_t	*menu_to_json(const struct flow_menu *);
static json_t	*hours_to_json(const struct flow_business_hours *);
static char	*get_str(json_t *, const char *, const char *);
static int	 get_int(json_t *, const char *, int);
static json_t	*jcheck(json_t *);
static void	 jset(json_t *, const char *, json_t *);
static void	 jset_opt(json_t *, const char *, const char *);
static void	 jappend(json_t *, json_t *);

struct flow *
flow_parse(json_t *doc, json_t **errors)
{
	struct flow *flow;
	json_t *errs, *v, *item, *rec;
	const char *key;
	size_t i;

	errs = jcheck(json_array());
	if (flow_validate(doc, errs) > 0) {
		*errors = errs;
		return NULL;
	}
	json_decref(errs);
	*errors = NULL;

	flow = xcalloc(1, sizeof(*flow));
	flow->id = get_str(doc, "id", NULL);
	flow->tenant = get_str(doc, "tenant", FLOW_DEFAULT_TENANT);
	if ((flow->entry_context = get_str(doc, "entry_context", NULL)) == NULL)
		xasprintf(&flow->entry_context, "dp-ivr-%s", flow->id);
	flow->tts_backend = FLOW_DEFAULT_TTS;
	if ((v = json_object_get(doc, "tts_backend")) != NULL &&
	    strcmp(json_string_value(v), "polly") == 0)
		flow->tts_backend = FLOW_TTS_POLLY;

	v = json_object_get(doc, "languages");
	flow->nlanguages = json_array_size(v);
	flow->languages = xcalloc(flow->nlanguages, sizeof(*flow->languages));
	for (i = 0; i < flow->nlanguages; i++)
		build_language(&flow->languages[i], json_array_get(v, i));

	v = json_object_get(doc, "prompts");
	flow->nprompts = json_object_size(v);	/* 0 when absent */
	flow->prompts = xcalloc(flow->nprompts, sizeof(*flow->prompts));
	i = 0;
	json_object_foreach(v, key, item)
		build_prompt(&flow->prompts[i++], key, item);

	/* Before the menus: a "voicemail" fallback copies it. */
	flow->voicemail_fallback = get_str(doc, "voicemail_fallback", NULL);

	v = json_object_get(doc, "menus");
	flow->nmenus = json_object_size(v);
	flow->menus = xcalloc(flow->nmenus, sizeof(*flow->menus));
	i = 0;
	json_object_foreach(v, key, item)
		build_menu(flow, &flow->menus[i++], key, item);

	if ((v = json_object_get(doc, "business_hours")) != NULL)
		flow->business_hours = build_hours(v);

	rec = json_object_get(doc, "call_recording");
	flow->recording_enabled = json_is_true(json_object_get(rec, "enabled"));
	flow->recording_format = get_str(rec, "format",
	    FLOW_DEFAULT_REC_FORMAT);
	flow->max_call_duration = get_int(doc, "max_call_duration",
	    FLOW_DEFAULT_MAX_DURATION);

	resolve(flow);
	return flow;
}

void
flow_free(struct flow *flow)
{
	size_t i, j;

	if (flow == NULL)
		return;
	free(flow->id);
	free(flow->tenant);
	free(flow->entry_context);
	for (i = 0; i < flow->nlanguages; i++) {
		free(flow->languages[i].code);
		free(flow->languages[i].voice);
	}
	free(flow->languages);
	for (i = 0; i < flow->nprompts; i++) {
		struct flow_prompt *p = &flow->prompts[i];

		for (j = 0; j < p->ntexts; j++) {
			free(p->texts[j].lang);
			free(p->texts[j].text);
		}
		free(p->texts);
		free(p->id);
	}
	free(flow->prompts);
	for (i = 0; i < flow->nmenus; i++)
		menu_clear(&flow->menus[i]);
	free(flow->menus);
	hours_free(flow->business_hours);
	free(flow->voicemail_fallback);
	free(flow->recording_format);
	free(flow);
}

json_t *
flow_to_json(const struct flow *flow)
{
	json_t *doc, *arr, *obj, *rec;
	size_t i, j;

	doc = jcheck(json_object());
	jset(doc, "id", json_string(flow->id));
	jset(doc, "tenant", json_string(flow->tenant));
	jset(doc, "entry_context", json_string(flow->entry_context));
	jset(doc, "tts_backend", json_string(
	    flow->tts_backend == FLOW_TTS_POLLY ? "polly" : "local"));

	arr = jcheck(json_array());
	for (i = 0; i < flow->nlanguages; i++) {
		json_t *lang = jcheck(json_object());

		jset(lang, "code", json_string(flow->languages[i].code));
		jset(lang, "voice", json_string(flow->languages[i].voice));
		jappend(arr, lang);
	}
	jset(doc, "languages", arr);

	obj = jcheck(json_object());
	for (i = 0; i < flow->nprompts; i++) {
		const struct flow_prompt *p = &flow->prompts[i];
		json_t *prompt = jcheck(json_object());
		json_t *text = jcheck(json_object());

		for (j = 0; j < p->ntexts; j++)
			jset(text, p->texts[j].lang,
			    json_string(p->texts[j].text));
		jset(prompt, "text", text);
		jset(obj, p->id, prompt);
	}
	jset(doc, "prompts", obj);

	obj = jcheck(json_object());
	for (i = 0; i < flow->nmenus; i++)
		jset(obj, flow->menus[i].id, menu_to_json(&flow->menus[i]));
	jset(doc, "menus", obj);

	if (flow->business_hours != NULL)
		jset(doc, "business_hours",
		    hours_to_json(flow->business_hours));
	jset_opt(doc, "voicemail_fallback", flow->voicemail_fallback);

	rec = jcheck(json_object());
	jset(rec, "enabled", json_boolean(flow->recording_enabled));
	jset(rec, "format", json_string(flow->recording_format));
	jset(doc, "call_recording", rec);
	jset(doc, "max_call_duration", json_integer(flow->max_call_duration));
	return doc;
}

const char *
flow_id(const struct flow *flow)
{
	return flow->id;
}

const char *
flow_tenant(const struct flow *flow)
{
	return flow->tenant;
}

const char *
flow_entry_context(const struct flow *flow)
{
	return flow->entry_context;
}

const struct flow_menu *
flow_menu_find(const struct flow *flow, const char *id)
{
	for (size_t i = 0; i < flow->nmenus; i++)
		if (strcmp(flow->menus[i].id, id) == 0)
			return &flow->menus[i];
	return NULL;
}

const struct flow_prompt *
flow_prompt_find(const struct flow *flow, const char *id)
{
	for (size_t i = 0; i < flow->nprompts; i++)
		if (strcmp(flow->prompts[i].id, id) == 0)
			return &flow->prompts[i];
	return NULL;
}

const struct flow_option *
flow_option_find(const struct flow_menu *menu, const char *key)
{
	for (size_t i = 0; i < menu->noptions; i++)
		if (strcmp(menu->options[i].key, key) == 0)
			return &menu->options[i];
	return NULL;
}

const struct flow_language *
flow_language_find(const struct flow *flow, const char *code)
{
	for (size_t i = 0; i < flow->nlanguages; i++)
		if (strcmp(flow->languages[i].code, code) == 0)
			return &flow->languages[i];
	return NULL;
}

const char *
flow_prompt_text(const struct flow *flow, const struct flow_prompt *prompt,
    const char *lang)
{
	const char *want[2] = { lang, flow->languages[0].code };

	for (size_t w = 0; w < 2; w++)
		for (size_t i = 0; i < prompt->ntexts; i++)
			if (want[w] != NULL &&
			    strcmp(prompt->texts[i].lang, want[w]) == 0)
				return prompt->texts[i].text;
	/* Better a prompt in another language than silence. */
	return prompt->texts[0].text;
}

static void
build_language(struct flow_language *lang, json_t *v)
{
	lang->code = get_str(v, "code", NULL);
	lang->voice = get_str(v, "voice", NULL);
}

static void
build_prompt(struct flow_prompt *p, const char *id, json_t *v)
{
	json_t *text = json_object_get(v, "text"), *s;
	const char *lang;
	size_t i = 0;

	p->id = xstrdup(id);
	p->ntexts = json_object_size(text);
	p->texts = xcalloc(p->ntexts, sizeof(*p->texts));
	json_object_foreach(text, lang, s) {
		p->texts[i].lang = xstrdup(lang);
		p->texts[i].text = xstrdup(json_string_value(s));
		i++;
	}
}

static void
build_menu(struct flow *flow, struct flow_menu *m, const char *id, json_t *v)
{
	json_t *options, *o;
	const char *key;
	size_t i = 0;

	m->id = xstrdup(id);
	m->prompt = get_str(v, "prompt", NULL);
	m->timeout_sec = get_int(v, "timeout_sec", FLOW_DEFAULT_TIMEOUT_SEC);
	m->max_retries = get_int(v, "max_retries", FLOW_DEFAULT_MAX_RETRIES);
	m->parent_menu = get_str(v, "parent_menu", NULL);
	m->fallback_queue_ref = get_str(v, "fallback_queue_ref", NULL);

	options = json_object_get(v, "options");
	m->noptions = json_object_size(options);
	m->options = xcalloc(m->noptions, sizeof(*m->options));
	json_object_foreach(options, key, o)
		build_option(&m->options[i++], key, o);

	build_fallback(flow, m, json_object_get(v, "fallback_action"));
}

/* The validator let through only the fields of the option's action. */
static void
build_option(struct flow_option *o, const char *key, json_t *v)
{
	o->key = key != NULL ? xstrdup(key) : NULL;
	o->action = (enum flow_action)flow_action_parse(
	    json_string_value(json_object_get(v, "action")));
	o->menu_ref = get_str(v, "menu_ref", NULL);
	o->queue_ref = get_str(v, "queue_ref", NULL);
	o->context = get_str(v, "context", NULL);
	o->extension = get_str(v, "extension", NULL);
	o->voicemail_box = get_str(v, "voicemail_box", NULL);
	o->destination = get_str(v, "destination", NULL);
	if (o->action == FLOW_ACT_TRANSFER)
		o->timeout = get_int(v, "timeout",
		    FLOW_DEFAULT_TRANSFER_TIMEOUT);
	o->language = get_str(v, "language", NULL);
	o->prompt = get_str(v, "prompt", NULL);
}

/*
 * The string forms become full options, so the interpreter runs a
 * fallback exactly like a key; fallback_is_string remembers the form.
 */
static void
build_fallback(struct flow *flow, struct flow_menu *m, json_t *v)
{
	struct flow_option *o = &m->fallback;

	if (json_is_object(v)) {
		build_option(o, NULL, v);
		return;
	}
	m->fallback_is_string = 1;
	o->action = FLOW_ACT_HANGUP;
	if (v == NULL)
		return;
	o->action = (enum flow_action)flow_action_parse(json_string_value(v));
	if (o->action == FLOW_ACT_VOICEMAIL)
		o->voicemail_box = xstrdup(flow->voicemail_fallback);
	else if (o->action == FLOW_ACT_QUEUE)
		o->queue_ref = xstrdup(m->fallback_queue_ref);
}

static struct flow_business_hours *
build_hours(json_t *v)
{
	struct flow_business_hours *bh;
	json_t *timeframes, *ranges, *holidays;
	const char *day;
	size_t i;

	bh = xcalloc(1, sizeof(*bh));
	bh->name = get_str(v, "name", NULL);
	bh->timezone = get_str(v, "timezone", FLOW_DEFAULT_TIMEZONE);

	timeframes = json_object_get(v, "timeframes");
	json_object_foreach(timeframes, day, ranges) {
		struct flow_day *d = &bh->days[flow_weekday_parse(day)];

		d->given = 1;
		d->nranges = json_array_size(ranges);
		d->ranges = xcalloc(d->nranges, sizeof(*d->ranges));
		for (i = 0; i < d->nranges; i++)
			flow_time_range_parse(
			    json_string_value(json_array_get(ranges, i)),
			    &d->ranges[i]);
	}

	if ((holidays = json_object_get(v, "holidays")) != NULL) {
		bh->holidays_given = 1;
		bh->nholidays = json_array_size(holidays);
		bh->holidays = xcalloc(bh->nholidays, sizeof(*bh->holidays));
		for (i = 0; i < bh->nholidays; i++)
			flow_holiday_parse(
			    json_string_value(json_array_get(holidays, i)),
			    &bh->holidays[i]);
	}
	return bh;
}

/* Arrays are final by now, so pointers into them stay valid. */
static void
resolve(struct flow *flow)
{
	size_t i, j;

	for (i = 0; i < flow->nmenus; i++) {
		struct flow_menu *m = &flow->menus[i];

		m->ref_prompt = flow_prompt_find(flow, m->prompt);
		if (m->parent_menu != NULL)
			m->ref_parent = flow_menu_find(flow, m->parent_menu);
		for (j = 0; j < m->noptions; j++)
			resolve_option(flow, &m->options[j]);
		resolve_option(flow, &m->fallback);
	}
	if ((flow->entry_menu = flow_menu_find(flow, "root")) == NULL)
		flow->entry_menu = &flow->menus[0];
}

static void
resolve_option(struct flow *flow, struct flow_option *o)
{
	if (o->menu_ref != NULL)
		o->ref_menu = flow_menu_find(flow, o->menu_ref);
	if (o->prompt != NULL)
		o->ref_prompt = flow_prompt_find(flow, o->prompt);
}

static void
option_clear(struct flow_option *o)
{
	free(o->key);
	free(o->menu_ref);
	free(o->queue_ref);
	free(o->context);
	free(o->extension);
	free(o->voicemail_box);
	free(o->destination);
	free(o->language);
	free(o->prompt);
}

static void
menu_clear(struct flow_menu *m)
{
	for (size_t i = 0; i < m->noptions; i++)
		option_clear(&m->options[i]);
	free(m->options);
	option_clear(&m->fallback);
	free(m->id);
	free(m->prompt);
	free(m->parent_menu);
	free(m->fallback_queue_ref);
}

static void
hours_free(struct flow_business_hours *bh)
{
	if (bh == NULL)
		return;
	for (int d = 0; d < 7; d++)
		free(bh->days[d].ranges);
	free(bh->holidays);
	free(bh->name);
	free(bh->timezone);
	free(bh);
}

/*
 * Action first, then the action's fields in the seed's table order (the
 * builder left the others NULL). A transfer always shows its timeout, so
 * whoever reads the flow sees how long the call rings.
 */
static json_t *
option_to_json(const struct flow_option *o)
{
	json_t *obj = jcheck(json_object());

	jset(obj, "action", json_string(flow_action_name(o->action)));
	jset_opt(obj, "menu_ref", o->menu_ref);
	jset_opt(obj, "queue_ref", o->queue_ref);
	jset_opt(obj, "context", o->context);
	jset_opt(obj, "extension", o->extension);
	jset_opt(obj, "voicemail_box", o->voicemail_box);
	jset_opt(obj, "destination", o->destination);
	if (o->action == FLOW_ACT_TRANSFER)
		jset(obj, "timeout", json_integer(o->timeout));
	jset_opt(obj, "language", o->language);
	jset_opt(obj, "prompt", o->prompt);
	return obj;
}

static json_t *
menu_to_json(const struct flow_menu *m)
{
	json_t *obj, *options;

	obj = jcheck(json_object());
	jset(obj, "id", json_string(m->id));
	jset(obj, "prompt", json_string(m->prompt));
	jset(obj, "timeout_sec", json_integer(m->timeout_sec));
	jset(obj, "max_retries", json_integer(m->max_retries));
	options = jcheck(json_object());
	for (size_t i = 0; i < m->noptions; i++)
		jset(options, m->options[i].key,
		    option_to_json(&m->options[i]));
	jset(obj, "options", options);
	if (m->fallback_is_string)
		jset(obj, "fallback_action",
		    json_string(flow_action_name(m->fallback.action)));
	else
		jset(obj, "fallback_action", option_to_json(&m->fallback));
	jset_opt(obj, "parent_menu", m->parent_menu);
	jset_opt(obj, "fallback_queue_ref", m->fallback_queue_ref);
	return obj;
}

static json_t *
hours_to_json(const struct flow_business_hours *bh)
{
	json_t *obj, *timeframes;
	char buf[32];	/* room for any int: -Wformat-truncation */

	obj = jcheck(json_object());
	jset(obj, "name", json_string(bh->name));
	timeframes = jcheck(json_object());
	/* The week as people write it: monday first. */
	for (int i = 1; i <= 7; i++) {
		const struct flow_day *d = &bh->days[i % 7];
		json_t *ranges;

		if (!d->given)
			continue;
		ranges = jcheck(json_array());
		for (size_t j = 0; j < d->nranges; j++) {
			const struct flow_time_range *r = &d->ranges[j];

			snprintf(buf, sizeof(buf), "%02d:%02d-%02d:%02d",
			    r->start / 60, r->start % 60,
			    r->end / 60, r->end % 60);
			jappend(ranges, json_string(buf));
		}
		jset(timeframes, flow_weekday_name(i % 7), ranges);
	}
	jset(obj, "timeframes", timeframes);
	jset(obj, "timezone", json_string(bh->timezone));
	if (bh->holidays_given) {
		json_t *holidays = jcheck(json_array());

		for (size_t i = 0; i < bh->nholidays; i++) {
			const struct flow_holiday *h = &bh->holidays[i];

			if (h->year == 0)
				snprintf(buf, sizeof(buf), "%02d-%02d",
				    h->month, h->day);
			else
				snprintf(buf, sizeof(buf), "%04d-%02d-%02d",
				    h->year, h->month, h->day);
			jappend(holidays, json_string(buf));
		}
		jset(obj, "holidays", holidays);
	}
	return obj;
}

/* A copy of obj[key], or of def (which may be NULL) when absent. */
static char *
get_str(json_t *obj, const char *key, const char *def)
{
	json_t *v = json_object_get(obj, key);

	if (v != NULL)
		return xstrdup(json_string_value(v));
	return def != NULL ? xstrdup(def) : NULL;
}

/* The validator bounded every integer field well inside an int. */
static int
get_int(json_t *obj, const char *key, int def)
{
	json_t *v = json_object_get(obj, key);

	return v != NULL ? (int)json_integer_value(v) : def;
}

/* jansson returns NULL only when out of memory: fatal, as xmalloc is. */
static json_t *
jcheck(json_t *v)
{
	if (v == NULL)
		fatalx("out of memory");
	return v;
}

/* Steals v, like json_object_set_new. */
static void
jset(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) == -1)
		fatalx("out of memory");
}

/* Optional fields are left out rather than written as null. */
static void
jset_opt(json_t *obj, const char *key, const char *value)
{
	if (value != NULL)
		jset(obj, key, json_string(value));
}

static void
jappend(json_t *arr, json_t *v)
{
	if (v == NULL || json_array_append_new(arr, v) == -1)
		fatalx("out of memory");
}

int
flow_max_call_duration(const struct flow *flow)
{
	return flow->max_call_duration;
}
