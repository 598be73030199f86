/*
 * Text to speech: every prompt rendered ahead of time into audio Asterisk
 * plays without transcoding (8 kHz 16-bit mono WAV), in a content-
 * addressed cache, so a caller never waits for synthesis.
 *
 * Local synthesis is libespeak-ng on one worker thread (the library is
 * global state, not thread-safe), resampled 22050 -> 8000 Hz with
 * speexdsp. Amazon Polly goes through net/http_client on the loop; when
 * Polly is unconfigured, unreachable or fails, the prompt is rendered
 * locally instead, and that is logged and counted in /status.
 *
 * Everything here runs on the event loop except the worker thread, which
 * owns espeak-ng and every disk write and scan of the cache.
 */
#ifndef IVRD_TTS_H
#define IVRD_TTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct conf;
struct http_client;
struct tts;

/* What decides the audio of one prompt in one language. */
struct tts_prompt {
	const char	*backend;	/* "local" or "polly" */
	const char	*voice;		/* a Polly voice name, "Joanna" */
	const char	*language;	/* "en-US" */
	const char	*text;		/* plain text, or SSML starting with <speak> */
};

#define TTS_PATH_MAX	512

/*
 * Called on the loop when a render finishes. ok: path is the STREAM FILE
 * name (the cached file without its ".wav"), borrowed for the call. Not
 * ok: error says why. fallback: Polly was asked for and the local voice
 * was used instead.
 */
typedef void (*tts_done_cb)(uint64_t id, int ok, const char *path,
    int fallback, const char *error, void *arg);

/* NULL with *err (owned by the caller) when the cache dir is unusable. */
struct tts	*tts_new(struct event_base *base, struct http_client *http,
		    const struct conf *conf, char **err);
/* Stops the worker (finishing the job in hand) and frees everything. */
void		 tts_free(struct tts *tts);

/*
 * Makes sure p is rendered. cb runs later on the loop, never from inside
 * this call; the same prompt asked for twice is synthesised once. Returns
 * an id for tts_cancel. p is copied.
 */
uint64_t	 tts_render(struct tts *tts, const struct tts_prompt *p,
		    tts_done_cb cb, void *arg);
/* Forgets request id: its callback will not run. */
void		 tts_cancel(struct tts *tts, uint64_t id);

/*
 * The STREAM FILE name p would have, into out; returns 1 when its file
 * exists already (Polly's, else the local fallback's), 0 otherwise.
 */
int		 tts_lookup(struct tts *tts, const struct tts_prompt *p,
		    char out[TTS_PATH_MAX]);

/* The cache key (64 hex digits + NUL) of p as it will be rendered. */
void		 tts_cache_key(struct tts *tts, const struct tts_prompt *p,
		    char key[65]);

/*
 * Removes cache files older than max_age_days that no stored flow uses.
 * keep: the keys (strings) still needed, borrowed until cb. The scan runs
 * on the worker thread; cb gets the counts on the loop.
 */
typedef void (*tts_cleanup_cb)(long removed, long kept, const char *error,
    void *arg);
void		 tts_cleanup(struct tts *tts, long max_age_days, json_t *keep,
		    tts_cleanup_cb cb, void *arg);

/*
 * Polly's live voice list for a language: cb gets a borrowed array of
 * names, or NULL and the error. Returns 0 (and cb never runs) when Polly
 * is not configured.
 */
typedef void (*tts_voices_cb)(json_t *names, const char *error, void *arg);
uint64_t	 tts_polly_voices(struct tts *tts, const char *language,
		    tts_voices_cb cb, void *arg);

/* Voices for a language: a new array of names, known Polly voices. */
json_t		*tts_known_voices(const char *language);
/* The supported languages, a new array. */
json_t		*tts_languages(void);

/* The "tts" section of /status, a new object. */
json_t		*tts_status(struct tts *tts);

/* The cache folder (borrowed). */
const char	*tts_cache_dir(const struct tts *tts);

#endif
