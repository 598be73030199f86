#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#include <event2/event.h>
#include <speex/speex_resampler.h>

#include "log.h"
#include "tts/tts_int.h"
#include "util.h"

/*
 * The worker: one thread, created at start-up, that owns libespeak-ng
 * (global state, not thread-safe: two threads synthesising interleave
 * garbage) and does every disk write and scan of the cache. Jobs come in
 * through a queue; finished jobs go to a done queue and an event_active()
 * wakes the loop (libevent is built with pthreads support for this).
 */
struct tts_worker {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct tts_jobq		 todo;
	struct tts_jobq		 done;
	size_t			 queued;
	int			 stopping;
	struct event		*done_ev;
	tts_job_done		 done_cb;
	void			*done_arg;

	/* Set once by the thread at start, read by the loop after. */
	int			 local_ok;
	int			 owns_espeak;
	char			 version[32];
	char			 error[256];
	int			 ready;
	pthread_cond_t		 ready_cond;
};

#define SPEEX_QUALITY	4	/* flat to 3.4 kHz, -85 dB at 4.5 kHz */

static void	*worker_main(void *);
static void	 worker_wake_loop(evutil_socket_t, short, void *);

struct tts_worker *
tts_worker_new(struct event_base *base, tts_job_done done, void *arg)
{
	struct tts_worker *w = xcalloc(1, sizeof(*w));

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->ready_cond, NULL);
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->done);
	w->done_cb = done;
	w->done_arg = arg;
	w->done_ev = event_new(base, -1, 0, worker_wake_loop, w);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		fatal("pthread_create");
	/* Wait for espeak-ng's initialisation, so /status tells the truth. */
	pthread_mutex_lock(&w->lock);
	while (!w->ready)
		pthread_cond_wait(&w->ready_cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return w;
}

void
tts_worker_free(struct tts_worker *w)
{
	struct tts_job *job;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while ((job = TAILQ_FIRST(&w->todo)) != NULL) {
		TAILQ_REMOVE(&w->todo, job, entry);
		tts_job_free(job);
	}
	while ((job = TAILQ_FIRST(&w->done)) != NULL) {
		TAILQ_REMOVE(&w->done, job, entry);
		tts_job_free(job);
	}
	event_free(w->done_ev);
	pthread_cond_destroy(&w->ready_cond);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void
tts_worker_submit(struct tts_worker *w, struct tts_job *job)
{
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->todo, job, entry);
	w->queued++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

size_t
tts_worker_queued(struct tts_worker *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->queued;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int
tts_worker_local_ok(struct tts_worker *w, const char **version,
    const char **error)
{
	*version = w->version;
	*error = w->error[0] ? w->error : NULL;
	return w->local_ok;
}

void
tts_job_free(struct tts_job *job)
{
	if (job == NULL)
		return;
	free(job->path);
	free(job->espeak_voice);
	free(job->text);
	free(job->pcm);
	free(job->cache_dir);
	for (size_t i = 0; i < job->nkeep; i++)
		free(job->keep[i]);
	free(job->keep);
	free(job->error);
	free(job);
}

/* On the loop: hand every finished job to the owner. */
static void
worker_wake_loop(evutil_socket_t fd, short what, void *arg)
{
	struct tts_worker *w = arg;
	struct tts_jobq batch = TAILQ_HEAD_INITIALIZER(batch);
	struct tts_job *job;

	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&batch, &w->done, entry);
	pthread_mutex_unlock(&w->lock);
	while ((job = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, job, entry);
		w->done_cb(job, w->done_arg);
	}
}

/* --- on the worker thread ------------------------------------------- */

struct synth_buf {
	int16_t		*samples;
	size_t		 n, cap;
	int		 too_long;
};

#define SYNTH_MAX_SAMPLES	(22050 * 600)	/* ten minutes */

static int
synth_cb(short *wav, int n, espeak_EVENT *events)
{
	struct synth_buf *b = events->user_data;

	if (wav == NULL || n <= 0)
		return 0;
	if (b->n + (size_t)n > SYNTH_MAX_SAMPLES) {
		b->too_long = 1;
		return 1;	/* abort */
	}
	if (b->n + (size_t)n > b->cap) {
		b->cap = (b->n + (size_t)n) * 2;
		b->samples = xrealloc(b->samples, b->cap * sizeof(int16_t));
	}
	memcpy(b->samples + b->n, wav, (size_t)n * sizeof(int16_t));
	b->n += (size_t)n;
	return 0;
}

/*
 * espeak-ng is one per process: initialised once, by the first worker,
 * and never terminated, because espeak_ng_Terminate() in 1.51 can
 * deadlock against the library's own internal thread (seen here under
 * load). Only the worker that owns it may call it.
 */
static pthread_mutex_t espeak_lock = PTHREAD_MUTEX_INITIALIZER;
static int espeak_owned, espeak_tried, espeak_ok;
static char espeak_version[32], espeak_error[256];

static void
espeak_init_once(void)
{
	espeak_ng_STATUS st;
	const char *version;

	espeak_tried = 1;
	espeak_ng_InitializePath(NULL);
	st = espeak_ng_Initialize(NULL);
	if (st == ENS_OK)
		st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0,
		    NULL);
	if (st != ENS_OK) {
		char msg[200];

		espeak_ng_GetStatusCodeMessage(st, msg, sizeof(msg));
		snprintf(espeak_error, sizeof(espeak_error), "espeak-ng: %s",
		    msg);
		log_warnx("tts: local synthesis unavailable: %s", espeak_error);
		return;
	}
	espeak_SetSynthCallback(synth_cb);
	version = espeak_Info(NULL);
	snprintf(espeak_version, sizeof(espeak_version), "%s",
	    version ? version : "?");
	espeak_ok = 1;
}

static void
local_init(struct tts_worker *w)
{
	pthread_mutex_lock(&espeak_lock);
	if (espeak_owned) {
		snprintf(w->error, sizeof(w->error), "espeak-ng is already "
		    "owned by another synthesis thread");
		pthread_mutex_unlock(&espeak_lock);
		return;
	}
	espeak_owned = 1;
	w->owns_espeak = 1;
	if (!espeak_tried)
		espeak_init_once();
	w->local_ok = espeak_ok;
	snprintf(w->version, sizeof(w->version), "%s", espeak_version);
	snprintf(w->error, sizeof(w->error), "%s", espeak_error);
	pthread_mutex_unlock(&espeak_lock);
	if (w->local_ok)
		log_info("tts: espeak-ng %s ready on the synthesis thread",
		    w->version);
}

static int
set_voice(const char *spec)
{
	espeak_VOICE props;
	char lang[64], *plus;

	if (espeak_SetVoiceByName(spec) == EE_OK)
		return 0;
	/* As the espeak-ng CLI does: by name failed, try by properties. */
	snprintf(lang, sizeof(lang), "%s", spec);
	memset(&props, 0, sizeof(props));
	if ((plus = strchr(lang, '+')) != NULL) {
		props.gender = plus[1] == 'f' ? 2 : 1;
		*plus = '\0';
	}
	props.languages = lang;
	return espeak_SetVoiceByProperties(&props) == EE_OK ? 0 : -1;
}

static double
cpu_ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 22050 Hz from espeak-ng -> 8000 Hz, with speexdsp. */
static int16_t *
resample(const int16_t *in, size_t nin, int rate, size_t *nout)
{
	SpeexResamplerState *st;
	spx_uint32_t inlen, outlen, latency, flushin, flushout;
	int16_t *out;
	size_t cap;
	int err;

	st = speex_resampler_init(1, (spx_uint32_t)rate, TTS_RATE,
	    SPEEX_QUALITY, &err);
	if (st == NULL)
		return NULL;
	speex_resampler_skip_zeros(st);
	cap = nin * TTS_RATE / (size_t)rate + 1024;
	out = xmalloc(cap * sizeof(int16_t));
	inlen = (spx_uint32_t)nin;
	outlen = (spx_uint32_t)cap;
	speex_resampler_process_int(st, 0, in, &inlen, out, &outlen);
	/* The filter holds input_latency samples back: flush them. */
	latency = (spx_uint32_t)speex_resampler_get_input_latency(st);
	flushin = latency;
	flushout = (spx_uint32_t)(cap - outlen);
	speex_resampler_process_int(st, 0, NULL, &flushin, out + outlen,
	    &flushout);
	speex_resampler_destroy(st);
	*nout = outlen + flushout;
	return out;
}

static void
run_synth(struct tts_worker *w, struct tts_job *job)
{
	struct synth_buf b = { NULL, 0, 0, 0 };
	unsigned int flags = espeakCHARS_UTF8 | espeakENDPAUSE;
	espeak_ng_STATUS st;
	int16_t *pcm;
	char *padded;
	size_t n, len;
	double t0;

	if (!w->local_ok) {
		job->error = xstrdup(w->error);
		return;
	}
	t0 = cpu_ms_now();
	if (set_voice(job->espeak_voice) == -1) {
		xasprintf(&job->error, "espeak-ng has no voice '%s'",
		    job->espeak_voice);
		return;
	}
	if (job->ssml)
		flags |= espeakSSML;
	/*
	 * espeak-ng's UTF-8 decoder reads up to 3 bytes past the end of
	 * the text: give it zeros to read.
	 */
	len = strlen(job->text);
	padded = xcalloc(1, len + 8);
	memcpy(padded, job->text, len);
	st = espeak_ng_Synthesize(padded, len + 1, 0, POS_CHARACTER, 0, flags,
	    NULL, &b);
	free(padded);
	if (st != ENS_OK || b.too_long || b.n == 0) {
		xasprintf(&job->error, "espeak-ng produced no audio%s",
		    b.too_long ? " (over ten minutes)" : "");
		free(b.samples);
		return;
	}
	pcm = resample(b.samples, b.n, espeak_ng_GetSampleRate(), &n);
	free(b.samples);
	if (pcm == NULL) {
		job->error = xstrdup("speexdsp resampler failed");
		return;
	}
	job->cpu_ms = cpu_ms_now() - t0;
	if (tts_write_wav(job->path, pcm, n) == -1)
		xasprintf(&job->error, "cannot write %s: %s", job->path,
		    strerror(errno));
	else {
		job->ok = 1;
		job->seconds = (double)n / TTS_RATE;
	}
	free(pcm);
}

static void
run_write(struct tts_job *job)
{
	if (tts_write_wav(job->path, job->pcm, job->nsamples) == -1)
		xasprintf(&job->error, "cannot write %s: %s", job->path,
		    strerror(errno));
	else {
		job->ok = 1;
		job->seconds = (double)job->nsamples / TTS_RATE;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks cache_dir/XX/KEY.wav: old and unneeded files go. */
static void
run_cleanup(struct tts_job *job)
{
	time_t cutoff = time(NULL) - job->max_age_days * 86400;
	DIR *top, *sub;
	struct dirent *d, *f;

	if ((top = opendir(job->cache_dir)) == NULL) {
		xasprintf(&job->error, "%s: %s", job->cache_dir,
		    strerror(errno));
		return;
	}
	while ((d = readdir(top)) != NULL) {
		char *dir;

		if (strlen(d->d_name) != 2 || d->d_name[0] == '.')
			continue;
		xasprintf(&dir, "%s/%s", job->cache_dir, d->d_name);
		if ((sub = opendir(dir)) == NULL) {
			free(dir);
			continue;
		}
		while ((f = readdir(sub)) != NULL) {
			char *path, key[65], *k = key;
			struct stat sb;
			size_t len = strlen(f->d_name);
			int wav = len == 68 &&
			    strcmp(f->d_name + 64, ".wav") == 0;

			if (f->d_name[0] == '.')
				continue;
			xasprintf(&path, "%s/%s", dir, f->d_name);
			if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode)) {
				free(path);
				continue;
			}
			memcpy(key, f->d_name, 64);
			key[64] = '\0';
			/* Left-over temp files of a crash go after a day. */
			if (!wav && strstr(f->d_name, ".tmp.") != NULL &&
			    sb.st_mtime < time(NULL) - 86400)
				unlink(path);
			else if (wav && sb.st_mtime < cutoff &&
			    bsearch(&k, job->keep, job->nkeep, sizeof(char *),
			    cmp_str) == NULL) {
				if (unlink(path) == 0)
					job->removed++;
			} else if (wav)
				job->kept++;
			free(path);
		}
		closedir(sub);
		rmdir(dir);	/* only succeeds when empty */
		free(dir);
	}
	closedir(top);
	job->ok = 1;
}

static void *
worker_main(void *arg)
{
	struct tts_worker *w = arg;
	struct tts_job *job;

	/*
	 * Rendering is background work: on Linux nice applies per thread,
	 * so the event loop (calls, API) wins the CPU when both want it.
	 */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) == -1)
		log_debug("tts: cannot lower the synthesis thread's priority");
	local_init(w);
	pthread_mutex_lock(&w->lock);
	w->ready = 1;
	pthread_cond_signal(&w->ready_cond);
	for (;;) {
		while (!w->stopping && TAILQ_EMPTY(&w->todo))
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stopping)
			break;
		job = TAILQ_FIRST(&w->todo);
		TAILQ_REMOVE(&w->todo, job, entry);
		pthread_mutex_unlock(&w->lock);

		switch (job->kind) {
		case TTS_JOB_SYNTH:
			run_synth(w, job);
			break;
		case TTS_JOB_WRITE:
			run_write(job);
			break;
		case TTS_JOB_CLEANUP:
			if (job->nkeep > 1)
				qsort(job->keep, job->nkeep, sizeof(char *),
				    cmp_str);
			run_cleanup(job);
			break;
		}

		pthread_mutex_lock(&w->lock);
		w->queued--;
		TAILQ_INSERT_TAIL(&w->done, job, entry);
		event_active(w->done_ev, 0, 0);
	}
	pthread_mutex_unlock(&w->lock);
	if (w->owns_espeak) {
		pthread_mutex_lock(&espeak_lock);
		espeak_owned = 0;
		pthread_mutex_unlock(&espeak_lock);
	}
	return NULL;
}
