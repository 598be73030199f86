#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "log.h"
#include "tts/tts.h"
#include "util.h"

/*
 * Pre-rendering: saving a flow queues every prompt in every language it
 * has text for, and the API shows how many are ready. Counts live here,
 * per flow, in a small hash table; each save bumps the flow's generation
 * so renders queued for an older version no longer count. A render's
 * callback carries a ticket (flow key + generation), never the entry.
 */
#define NBUCKETS	1024

struct prompt_set {
	struct prompt_set	*next;
	char			*key;		/* "tenant/id" */
	unsigned		 generation;
	long			 total, ready, failed;
};

struct ticket {
	TAILQ_ENTRY(ticket)	 entry;
	struct prompts		*prompts;
	char			*key;
	unsigned		 generation;
	uint64_t		 tts_id;
};

struct prompts {
	struct tts		*tts;
	struct prompt_set	*buckets[NBUCKETS];
	TAILQ_HEAD(, ticket)	 tickets;
};

struct prompts *
prompts_new(struct tts *tts)
{
	struct prompts *ps = xcalloc(1, sizeof(*ps));

	ps->tts = tts;
	TAILQ_INIT(&ps->tickets);
	return ps;
}

void
prompts_free(struct prompts *ps)
{
	struct ticket *t;

	if (ps == NULL)
		return;
	while ((t = TAILQ_FIRST(&ps->tickets)) != NULL) {
		tts_cancel(ps->tts, t->tts_id);
		TAILQ_REMOVE(&ps->tickets, t, entry);
		free(t->key);
		free(t);
	}
	for (int i = 0; i < NBUCKETS; i++)
		while (ps->buckets[i] != NULL) {
			struct prompt_set *s = ps->buckets[i];

			ps->buckets[i] = s->next;
			free(s->key);
			free(s);
		}
	free(ps);
}

static unsigned
hash(const char *s)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

static struct prompt_set *
find(struct prompts *ps, const char *key, int create)
{
	struct prompt_set **head = &ps->buckets[hash(key)], *s;

	for (s = *head; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s;
	if (!create)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->key = xstrdup(key);
	s->next = *head;
	*head = s;
	return s;
}

static void
rendered(uint64_t id, int ok, const char *path, int fallback,
    const char *error, void *arg)
{
	struct ticket *t = arg;
	struct prompt_set *s = find(t->prompts, t->key, 0);

	if (s != NULL && s->generation == t->generation) {
		if (ok)
			s->ready++;
		else
			s->failed++;
	}
	TAILQ_REMOVE(&t->prompts->tickets, t, entry);
	free(t->key);
	free(t);
}

/*
 * Calls fn for every (prompt, language) of a normalised flow document
 * that has text: what a caller can hear. A language without a prompt's
 * text plays the first language's, which is counted there.
 */
void
prompts_each(json_t *doc, void (*fn)(const struct tts_prompt *, void *),
    void *arg)
{
	json_t *langs = json_object_get(doc, "languages"), *lang, *prompt;
	const char *backend = json_string_value(json_object_get(doc,
	    "tts_backend"));
	const char *pid;
	size_t i;

	json_array_foreach(langs, i, lang) {
		const char *code = json_string_value(json_object_get(lang,
		    "code"));

		json_object_foreach(json_object_get(doc, "prompts"), pid,
		    prompt) {
			json_t *text = json_object_get(json_object_get(prompt,
			    "text"), code);
			struct tts_prompt p = { backend ? backend : "local",
			    json_string_value(json_object_get(lang, "voice")),
			    code, json_string_value(text) };

			if (p.text != NULL && p.voice != NULL)
				fn(&p, arg);
		}
	}
}

struct queue_ctx {
	struct prompts		*ps;
	struct prompt_set	*set;
};

static void
queue_one(const struct tts_prompt *p, void *arg)
{
	struct queue_ctx *q = arg;
	struct ticket *t = xcalloc(1, sizeof(*t));

	t->prompts = q->ps;
	t->key = xstrdup(q->set->key);
	t->generation = q->set->generation;
	TAILQ_INSERT_TAIL(&q->ps->tickets, t, entry);
	q->set->total++;
	t->tts_id = tts_render(q->ps->tts, p, rendered, t);
}

void
prompts_prerender(struct prompts *ps, const char *tenant, const char *id,
    json_t *doc)
{
	struct queue_ctx q = { ps, NULL };
	char *key;

	xasprintf(&key, "%s/%s", tenant, id);
	q.set = find(ps, key, 1);
	free(key);
	q.set->generation++;
	q.set->total = q.set->ready = q.set->failed = 0;
	prompts_each(doc, queue_one, &q);
	log_debug("tts: flow %s: %ld prompts queued", q.set->key,
	    q.set->total);
}

void
prompts_forget(struct prompts *ps, const char *tenant, const char *id)
{
	struct prompt_set *s;
	char *key;

	xasprintf(&key, "%s/%s", tenant, id);
	if ((s = find(ps, key, 0)) != NULL) {
		/* Keep the entry (tickets may still point at the key). */
		s->generation++;
		s->total = s->ready = s->failed = 0;
	}
	free(key);
}

int
prompts_counts(struct prompts *ps, const char *tenant, const char *id,
    long *total, long *ready, long *failed)
{
	struct prompt_set *s;
	char key[160];

	snprintf(key, sizeof(key), "%s/%s", tenant, id);
	if ((s = find(ps, key, 0)) == NULL)
		return -1;
	*total = s->total;
	*ready = s->ready;
	*failed = s->failed;
	return 0;
}
