#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "log.h"
#include "tts/tts.h"
#include "util.h"

/*
 * /api/ivr/tts/... and /api/ivr/maintenance/cleanup. Synthesis and the
 * cache scan run off the loop, so these reply later, through a deferred
 * request.
 */
#define SYNTH_TEXT_MAX	3000

static int
language_known(const char *code)
{
	json_t *all = tts_languages(), *v;
	size_t i;
	int found = 0;

	json_array_foreach(all, i, v)
		if (strcmp(json_string_value(v), code) == 0)
			found = 1;
	json_decref(all);
	return found;
}

static void
reply_unknown_language(struct api_req *r, const char *field,
    const char *code)
{
	api_error(r, 400, "%s: language '%s' is not supported (en-US en-GB "
	    "es-ES es-US fr-FR de-DE it-IT pt-BR ja-JP ko-KR zh-CN ru-RU)",
	    field, code);
}

/* --- GET /tts/voices ------------------------------------------------- */

static void
voices_reply(struct api_req *r, const char *language, json_t *voices,
    const char *source, const char *polly_error)
{
	json_t *doc = json_pack("{s:s, s:O, s:o, s:s}", "language", language,
	    "voices", voices, "all_languages", tts_languages(), "source",
	    source);

	if (polly_error != NULL)
		json_object_set_new(doc, "polly_error",
		    json_string(polly_error));
	api_reply(r, 200, doc);
}

struct voices_ctx {
	struct api_req	*r;
	char		*language;
};

static void
live_voices(json_t *names, const char *error, void *arg)
{
	struct voices_ctx *v = arg;

	if (names != NULL)
		voices_reply(v->r, v->language, names, "polly", NULL);
	else {
		json_t *known = tts_known_voices(v->language);

		voices_reply(v->r, v->language, known, "known", error);
		json_decref(known);
	}
	api_deferred_free(v->r);
	free(v->language);
	free(v);
}

void
api_tts_voices(struct api_req *r)
{
	const char *language = api_query(r, "language");
	struct voices_ctx *v;
	json_t *known;

	if (language == NULL)
		language = "en-US";
	if (!language_known(language)) {
		reply_unknown_language(r, "language", language);
		return;
	}
	/* Polly's live list when it is configured, else the known one. */
	v = xcalloc(1, sizeof(*v));
	v->language = xstrdup(language);
	v->r = api_defer(r);
	if (tts_polly_voices(r->tts, language, live_voices, v) == 0) {
		known = tts_known_voices(language);
		voices_reply(v->r, language, known, "known", NULL);
		json_decref(known);
		api_deferred_free(v->r);
		free(v->language);
		free(v);
	}
}

/* --- POST /tts/synthesize --------------------------------------------- */

struct synth_ctx {
	struct api_req	*r;
	json_t		*echo;		/* text, voice, language, backend */
};

static void
synthesized(uint64_t id, int ok, const char *path, int fallback,
    const char *error, void *arg)
{
	struct synth_ctx *s = arg;

	if (!ok)
		api_error(s->r, 500, "synthesis failed: %s", error);
	else {
		const char *key = strrchr(path, '/') + 1;
		char *file, *url;

		xasprintf(&file, "%s.wav", path);
		xasprintf(&url, API_PREFIX "/tts/audio/%s.wav", key);
		json_object_set_new(s->echo, "message",
		    json_string("Speech synthesized successfully"));
		json_object_set_new(s->echo, "audio_file", json_string(file));
		json_object_set_new(s->echo, "stream_file", json_string(path));
		json_object_set_new(s->echo, "audio_url", json_string(url));
		json_object_set_new(s->echo, "fallback", json_boolean(fallback));
		api_reply(s->r, 200, json_incref(s->echo));
		free(file);
		free(url);
	}
	json_decref(s->echo);
	api_deferred_free(s->r);
	free(s);
}

/* A string field: 0 and *out set (or left NULL when absent), -1 replied. */
static int
string_field(struct api_req *r, json_t *body, const char *name,
    const char **out)
{
	json_t *v = json_object_get(body, name);

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		api_error(r, 400, "%s: must be a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

void
api_tts_synthesize(struct api_req *r)
{
	struct tts_prompt p = { "local", NULL, "en-US", NULL };
	struct synth_ctx *s;
	json_t *body, *known;
	const char *key;
	json_t *v;
	size_t chars = 0;

	if ((body = api_body_object(r)) == NULL)
		return;
	json_object_foreach(body, key, v)
		if (strcmp(key, "text") && strcmp(key, "voice") &&
		    strcmp(key, "language") && strcmp(key, "tts_backend")) {
			api_error(r, 400, "%s: unknown field", key);
			goto out;
		}
	if (string_field(r, body, "text", &p.text) == -1 ||
	    string_field(r, body, "voice", &p.voice) == -1 ||
	    string_field(r, body, "language", &p.language) == -1 ||
	    string_field(r, body, "tts_backend", &p.backend) == -1)
		goto out;
	if (p.text == NULL || p.text[0] == '\0') {
		api_error(r, 400, "text: is required");
		goto out;
	}
	for (const unsigned char *c = (const unsigned char *)p.text; *c; c++)
		chars += (*c & 0xc0) != 0x80;
	if (chars > SYNTH_TEXT_MAX) {
		api_error(r, 400, "text: %zu characters; at most %d", chars,
		    SYNTH_TEXT_MAX);
		goto out;
	}
	if (!language_known(p.language)) {
		reply_unknown_language(r, "language", p.language);
		goto out;
	}
	if (strcmp(p.backend, "local") && strcmp(p.backend, "polly")) {
		api_error(r, 400, "tts_backend: must be one of polly, local");
		goto out;
	}
	/* No voice: the language's first; p.voice borrows from known. */
	known = tts_known_voices(p.language);
	if (p.voice == NULL)
		p.voice = json_string_value(json_array_get(known, 0));
	s = xcalloc(1, sizeof(*s));
	s->echo = json_pack("{s:s, s:s, s:s, s:s}", "text", p.text, "voice",
	    p.voice, "language", p.language, "tts_backend", p.backend);
	s->r = api_defer(r);
	tts_render(r->tts, &p, synthesized, s);
	json_decref(known);
out:
	json_decref(body);
}

/* --- GET /tts/audio/{key}.wav ------------------------------------------ */

void
api_tts_audio(struct api_req *r)
{
	const char *name = r->seg[2];
	char *path;
	size_t i;

	/* Only names the cache makes: 64 hex digits and ".wav". */
	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			break;
	if (i != 64 || strcmp(name + 64, ".wav") != 0) {
		api_error(r, 404, "no such audio file: %s", name);
		return;
	}
	xasprintf(&path, "%s/%.2s/%s", tts_cache_dir(r->tts), name, name);
	api_reply_file(r, path, "audio/wav");
	free(path);
}

/* --- POST /maintenance/cleanup ----------------------------------------- */

struct cleanup_ctx {
	struct api_req	*r;
	struct tts	*tts;
	json_t		*keep;
	long		 days;
};

static void
keep_key(const struct tts_prompt *p, void *arg)
{
	struct cleanup_ctx *c = arg;
	struct tts_prompt local = *p;
	char key[65];

	tts_cache_key(c->tts, p, key);
	json_array_append_new(c->keep, json_string(key));
	/* A Polly prompt may be playing from its local fallback. */
	local.backend = "local";
	tts_cache_key(c->tts, &local, key);
	json_array_append_new(c->keep, json_string(key));
}

static int
keep_flow(const struct store_flow *sf, void *arg)
{
	json_t *doc = json_loads(sf->doc, 0, NULL);

	if (doc != NULL)
		prompts_each(doc, keep_key, arg);
	json_decref(doc);
	return 0;
}

static void
cleaned(long removed, long kept, const char *error, void *arg)
{
	struct cleanup_ctx *c = arg;

	if (error != NULL)
		api_error(c->r, 500, "cleanup failed: %s", error);
	else {
		char *msg;

		xasprintf(&msg, "Cleanup completed for files older than %ld "
		    "days", c->days);
		api_reply(c->r, 200, json_pack("{s:s, s:I, s:I}", "message",
		    msg, "removed", (json_int_t)removed, "kept",
		    (json_int_t)kept));
		free(msg);
	}
	json_decref(c->keep);
	api_deferred_free(c->r);
	free(c);
}

void
api_maintenance_cleanup(struct api_req *r)
{
	struct cleanup_ctx *c;
	json_t *body, *days;
	const char *key;
	json_t *v;

	if ((body = api_body_object(r)) == NULL)
		return;
	json_object_foreach(body, key, v)
		if (strcmp(key, "max_age_days") != 0) {
			api_error(r, 400, "%s: unknown field", key);
			json_decref(body);
			return;
		}
	days = json_object_get(body, "max_age_days");
	if (days != NULL && (!json_is_integer(days) ||
	    json_integer_value(days) < 0 || json_integer_value(days) > 36500)) {
		api_error(r, 400, "max_age_days: must be an integer from 0 to "
		    "36500");
		json_decref(body);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->tts = r->tts;
	c->days = days ? (long)json_integer_value(days) : 30;
	c->keep = json_array();
	json_decref(body);
	/* Every tenant's flows: the cache is shared. */
	if (store_flow_each(r->store, NULL, keep_flow, c) != STORE_OK) {
		json_decref(c->keep);
		free(c);
		api_error(r, 500, "store error while listing flows");
		return;
	}
	c->r = api_defer(r);
	tts_cleanup(r->tts, c->days, c->keep, cleaned, c);
}
