#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "conf.h"
#include "log.h"
#include "net/http_client.h"
#include "tts/tts_int.h"
#include "util.h"

/*
 * Amazon Polly's SynthesizeSpeech and DescribeVoices, signed with
 * libcurl's own AWS SigV4 (CURLOPT_AWS_SIGV4: "aws:amz:REGION:polly",
 * region and service always given, never parsed from the host). PCM at
 * 8000 Hz needs no resampling: it goes into the cache as it comes.
 */
#define POLLY_BILLED_MAX	3000	/* characters billed per request */
#define POLLY_TOTAL_MAX		6000	/* characters in all, SSML tags included */

struct polly_call {
	LIST_ENTRY(polly_call)	 entry;
	struct polly		*polly;
	uint64_t		 http_id;
	uint64_t		 id;
	polly_speech_cb		 speech_cb;
	polly_voices_cb		 voices_cb;
	void			*arg;
};

struct polly {
	struct http_client	*http;
	char			*region;
	char			*endpoint;
	char			*engine;
	char			*sigv4;
	char			*key_id;
	char			*secret;
	char			*session_header;	/* X-Amz-Security-Token: ... */
	char			*ca_file;
	long			 timeout_ms;
	const char		*missing;		/* why not configured */
	LIST_HEAD(, polly_call)	 calls;
	uint64_t		 next_id;

	/* What the last request taught us, for /status. */
	int			 tried;
	int			 last_ok;
	char			 last_error[256];
	char			 last_at[ISO8601_LEN];
	long			 requests, failures;
};

static const char *
pick(const char *conf_value, const char *env1, const char *env2)
{
	const char *v;

	if (conf_value != NULL && conf_value[0] != '\0')
		return conf_value;
	if (env1 != NULL && (v = getenv(env1)) != NULL && v[0] != '\0')
		return v;
	if (env2 != NULL && (v = getenv(env2)) != NULL && v[0] != '\0')
		return v;
	return NULL;
}

struct polly *
polly_new(struct http_client *http, const struct conf *conf)
{
	struct polly *p = xcalloc(1, sizeof(*p));
	const char *v;

	p->http = http;
	LIST_INIT(&p->calls);
	v = pick(conf->polly_region, "AWS_REGION", "AWS_DEFAULT_REGION");
	p->region = xstrdup(v ? v : "us-east-1");
	if (conf->polly_endpoint[0] != '\0')
		p->endpoint = xstrdup(conf->polly_endpoint);
	else
		xasprintf(&p->endpoint, "https://polly.%s.amazonaws.com",
		    p->region);
	p->engine = xstrdup(conf->polly_engine);
	xasprintf(&p->sigv4, "aws:amz:%s:polly", p->region);
	p->timeout_ms = conf->polly_timeout_ms;
	if (conf->polly_ca_file[0] != '\0')
		p->ca_file = xstrdup(conf->polly_ca_file);
	if ((v = pick(conf->aws_access_key_id, "AWS_ACCESS_KEY_ID", NULL)))
		p->key_id = xstrdup(v);
	if ((v = pick(conf->aws_secret_access_key, "AWS_SECRET_ACCESS_KEY",
	    NULL)))
		p->secret = xstrdup(v);
	if ((v = pick(conf->aws_session_token, "AWS_SESSION_TOKEN", NULL)))
		xasprintf(&p->session_header, "X-Amz-Security-Token: %s", v);
	if (p->key_id == NULL || p->secret == NULL)
		p->missing = "not configured: no AWS credentials "
		    "(aws_access_key_id and aws_secret_access_key, or "
		    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)";
	else
		log_info("tts: Polly at %s, region %s, engine %s", p->endpoint,
		    p->region, p->engine);
	return p;
}

void
polly_free(struct polly *p)
{
	struct polly_call *c;

	if (p == NULL)
		return;
	while ((c = LIST_FIRST(&p->calls)) != NULL) {
		http_cancel(p->http, c->http_id);
		LIST_REMOVE(c, entry);
		free(c);
	}
	free(p->region);
	free(p->endpoint);
	free(p->engine);
	free(p->sigv4);
	free(p->key_id);
	free(p->secret);
	free(p->session_header);
	free(p->ca_file);
	free(p);
}

int
polly_configured(const struct polly *p, const char **why)
{
	if (why != NULL)
		*why = p->missing;
	return p->missing == NULL;
}

const char *
polly_engine(const struct polly *p)
{
	return p->engine;
}

json_t *
polly_status(const struct polly *p)
{
	const char *error = p->missing;

	if (error == NULL && p->tried && !p->last_ok)
		error = p->last_error;
	return json_pack("{s:b, s:s?, s:s, s:s, s:s, s:I, s:I, s:s?}",
	    "available", p->missing == NULL && (!p->tried || p->last_ok),
	    "error", error,
	    "region", p->region,
	    "endpoint", p->endpoint,
	    "engine", p->engine,
	    "requests", (json_int_t)p->requests,
	    "failures", (json_int_t)p->failures,
	    "last_checked", p->tried ? p->last_at : NULL);
}

static void
note_result(struct polly *p, int ok, const char *error)
{
	p->tried = 1;
	p->last_ok = ok;
	p->requests++;
	if (!ok) {
		p->failures++;
		snprintf(p->last_error, sizeof(p->last_error), "%s", error);
	}
	iso8601_utc(time(NULL), p->last_at);
}

/* "Code: message" from Polly's error shape, into buf. */
static void
describe_error(const struct http_response *res, char *buf, size_t len)
{
	const char *type, *colon;
	json_t *body, *msg = NULL;
	int tlen;

	if (res->status == 0) {
		snprintf(buf, len, "Polly unreachable: %s", res->error);
		return;
	}
	type = http_response_header(res, "x-amzn-ErrorType");
	tlen = type ? (int)((colon = strchr(type, ':')) ? colon - type :
	    (long)strlen(type)) : 0;
	body = json_loadb(res->body, res->body_len, 0, NULL);
	if (body != NULL && (msg = json_object_get(body, "message")) == NULL)
		msg = json_object_get(body, "Message");
	snprintf(buf, len, "Polly HTTP %ld%s%.*s%s%s", res->status,
	    type ? " " : "", tlen, type ? type : "",
	    json_is_string(msg) ? ": " : "",
	    json_is_string(msg) ? json_string_value(msg) : "");
	json_decref(body);
}

static struct polly_call *
call_new(struct polly *p, void *arg)
{
	struct polly_call *c = xcalloc(1, sizeof(*c));

	c->polly = p;
	c->id = ++p->next_id;
	c->arg = arg;
	LIST_INSERT_HEAD(&p->calls, c, entry);
	return c;
}

static void
start(struct polly *p, struct polly_call *c, const char *method,
    const char *url, const char *body, http_done_cb done)
{
	const char *headers[3] = { "Content-Type: application/json", NULL,
	    NULL };
	struct http_request req = {
		.method = method, .url = url, .headers = headers,
		.body = body, .body_len = body ? strlen(body) : 0,
		.timeout_ms = p->timeout_ms, .aws_sigv4 = p->sigv4,
		.user = p->key_id, .password = p->secret,
		.ca_file = p->ca_file,
	};

	headers[1] = p->session_header;
	c->http_id = http_request(p->http, &req, done, c);
}

static void
speech_done(const struct http_response *res, void *arg)
{
	struct polly_call *c = arg;
	struct polly *p = c->polly;
	char error[256];
	int16_t *pcm = NULL;
	size_t n = 0;
	int ok = res->status == 200 && res->body_len >= 2;

	LIST_REMOVE(c, entry);
	if (ok) {
		n = res->body_len / 2;
		pcm = xmalloc(n * sizeof(int16_t));
		/* audio/pcm is s16 little-endian. */
		for (size_t i = 0; i < n; i++)
			pcm[i] = (int16_t)((unsigned char)res->body[2 * i] |
			    ((unsigned char)res->body[2 * i + 1] << 8));
		note_result(p, 1, NULL);
	} else {
		if (res->status == 200)
			snprintf(error, sizeof(error), "Polly sent no audio");
		else
			describe_error(res, error, sizeof(error));
		note_result(p, 0, error);
	}
	c->speech_cb(ok, pcm, n, ok ? NULL : error, c->arg);
	free(c);
}

const char *
polly_refuses(const struct polly *p, const char *language, const char *text)
{
	long chars = 0, billed = 0;
	int in_tag = 0, ssml = tts_is_ssml(text);

	if (p->missing != NULL)
		return p->missing;
	if (tts_polly_language(language) == NULL)
		return "Polly has no such language";
	/* Characters, not bytes; SSML tags are not billed. */
	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		if ((*s & 0xc0) == 0x80)
			continue;
		chars++;
		if (ssml && *s == '<')
			in_tag = 1;
		if (!in_tag)
			billed++;
		if (ssml && *s == '>')
			in_tag = 0;
	}
	if (chars > POLLY_TOTAL_MAX || billed > POLLY_BILLED_MAX)
		return "text over Polly's request limit (3000 billed "
		    "characters, 6000 in all)";
	return NULL;
}

uint64_t
polly_synthesize(struct polly *p, const char *voice, const char *language,
    const char *text, polly_speech_cb cb, void *arg)
{
	struct polly_call *c;
	json_t *body;
	char *json, *url;

	if (polly_refuses(p, language, text) != NULL)
		return 0;
	c = call_new(p, arg);
	c->speech_cb = cb;
	body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
	    "Text", text, "TextType", tts_is_ssml(text) ? "ssml" : "text",
	    "VoiceId", voice, "OutputFormat", "pcm", "SampleRate", "8000",
	    "Engine", p->engine);
	json = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	xasprintf(&url, "%s/v1/speech", p->endpoint);
	start(p, c, "POST", url, json, speech_done);
	free(url);
	free(json);
	if (c->http_id == 0) {
		LIST_REMOVE(c, entry);
		free(c);
		return 0;
	}
	return c->id;
}

static void
voices_done(const struct http_response *res, void *arg)
{
	struct polly_call *c = arg;
	struct polly *p = c->polly;
	json_t *doc = NULL, *names = NULL, *v;
	char error[256];
	size_t i;

	LIST_REMOVE(c, entry);
	if (res->status == 200 &&
	    (doc = json_loadb(res->body, res->body_len, 0, NULL)) != NULL &&
	    json_is_array(json_object_get(doc, "Voices"))) {
		names = json_array();
		json_array_foreach(json_object_get(doc, "Voices"), i, v)
			if (json_is_string(json_object_get(v, "Id")))
				json_array_append(names,
				    json_object_get(v, "Id"));
		note_result(p, 1, NULL);
	} else {
		if (res->status == 200)
			snprintf(error, sizeof(error), "Polly sent an "
			    "unreadable voice list");
		else
			describe_error(res, error, sizeof(error));
		note_result(p, 0, error);
	}
	c->voices_cb(names, names ? NULL : error, c->arg);
	json_decref(names);
	json_decref(doc);
	free(c);
}

/*
 * DescribeVoices for one language. libcurl 7.88 signs the query as
 * written, so parameters go in sorted order, already percent-safe.
 */
uint64_t
polly_voices(struct polly *p, const char *language, polly_voices_cb cb,
    void *arg)
{
	struct polly_call *c;
	const char *lang = language ? tts_polly_language(language) : NULL;
	char *url;

	if (p->missing != NULL)
		return 0;
	c = call_new(p, arg);
	c->voices_cb = cb;
	xasprintf(&url, "%s/v1/voices?Engine=%s%s%s", p->endpoint, p->engine,
	    lang ? "&LanguageCode=" : "", lang ? lang : "");
	start(p, c, "GET", url, NULL, voices_done);
	free(url);
	if (c->http_id == 0) {
		LIST_REMOVE(c, entry);
		free(c);
		return 0;
	}
	return c->id;
}

void
polly_cancel(struct polly *p, uint64_t id)
{
	struct polly_call *c;

	LIST_FOREACH(c, &p->calls, entry)
		if (c->id == id) {
			http_cancel(p->http, c->http_id);
			LIST_REMOVE(c, entry);
			free(c);
			return;
		}
}
