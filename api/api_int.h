/* Shared between the files of api/ only. */
#ifndef IVRD_API_INT_H
#define IVRD_API_INT_H

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "store/store.h"
#include "tts/tts.h"

#define API_PREFIX	"/api/ivr"
#define API_VOICE_PREFIX "/api/v1/voice"
#define API_MAX_SEGS	8

struct api;

/* One request being served: what the router learned about it. */
struct api_req {
	struct evhttp_request	*req;
	struct api		*api;
	struct store		*store;
	struct tts		*tts;
	struct prompts		*prompts;
	struct store_principal	 who;		/* admin: who.admin = 1 */
	const char		*seg[API_MAX_SEGS];	/* decoded path segments */
	int			 nseg;
	struct evkeyvalq	 query;
	int			 voice;		/* under API_VOICE_PREFIX */
};

/* Sends doc (stolen) with status; Content-Type application/json. */
void	api_reply(struct api_req *r, int status, json_t *doc);
/*
 * Sends {"error": msg} with status; under the voice prefix,
 * {"success": false, "error": msg}.
 */
void	api_error(struct api_req *r, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Sends preformatted JSON text with status. */
void	api_reply_text(struct api_req *r, int status, const char *json,
	    size_t len);
/*
 * Parses the body as a JSON object. NULL after replying with the error
 * (empty, malformed with line and column, not an object).
 */
json_t	*api_body_object(struct api_req *r);
/* A query parameter, or NULL (borrowed). */
const char *api_query(struct api_req *r, const char *name);
/*
 * The tenant the request acts on: its token's, or for an admin token the
 * ?tenant= parameter (NULL = every tenant).
 */
const char *api_scope_tenant(struct api_req *r);

/* Sends a file (audio) with its content type; 404 JSON if unreadable. */
void	api_reply_file(struct api_req *r, const char *path,
	    const char *content_type);
/*
 * Takes the request out of the dispatcher for an answer that comes later
 * (TTS, cleanup): returns a copy of r the caller owns and frees with
 * api_deferred_free after replying through it.
 */
struct api_req *api_defer(struct api_req *r);
void	api_deferred_free(struct api_req *r);

/* Pre-render tracking (api/prompts.c). */
struct prompts;
struct prompts	*prompts_new(struct tts *tts);
void		 prompts_free(struct prompts *ps);
void		 prompts_prerender(struct prompts *ps, const char *tenant,
		    const char *id, json_t *doc);
void		 prompts_forget(struct prompts *ps, const char *tenant,
		    const char *id);
int		 prompts_counts(struct prompts *ps, const char *tenant,
		    const char *id, long *total, long *ready, long *failed);
void		 prompts_each(json_t *doc,
		    void (*fn)(const struct tts_prompt *, void *), void *arg);

/* Handlers (api/flows.c, api/status.c, api/tts.c). */
void	api_flows_list(struct api_req *r);
void	api_flows_create(struct api_req *r);
void	api_flow_get(struct api_req *r);
void	api_flow_put(struct api_req *r);
void	api_flow_delete(struct api_req *r);
void	api_status(struct api_req *r);
void	api_flow_simulate(struct api_req *r);
/* The flow named in the URL, in the request's scope; -1 after replying. */
int	api_find_flow(struct api_req *r, struct store_flow *out);
/* Runtime settings the simulation shares with the sessions. */
const char *api_dial_template(const struct api *api);
struct agi *api_agi(const struct api *api);
/* The Wazo client (borrowed; NULL until api_set_wazo). */
struct wazo;
struct wazo *api_wazo(const struct api *api);
const char *api_recordings_dir(const struct api *api);
void	api_tts_voices(struct api_req *r);
void	api_tts_synthesize(struct api_req *r);
void	api_tts_audio(struct api_req *r);
void	api_maintenance_cleanup(struct api_req *r);
/* Deploy settings and the loop (api/deploy.c). */
const char *api_wazo_agi_address(const struct api *api);	/* NULL: unset */
const char *api_wazo_dialplan_dir(const struct api *api);
const char *api_wazo_transfer_context(const struct api *api);	/* NULL: unset */
int	    api_wazo_on_host(const struct api *api);
struct event_base *api_base(const struct api *api);
void	api_flow_deploy(struct api_req *r);
void	api_flow_undeploy(struct api_req *r);
/* DELETE of a deployed flow: undeploys, then deletes; 1 when it did. */
int	api_flow_delete_deployed(struct api_req *r,
	    const struct store_flow *sf);

/* GET /wazo/queues and /wazo/agents (api/wazo.c). */
void	api_wazo_queues(struct api_req *r);
void	api_wazo_agents(struct api_req *r);
/*
 * Validates doc (borrowed, completed with tenant) as a flow and stores it,
 * replacing the flow of that id in tenant if there is one (its status and
 * created_at kept), then queues its prompts for rendering: what POST and
 * PUT /api/ivr/flows do. 0 with *res; -1 with *errors (a new array).
 */
int	api_flow_save(struct api_req *r, json_t *doc, const char *tenant,
	    json_t **errors, enum store_res *res);

/* The voice API (api/voice.c). */
/* 1 when the request may use the voice API; 0 after replying 403. */
int	api_voice_permitted(struct api_req *r);
void	api_voice_numbers_list(struct api_req *r);
void	api_voice_number_create(struct api_req *r);
void	api_voice_number_get(struct api_req *r);
void	api_voice_number_patch(struct api_req *r);
void	api_voice_number_delete(struct api_req *r);
void	api_voice_ivr_get(struct api_req *r);
void	api_voice_ivr_put(struct api_req *r);
void	api_voice_calls_list(struct api_req *r);
void	api_voice_call_get(struct api_req *r);
void	api_voice_call_transfer(struct api_req *r);
void	api_voice_call_recording(struct api_req *r);
void	api_voice_tenant_get(struct api_req *r);
void	api_voice_tenant_patch(struct api_req *r);

#endif
