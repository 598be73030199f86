/*
 * The REST API: an evhttp server on the shared event loop, routing
 * /api/ivr/... to one handler file per resource family. Every response is
 * JSON; every request carries "Authorization: Bearer TOKEN".
 */
#ifndef IVRD_API_H
#define IVRD_API_H

#include <jansson.h>

struct event_base;
struct conf;
struct store;
struct tts;
struct api;

/*
 * Binds conf->api_listen and serves on base. NULL with *err (owned by the
 * caller) when the address cannot be bound. store, tts and conf are
 * borrowed and must outlive the api. Every stored flow's prompts are
 * queued for rendering at once.
 */
struct api	*api_new(struct event_base *base, struct store *store,
		    struct tts *tts, const struct conf *conf, char **err);
void		 api_free(struct api *api);
/* The bound address, "127.0.0.1:PORT" (borrowed). */
const char	*api_address(const struct api *api);
/* The call runtime whose counts /status shows (borrowed). */
struct agi;
void		 api_set_agi(struct api *api, struct agi *agi);
/* The Wazo client for /wazo/... and /status (borrowed). */
struct wazo;
void		 api_set_wazo(struct api *api, struct wazo *wazo);
/* Applies the settings a SIGHUP may change (body limit, token policy). */
void		 api_reconfigure(struct api *api, const struct conf *conf);

/*
 * Validates doc (borrowed) as a new flow of tenant and stores it, exactly
 * as POST /api/ivr/flows does. 0 on success; -1 with *err (owned by the
 * caller) holding every problem, one per line. Used by `ivrd flow import`.
 */
int		 api_flow_import(struct store *store, json_t *doc,
		    const char *tenant, char **err);

#endif
