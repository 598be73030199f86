/*
 * TTS costs, measured on the real code (libivrd.a):
 *  - real-time factor of local synthesis, resampling and the file write
 *    included, over distinct prompts;
 *  - a burst of 150 distinct prompts pre-rendered (the worker thread);
 *  - a cache hit: tts_lookup() (what a call does before STREAM FILE) and
 *    tts_render() of a cached prompt until its callback.
 * usage: tts_bench [CACHE_DIR]   (a fresh temp dir by default)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "conf.h"
#include "tts/tts.h"

static long outstanding;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
done(uint64_t id, int ok, const char *path, int fallback, const char *error,
    void *arg)
{
	struct event_base *base = arg;

	if (!ok)
		fprintf(stderr, "render failed: %s\n", error);
	if (--outstanding == 0)
		event_base_loopbreak(base);
}

static void
render_all(struct tts *tts, struct event_base *base, char **texts, int n)
{
	for (int i = 0; i < n; i++) {
		struct tts_prompt p = { "local", "Joanna", "en-US", texts[i] };

		outstanding++;
		tts_render(tts, &p, done, base);
	}
	/* Only the worker's wake-ups are pending: keep looping anyway. */
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
}

static double
stat_real(struct tts *tts, const char *section, const char *key)
{
	json_t *st = tts_status(tts);
	double v = json_number_value(json_object_get(json_object_get(st,
	    section), key));

	json_decref(st);
	return v;
}

int
main(int argc, char **argv)
{
	char tmpl[] = "/tmp/ivrd-tts-bench-XXXXXX";
	const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
	struct event_base *base;
	struct conf conf;
	struct tts *tts;
	char *texts[200], *err = NULL, path[TTS_PATH_MAX];
	double t0, t1, audio, cpu;
	int i, hits = 20000;

	evthread_use_pthreads();
	base = event_base_new();
	conf_defaults(&conf);
	conf_set(&conf, "cache_dir", dir, NULL);
	if ((tts = tts_new(base, NULL, &conf, &err)) == NULL) {
		fprintf(stderr, "tts_new: %s\n", err);
		return 1;
	}
	/* The sentence of tts-notes (21 words, 6.8 s), made distinct. */
	for (i = 0; i < 200; i++)
		if (asprintf(&texts[i], "Thank you for calling the support "
		    "line number %d. Please say or enter your account number, "
		    "followed by the pound key, to continue.", i) == -1)
			return 1;

	/* 1. Real-time factor, 50 prompts one after the other. */
	t0 = now();
	for (i = 0; i < 50; i++)
		render_all(tts, base, &texts[i], 1);
	t1 = now();
	audio = stat_real(tts, "cache", "audio_seconds");
	cpu = stat_real(tts, "cache", "synthesis_cpu_ms") / 1000;
	printf("local synthesis: %.1f s of audio in %.3f s of CPU "
	    "(synthesis + speexdsp): %.0fx real time; %.0fx by wall clock "
	    "with file writes\n", audio, cpu, audio / cpu, audio / (t1 - t0));

	/* 2. A 150-prompt flow's burst. */
	t0 = now();
	render_all(tts, base, &texts[50], 150);
	t1 = now();
	printf("pre-render: 150 prompts in %.3f s (%.0f prompts/s)\n",
	    t1 - t0, 150 / (t1 - t0));

	/* 3. Cache hits. */
	{
		struct tts_prompt p = { "local", "Joanna", "en-US", texts[7] };

		t0 = now();
		for (i = 0; i < hits; i++)
			if (!tts_lookup(tts, &p, path))
				return 1;
		t1 = now();
		printf("cache hit, tts_lookup: %.2f us\n",
		    (t1 - t0) / hits * 1e6);
		t0 = now();
		for (i = 0; i < 2000; i++)
			render_all(tts, base, &texts[i % 200], 1);
		t1 = now();
		printf("cache hit, tts_render to its callback: %.2f us "
		    "(syntheses during it: %.0f)\n", (t1 - t0) / 2000 * 1e6,
		    stat_real(tts, "cache", "syntheses") - 200);
	}
	tts_free(tts);
	conf_clear(&conf);
	event_base_free(base);
	for (i = 0; i < 200; i++)
		free(texts[i]);
	if (argc == 1 && fork() == 0)
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
	return 0;
}
