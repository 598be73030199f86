#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "conf.h"
#include "log.h"
#include "tts/tts_int.h"
#include "util.h"

/*
 * The loop side of TTS. A render is keyed by the SHA-256 of everything
 * that changes its audio; the file is CACHE/XX/KEY.wav and its STREAM
 * FILE name CACHE/XX/KEY. A render in progress is a `pending`; asking for
 * the same key again adds a waiter to it, so a prompt is synthesised
 * once however many ask.
 */
struct waiter {
	uint64_t		 id;
	tts_done_cb		 cb;
	void			*arg;
};

struct pending {
	LIST_ENTRY(pending)	 entry;
	struct tts		*tts;
	char			 key[65];
	char			*backend, *voice, *language, *text;
	struct waiter		*waiters;
	size_t			 nwaiters;
	uint64_t		 polly_id;	/* in flight at Polly */
	int			 fallback;	/* Polly failed: local now */
	char			*polly_error;
	/* Set when done; waiters are told from a deferred event. */
	int			 done, ok;
	char			 path[TTS_PATH_MAX];	/* STREAM FILE name */
	char			*error;
};

struct tts {
	struct event_base	*base;
	struct tts_worker	*worker;
	struct polly		*polly;
	char			*cache_dir;
	LIST_HEAD(, pending)	 pending;
	LIST_HEAD(, pending)	 finished;	/* waiting to tell waiters */
	struct event		*finish_ev;
	uint64_t		 next_id;
	char			 local_version[32];

	/* For /status. */
	long			 syntheses, polly_renders, cache_hits;
	long			 fallbacks, failures;
	double			 audio_seconds, cpu_ms;
	char			 last_fallback[300];
	time_t			 last_fallback_logged;
};

static void	tell_waiters(evutil_socket_t, short, void *);
static void	job_done(struct tts_job *, void *);
static void	start_local(struct pending *);
static void	start_polly(struct pending *);

struct tts *
tts_new(struct event_base *base, struct http_client *http,
    const struct conf *conf, char **err)
{
	struct tts *tts = xcalloc(1, sizeof(*tts));
	const char *version, *error;
	struct stat sb;

	if (stat(conf->cache_dir, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
	    access(conf->cache_dir, W_OK) == -1) {
		xasprintf(err, "cache_dir %s is not a writable folder",
		    conf->cache_dir);
		free(tts);
		return NULL;
	}
	tts->base = base;
	tts->cache_dir = xstrdup(conf->cache_dir);
	LIST_INIT(&tts->pending);
	LIST_INIT(&tts->finished);
	tts->finish_ev = event_new(base, -1, 0, tell_waiters, tts);
	tts->worker = tts_worker_new(base, job_done, tts);
	tts->polly = polly_new(http, conf);
	tts_worker_local_ok(tts->worker, &version, &error);
	snprintf(tts->local_version, sizeof(tts->local_version), "%s",
	    version);
	return tts;
}

static void
pending_free(struct pending *pd)
{
	free(pd->backend);
	free(pd->voice);
	free(pd->language);
	free(pd->text);
	free(pd->waiters);
	free(pd->polly_error);
	free(pd->error);
	free(pd);
}

void
tts_free(struct tts *tts)
{
	struct pending *pd;

	if (tts == NULL)
		return;
	polly_free(tts->polly);		/* no Polly callback after this */
	tts_worker_free(tts->worker);	/* nor any job callback */
	while ((pd = LIST_FIRST(&tts->pending)) != NULL) {
		LIST_REMOVE(pd, entry);
		pending_free(pd);
	}
	while ((pd = LIST_FIRST(&tts->finished)) != NULL) {
		LIST_REMOVE(pd, entry);
		pending_free(pd);
	}
	event_free(tts->finish_ev);
	free(tts->cache_dir);
	free(tts);
}

const char *
tts_cache_dir(const struct tts *tts)
{
	return tts->cache_dir;
}

/* --- keys and paths -------------------------------------------------- */

static int
wants_polly(const struct tts_prompt *p)
{
	return strcmp(p->backend, "polly") == 0;
}

/*
 * SHA-256 over every input that changes the audio, NUL-separated, with a
 * format version first so a change of layout never reuses old files.
 */
static void
key_of(const char *const *fields, size_t n, char key[65])
{
	static const char hexdigits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL)
		fatalx("out of memory");
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(ctx, fields[i], strlen(fields[i]) + 1);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++) {
		key[2 * i] = hexdigits[md[i] >> 4];
		key[2 * i + 1] = hexdigits[md[i] & 15];
	}
	key[64] = '\0';
}

static void
local_key(struct tts *tts, const struct tts_prompt *p, char key[65])
{
	char voice[64] = "";
	const char *fields[8];

	tts_local_voice(p->language, p->voice, voice, sizeof(voice));
	fields[0] = "ivrd-tts-1";
	fields[1] = "espeak-ng";
	fields[2] = tts->local_version;
	fields[3] = voice;		/* the voice that speaks, variant too */
	fields[4] = p->language;
	fields[5] = tts_is_ssml(p->text) ? "ssml" : "text";
	fields[6] = p->text;
	fields[7] = "8000";
	key_of(fields, 8, key);
}

static void
polly_key(struct tts *tts, const struct tts_prompt *p, char key[65])
{
	const char *fields[9] = { "ivrd-tts-1", "polly", "2016-06-10",
	    polly_engine(tts->polly), p->voice, p->language,
	    tts_is_ssml(p->text) ? "ssml" : "text", p->text, "8000" };

	key_of(fields, 9, key);
}

void
tts_cache_key(struct tts *tts, const struct tts_prompt *p, char key[65])
{
	if (wants_polly(p))
		polly_key(tts, p, key);
	else
		local_key(tts, p, key);
}

static void
stream_name(struct tts *tts, const char *key, char out[TTS_PATH_MAX])
{
	snprintf(out, TTS_PATH_MAX, "%s/%.2s/%s", tts->cache_dir, key, key);
}

static int
cached(struct tts *tts, const char *key, char out[TTS_PATH_MAX])
{
	char file[TTS_PATH_MAX + 8];

	stream_name(tts, key, out);
	snprintf(file, sizeof(file), "%s.wav", out);
	return access(file, R_OK) == 0;
}

int
tts_lookup(struct tts *tts, const struct tts_prompt *p,
    char out[TTS_PATH_MAX])
{
	char key[65], local[TTS_PATH_MAX];

	tts_cache_key(tts, p, key);
	if (cached(tts, key, out))
		return 1;
	/* Polly's file is not there: the local fallback may be. */
	if (wants_polly(p)) {
		local_key(tts, p, key);
		if (cached(tts, key, local)) {
			memcpy(out, local, TTS_PATH_MAX);
			return 1;
		}
	}
	return 0;
}

/* --- requests -------------------------------------------------------- */

static struct pending *
pending_new(struct tts *tts, const struct tts_prompt *p, const char *key)
{
	struct pending *pd = xcalloc(1, sizeof(*pd));

	pd->tts = tts;
	memcpy(pd->key, key, sizeof(pd->key));
	pd->backend = xstrdup(p->backend);
	pd->voice = xstrdup(p->voice);
	pd->language = xstrdup(p->language);
	pd->text = xstrdup(p->text);
	LIST_INSERT_HEAD(&tts->pending, pd, entry);
	return pd;
}

static uint64_t
add_waiter(struct pending *pd, tts_done_cb cb, void *arg)
{
	struct waiter *w;

	pd->waiters = xrealloc(pd->waiters, (pd->nwaiters + 1) *
	    sizeof(*pd->waiters));
	w = &pd->waiters[pd->nwaiters++];
	w->id = ++pd->tts->next_id;
	w->cb = cb;
	w->arg = arg;
	return w->id;
}

/* Marks pd done; its waiters hear of it from the loop, never re-entrantly. */
static void
finish(struct pending *pd, int ok, const char *path, const char *error)
{
	struct tts *tts = pd->tts;

	pd->done = 1;
	pd->ok = ok;
	if (path != NULL)
		snprintf(pd->path, sizeof(pd->path), "%s", path);
	if (error != NULL)
		pd->error = xstrdup(error);
	LIST_REMOVE(pd, entry);
	LIST_INSERT_HEAD(&tts->finished, pd, entry);
	event_active(tts->finish_ev, 0, 0);
}

uint64_t
tts_render(struct tts *tts, const struct tts_prompt *p, tts_done_cb cb,
    void *arg)
{
	struct pending *pd;
	char key[65], path[TTS_PATH_MAX];
	uint64_t id;

	tts_cache_key(tts, p, key);
	LIST_FOREACH(pd, &tts->pending, entry)
		if (strcmp(pd->key, key) == 0)
			return add_waiter(pd, cb, arg);
	pd = pending_new(tts, p, key);
	id = add_waiter(pd, cb, arg);
	if (cached(tts, key, path)) {
		tts->cache_hits++;
		finish(pd, 1, path, NULL);
	} else if (wants_polly(p))
		start_polly(pd);
	else
		start_local(pd);
	return id;
}

void
tts_cancel(struct tts *tts, uint64_t id)
{
	struct pending *pd;
	LIST_HEAD(, pending) *lists[2] = { (void *)&tts->pending,
	    (void *)&tts->finished };

	/* The render goes on (others may want it); only the waiter goes. */
	for (int l = 0; l < 2; l++)
		LIST_FOREACH(pd, lists[l], entry)
			for (size_t i = 0; i < pd->nwaiters; i++)
				if (pd->waiters[i].id == id) {
					pd->waiters[i].cb = NULL;
					return;
				}
}

static void
tell_waiters(evutil_socket_t fd, short what, void *arg)
{
	struct tts *tts = arg;
	struct pending *pd;

	while ((pd = LIST_FIRST(&tts->finished)) != NULL) {
		LIST_REMOVE(pd, entry);
		for (size_t i = 0; i < pd->nwaiters; i++)
			if (pd->waiters[i].cb != NULL)
				pd->waiters[i].cb(pd->waiters[i].id, pd->ok,
				    pd->ok ? pd->path : NULL, pd->fallback,
				    pd->error, pd->waiters[i].arg);
		pending_free(pd);
	}
}

static void
start_local(struct pending *pd)
{
	struct tts *tts = pd->tts;
	struct tts_prompt p = { pd->backend, pd->voice, pd->language,
	    pd->text };
	struct tts_job *job;
	char key[65], path[TTS_PATH_MAX], voice[64];

	local_key(tts, &p, key);
	if (pd->fallback && cached(tts, key, path)) {
		tts->cache_hits++;
		finish(pd, 1, path, NULL);
		return;
	}
	if (tts_local_voice(pd->language, pd->voice, voice,
	    sizeof(voice)) == -1) {
		tts->failures++;
		finish(pd, 0, NULL, "no local voice for this language");
		return;
	}
	stream_name(tts, key, path);
	job = xcalloc(1, sizeof(*job));
	job->kind = TTS_JOB_SYNTH;
	xasprintf(&job->path, "%s.wav", path);
	job->espeak_voice = xstrdup(voice);
	job->text = xstrdup(pd->text);
	job->ssml = tts_is_ssml(pd->text);
	job->owner = pd;
	tts_worker_submit(tts->worker, job);
}

static void
fall_back(struct pending *pd, const char *why)
{
	struct tts *tts = pd->tts;

	time_t now = time(NULL);

	tts->fallbacks++;
	/* Once a minute per reason is enough to see it in the log. */
	if (strcmp(tts->last_fallback, why) != 0 ||
	    now - tts->last_fallback_logged >= 60) {
		log_warnx("tts: Polly voice %s (%s) not used, local voice "
		    "instead: %s (%ld fallbacks so far)", pd->voice,
		    pd->language, why, tts->fallbacks);
		tts->last_fallback_logged = now;
	}
	snprintf(tts->last_fallback, sizeof(tts->last_fallback), "%s", why);
	pd->fallback = 1;
	pd->polly_error = xstrdup(why);
	start_local(pd);
}

static void
polly_speech_done(int ok, int16_t *pcm, size_t n, const char *error,
    void *arg)
{
	struct pending *pd = arg;
	struct tts_job *job;
	char path[TTS_PATH_MAX];

	pd->polly_id = 0;
	if (!ok) {
		fall_back(pd, error);
		return;
	}
	stream_name(pd->tts, pd->key, path);
	job = xcalloc(1, sizeof(*job));
	job->kind = TTS_JOB_WRITE;
	xasprintf(&job->path, "%s.wav", path);
	job->pcm = pcm;
	job->nsamples = n;
	job->owner = pd;
	tts_worker_submit(pd->tts->worker, job);
}

static void
start_polly(struct pending *pd)
{
	const char *why = polly_refuses(pd->tts->polly, pd->language,
	    pd->text);

	if (why == NULL)
		pd->polly_id = polly_synthesize(pd->tts->polly, pd->voice,
		    pd->language, pd->text, polly_speech_done, pd);
	if (pd->polly_id == 0)
		fall_back(pd, why ? why : "the Polly request could not start");
}

/* A worker job is back on the loop. */
static void
job_done(struct tts_job *job, void *arg)
{
	struct tts *tts = arg;
	struct pending *pd = job->owner;
	char path[TTS_PATH_MAX];

	if (job->kind == TTS_JOB_CLEANUP) {
		log_info("tts: cleanup removed %ld files, kept %ld",
		    job->removed, job->kept);
		job->cleanup_cb(job->removed, job->kept, job->error,
		    job->cleanup_arg);
		tts_job_free(job);
		return;
	}
	if (job->ok) {
		if (job->kind == TTS_JOB_SYNTH)
			tts->syntheses++;
		else
			tts->polly_renders++;
		tts->audio_seconds += job->seconds;
		tts->cpu_ms += job->cpu_ms;
		snprintf(path, sizeof(path), "%.*s", (int)strlen(job->path) - 4,
		    job->path);
		finish(pd, 1, path, NULL);
	} else {
		tts->failures++;
		log_warnx("tts: rendering failed: %s", job->error);
		finish(pd, 0, NULL, job->error);
	}
	tts_job_free(job);
}

uint64_t
tts_polly_voices(struct tts *tts, const char *language, tts_voices_cb cb,
    void *arg)
{
	if (!polly_configured(tts->polly, NULL))
		return 0;
	return polly_voices(tts->polly, language, cb, arg);
}

/* --- maintenance and status ------------------------------------------- */

void
tts_cleanup(struct tts *tts, long max_age_days, json_t *keep,
    tts_cleanup_cb cb, void *arg)
{
	struct tts_job *job = xcalloc(1, sizeof(*job));
	json_t *k;
	size_t i;

	job->kind = TTS_JOB_CLEANUP;
	job->cache_dir = xstrdup(tts->cache_dir);
	job->max_age_days = max_age_days;
	job->keep = xcalloc(json_array_size(keep) + 1, sizeof(char *));
	json_array_foreach(keep, i, k)
		job->keep[job->nkeep++] = xstrdup(json_string_value(k));
	job->cleanup_cb = cb;
	job->cleanup_arg = arg;
	tts_worker_submit(tts->worker, job);
}

json_t *
tts_status(struct tts *tts)
{
	const char *version, *error;
	int local_ok = tts_worker_local_ok(tts->worker, &version, &error);
	json_t *polly = polly_status(tts->polly);

	json_object_set_new(polly, "fallbacks", json_integer(tts->fallbacks));
	json_object_set_new(polly, "last_fallback_error",
	    tts->last_fallback[0] ? json_string(tts->last_fallback) :
	    json_null());
	return json_pack("{s:o, s:{s:b, s:s?, s:[s], s:s, s:s}, s:{s:s, "
	    "s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f}}",
	    "polly", polly,
	    "local", "available", local_ok, "error", error, "engines",
	    "espeak-ng", "version", version, "resampler", "speexdsp q4",
	    "cache", "dir", tts->cache_dir, "format", "wav 8000 Hz 16-bit mono",
	    "syntheses", (json_int_t)tts->syntheses,
	    "polly_renders", (json_int_t)tts->polly_renders,
	    "cache_hits", (json_int_t)tts->cache_hits,
	    "failures", (json_int_t)tts->failures,
	    "queued", (json_int_t)tts_worker_queued(tts->worker),
	    "audio_seconds", tts->audio_seconds,
	    "synthesis_cpu_ms", tts->cpu_ms);
}
