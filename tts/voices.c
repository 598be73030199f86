#include "config.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "tts/tts_int.h"

/*
 * The seed's languages, each with an espeak-ng voice that ships in
 * Debian's espeak-ng-data (names checked against 1.51: en-GB is "en",
 * es-US "es-419"; zh-CN uses cmn-latn-pinyin because plain "cmn" reads
 * tone digits in English in 1.51) and Polly's code for it.
 */
static const struct {
	const char	*code;
	const char	*espeak;
	const char	*polly;
} languages[] = {
	{ "en-US", "en-us", "en-US" },
	{ "en-GB", "en", "en-GB" },
	{ "es-ES", "es", "es-ES" },
	{ "es-US", "es-419", "es-US" },
	{ "fr-FR", "fr", "fr-FR" },
	{ "de-DE", "de", "de-DE" },
	{ "it-IT", "it", "it-IT" },
	{ "pt-BR", "pt-br", "pt-BR" },
	{ "ja-JP", "ja", "ja-JP" },
	{ "ko-KR", "ko", "ko-KR" },
	{ "zh-CN", "cmn-latn-pinyin", "cmn-CN" },
	{ "ru-RU", "ru", "ru-RU" },
};
#define NLANGUAGES (sizeof(languages) / sizeof(languages[0]))

/* Polly's standard voices (tts-notes section 3), female first. */
static const struct {
	const char	*language;
	const char	*name;
	char		 gender;
} voices[] = {
	{ "en-US", "Joanna", 'F' }, { "en-US", "Ivy", 'F' },
	{ "en-US", "Kendra", 'F' }, { "en-US", "Kimberly", 'F' },
	{ "en-US", "Salli", 'F' }, { "en-US", "Matthew", 'M' },
	{ "en-US", "Joey", 'M' }, { "en-US", "Justin", 'M' },
	{ "en-GB", "Amy", 'F' }, { "en-GB", "Emma", 'F' },
	{ "en-GB", "Brian", 'M' },
	{ "es-ES", "Conchita", 'F' }, { "es-ES", "Lucia", 'F' },
	{ "es-ES", "Enrique", 'M' },
	{ "es-US", "Lupe", 'F' }, { "es-US", "Penelope", 'F' },
	{ "es-US", "Miguel", 'M' },
	{ "fr-FR", "Celine", 'F' }, { "fr-FR", "Lea", 'F' },
	{ "fr-FR", "Mathieu", 'M' },
	{ "de-DE", "Marlene", 'F' }, { "de-DE", "Vicki", 'F' },
	{ "de-DE", "Hans", 'M' },
	{ "it-IT", "Carla", 'F' }, { "it-IT", "Bianca", 'F' },
	{ "it-IT", "Giorgio", 'M' },
	{ "pt-BR", "Camila", 'F' }, { "pt-BR", "Vitoria", 'F' },
	{ "pt-BR", "Ricardo", 'M' },
	{ "ja-JP", "Mizuki", 'F' }, { "ja-JP", "Takumi", 'M' },
	{ "ko-KR", "Seoyeon", 'F' },
	{ "zh-CN", "Zhiyu", 'F' },
	{ "ru-RU", "Tatyana", 'F' }, { "ru-RU", "Maxim", 'M' },
};
#define NVOICES (sizeof(voices) / sizeof(voices[0]))

static int
language_index(const char *code)
{
	for (size_t i = 0; i < NLANGUAGES; i++)
		if (strcmp(languages[i].code, code) == 0)
			return (int)i;
	return -1;
}

int
tts_local_voice(const char *language, const char *voice, char *out,
    size_t len)
{
	int li = language_index(language), nth = 0;

	if (li == -1)
		return -1;
	/*
	 * The variant: f1..f5 or m1..m7 by the voice's rank among the
	 * language's voices of its gender. A name we do not know gets the
	 * language's own default voice.
	 */
	for (size_t i = 0; i < NVOICES; i++) {
		if (strcmp(voices[i].language, language) != 0)
			continue;
		if (strcasecmp(voices[i].name, voice) == 0) {
			int max = voices[i].gender == 'F' ? 5 : 7;

			for (size_t j = 0; j < i; j++)
				if (strcmp(voices[j].language, language) == 0 &&
				    voices[j].gender == voices[i].gender)
					nth++;
			snprintf(out, len, "%s+%c%d", languages[li].espeak,
			    voices[i].gender == 'F' ? 'f' : 'm', nth % max + 1);
			return 0;
		}
	}
	snprintf(out, len, "%s", languages[li].espeak);
	return 0;
}

const char *
tts_polly_language(const char *language)
{
	int li = language_index(language);

	return li == -1 ? NULL : languages[li].polly;
}

int
tts_is_ssml(const char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	return strncmp(text, "<speak", 6) == 0;
}

json_t *
tts_known_voices(const char *language)
{
	json_t *list = json_array();

	for (size_t i = 0; i < NVOICES; i++)
		if (strcmp(voices[i].language, language) == 0)
			json_array_append_new(list, json_string(voices[i].name));
	return list;
}

json_t *
tts_languages(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < NLANGUAGES; i++)
		json_array_append_new(list, json_string(languages[i].code));
	return list;
}
