/*
 * The TTS cache key: it changes with every input that changes the audio
 * (backend, engine, voice, language, text or SSML) and with nothing else.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf.h"
#include "tts/tts.h"
#include "tts/tts_int.h"
#include "util.h"
#include "t/unit/tap.h"

#include <jansson.h>

static struct tts *
make_tts(struct event_base *base, const char *dir, const char *engine)
{
	struct conf conf;
	struct tts *tts;
	char *err = NULL;

	conf_defaults(&conf);
	conf_set(&conf, "cache_dir", dir, NULL);
	conf_set(&conf, "polly_engine", engine, NULL);
	tts = tts_new(base, NULL, &conf, &err);
	if (tts == NULL) {
		diag("tts_new: %s", err);
		exit(1);
	}
	conf_clear(&conf);
	return tts;
}

static void
key(struct tts *tts, const char *backend, const char *voice,
    const char *language, const char *text, char out[65])
{
	struct tts_prompt p = { backend, voice, language, text };

	tts_cache_key(tts, &p, out);
}

int
main(void)
{
	char dir[] = "/tmp/ivrd-tts-key-XXXXXX";
	struct event_base *base;
	struct tts *std, *neural;
	char k0[65], k[65], kp[65], kn[65], ka[65], kb[65];
	char voice[64];

	evthread_use_pthreads();
	base = event_base_new();
	if (mkdtemp(dir) == NULL)
		return 1;
	std = make_tts(base, dir, "standard");

	key(std, "local", "Joanna", "en-US", "Welcome.", k0);
	is_int((long long)strlen(k0), 64, "a key is 64 hex digits");
	key(std, "local", "Joanna", "en-US", "Welcome.", k);
	is_str(k, k0, "the same inputs give the same key");

	key(std, "local", "Joanna", "en-US", "Welcome!", k);
	ok(strcmp(k, k0) != 0, "the text changes the key");
	key(std, "local", "Matthew", "en-US", "Welcome.", k);
	ok(strcmp(k, k0) != 0, "the voice changes the key (another gender)");
	key(std, "local", "Kendra", "en-US", "Welcome.", k);
	ok(strcmp(k, k0) != 0, "the voice changes the key (same gender, "
	    "another variant)");
	key(std, "local", "Amy", "en-GB", "Welcome.", k);
	ok(strcmp(k, k0) != 0, "the language changes the key");
	key(std, "polly", "Joanna", "en-US", "Welcome.", kp);
	ok(strcmp(kp, k0) != 0, "the backend changes the key");
	key(std, "local", "Joanna", "en-US", "<speak>Welcome.</speak>", k);
	ok(strcmp(k, k0) != 0, "SSML changes the key");


	/*
	 * Nothing else: two voice names we do not know both speak with the
	 * language's default local voice, so they share one file.
	 */
	key(std, "local", "Nobody", "en-US", "Welcome.", ka);
	key(std, "local", "Someone", "en-US", "Welcome.", kb);
	is_str(ka, kb, "unknown voice names that sound the same share a key");
	key(std, "local", "joanna", "en-US", "Welcome.", k);
	is_str(k, k0, "voice names are case-insensitive, as Polly's ids");

	/* The local voice mapping behind those keys. */
	tts_local_voice("en-US", "Joanna", voice, sizeof(voice));
	is_str(voice, "en-us+f1", "Joanna speaks locally as en-us+f1");
	tts_local_voice("en-US", "Matthew", voice, sizeof(voice));
	is_str(voice, "en-us+m1", "Matthew as en-us+m1");
	tts_local_voice("en-US", "Kendra", voice, sizeof(voice));
	is_str(voice, "en-us+f3", "Kendra as en-us+f3");
	tts_local_voice("es-US", "Miguel", voice, sizeof(voice));
	is_str(voice, "es-419+m1", "Miguel as es-419+m1");
	tts_local_voice("zh-CN", "Zhiyu", voice, sizeof(voice));
	is_str(voice, "cmn-latn-pinyin+f1", "zh-CN uses cmn-latn-pinyin");
	ok(tts_local_voice("xx-XX", "Joanna", voice, sizeof(voice)) == -1,
	    "an unknown language has no local voice");
	is_str(tts_polly_language("zh-CN"), "cmn-CN", "zh-CN is cmn-CN at Polly");
	ok(tts_is_ssml("  <speak>hi</speak>"), "SSML is text starting <speak>");
	ok(!tts_is_ssml("speak <b>"), "and only that");

	/* espeak-ng is one per process: a second TTS must not take it. */
	neural = make_tts(base, dir, "neural");
	{
		json_t *st = tts_status(neural);
		json_t *local = json_object_get(st, "local");

		ok(json_is_false(json_object_get(local, "available")),
		    "a second TTS in one process leaves espeak-ng alone");
		json_decref(st);
	}
	tts_free(neural);
	tts_free(std);

	/* The engine is Polly's business only (one TTS at a time). */
	neural = make_tts(base, dir, "neural");
	key(neural, "polly", "Joanna", "en-US", "Welcome.", kn);
	ok(strcmp(kn, kp) != 0, "Polly's engine changes a Polly key");
	key(neural, "local", "Joanna", "en-US", "Welcome.", k);
	is_str(k, k0, "Polly's engine does not change a local key");
	tts_free(neural);
	event_base_free(base);
	rmdir(dir);
	return done_testing();
}
