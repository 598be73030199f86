/* Shared between the files of tts/ only. */
#ifndef IVRD_TTS_INT_H
#define IVRD_TTS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "tts/tts.h"

#define TTS_RATE	8000		/* what Asterisk's .wav format requires */

/* --- voices.c ------------------------------------------------------ */

/*
 * The espeak-ng voice for a language and a (Polly) voice name: the
 * language's voice with a variant of the Polly voice's gender, a distinct
 * variant per voice, so "Joanna" and "Kendra" stay two voices. Returns -1
 * for a language we do not support.
 */
int		 tts_local_voice(const char *language, const char *voice,
		    char *out, size_t len);
/* Polly's language code for ours (zh-CN is cmn-CN at Polly); NULL if none. */
const char	*tts_polly_language(const char *language);
/* 1 when text is SSML (starts with <speak, after white space). */
int		 tts_is_ssml(const char *text);

/* --- worker.c: the one thread that owns espeak-ng and the disk ------ */

enum tts_job_kind {
	TTS_JOB_SYNTH,		/* espeak-ng -> resample -> .wav */
	TTS_JOB_WRITE,		/* 8 kHz PCM (from Polly) -> .wav */
	TTS_JOB_CLEANUP		/* scan the cache, remove what is unused */
};

struct tts_job {
	TAILQ_ENTRY(tts_job)	 entry;
	enum tts_job_kind	 kind;
	char			*path;		/* the .wav to write */

	/* TTS_JOB_SYNTH */
	char			*espeak_voice;
	char			*text;
	int			 ssml;
	/* TTS_JOB_WRITE (owned) */
	int16_t			*pcm;
	size_t			 nsamples;
	/* TTS_JOB_CLEANUP */
	char			*cache_dir;
	char		       **keep;		/* sorted keys */
	size_t			 nkeep;
	long			 max_age_days;
	tts_cleanup_cb		 cleanup_cb;
	void			*cleanup_arg;

	/* Results, set by the worker. */
	int			 ok;
	char			*error;
	double			 seconds;	/* audio length */
	double			 cpu_ms;	/* synthesis + resampling */
	long			 removed, kept;

	void			*owner;		/* the loop side's, opaque here */
};
TAILQ_HEAD(tts_jobq, tts_job);

struct tts_worker;
typedef void (*tts_job_done)(struct tts_job *job, void *arg);

struct tts_worker *tts_worker_new(struct event_base *base,
		    tts_job_done done, void *arg);
void		 tts_worker_free(struct tts_worker *w);
/* Queues job; done(job) runs on the loop when it is finished. */
void		 tts_worker_submit(struct tts_worker *w, struct tts_job *job);
void		 tts_job_free(struct tts_job *job);
/* espeak-ng's state as the worker found it; strings borrowed. */
int		 tts_worker_local_ok(struct tts_worker *w, const char **version,
		    const char **error);
size_t		 tts_worker_queued(struct tts_worker *w);

/* --- polly.c: Amazon Polly through net/http_client ---------------- */

struct polly;
struct conf;
struct http_client;

/* Reads region, endpoint and credentials from conf and the environment. */
struct polly	*polly_new(struct http_client *http, const struct conf *conf);
void		 polly_free(struct polly *polly);
/* 1 when credentials are there; else 0 and *why says what is missing. */
int		 polly_configured(const struct polly *polly, const char **why);
const char	*polly_engine(const struct polly *polly);

/* Why Polly cannot take this text now (unconfigured, too long), or NULL. */
const char	*polly_refuses(const struct polly *polly, const char *language,
		    const char *text);
/* pcm (8 kHz s16 mono) is handed over to the callback, which owns it. */
typedef void (*polly_speech_cb)(int ok, int16_t *pcm, size_t nsamples,
    const char *error, void *arg);
uint64_t	 polly_synthesize(struct polly *polly, const char *voice,
		    const char *language, const char *text,
		    polly_speech_cb cb, void *arg);
/* names: a borrowed array of voice ids, or NULL with error. */
typedef void (*polly_voices_cb)(json_t *names, const char *error,
    void *arg);
uint64_t	 polly_voices(struct polly *polly, const char *language,
		    polly_voices_cb cb, void *arg);
void		 polly_cancel(struct polly *polly, uint64_t id);
/* {"available", "error", "region", "engine", ...}, a new object. */
json_t		*polly_status(const struct polly *polly);

/* Writes 16-bit mono PCM at TTS_RATE as a WAV file, atomically. */
int		 tts_write_wav(const char *path, const int16_t *pcm,
		    size_t nsamples);

#endif
