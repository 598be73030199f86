#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "log.h"
#include "util.h"
#include "wazo/wazo.h"

/*
 * GET /api/ivr/wazo/queues and /api/ivr/wazo/agents (the seed's
 * /wazo/queues and /wazo/agents): confd's lists, walked page by page and
 * reshaped, keyed by queue name and agent number. wazo_host and token
 * name another Wazo and its token; without them the configured service
 * account is used. The answer comes later, through a deferred request.
 */

struct wazo_list_ctx {
	struct api_req	*r;
	const char	*key;		/* "queues" or "agents" */
	json_t		*(*map)(json_t *);
};

static const char *
param(struct api_req *r, const char *name)
{
	const char *v = api_query(r, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static void
listed(const struct wazo_result *res, void *arg)
{
	struct wazo_list_ctx *ctx = arg;

	if (res->ok)
		api_reply(ctx->r, 200, json_pack("{s:o}", ctx->key,
		    ctx->map(res->body)));
	else
		api_error(ctx->r, res->api_status, "%s", res->error);
	api_deferred_free(ctx->r);
	free(ctx);
}

static void
wazo_collection(struct api_req *r, const char *path, const char *key,
    json_t *(*map)(json_t *))
{
	struct wazo *wazo = api_wazo(r->api);
	struct wazo_target to = {
		.host = param(r, "wazo_host"), .token = param(r, "token")
	};
	struct wazo_list_ctx *ctx;

	/* A base URL and a token, each given or configured. */
	if (wazo == NULL || (to.token == NULL && !wazo_configured(wazo)) ||
	    (to.host == NULL && wazo_base_url(wazo, WAZO_CONFD) == NULL)) {
		api_error(r, 400, "wazo_host and token are required (or "
		    "configure a Wazo service account)");
		return;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->key = key;
	ctx->map = map;
	ctx->r = api_defer(r);
	/* The target's strings are copied: the query dies with r. */
	if (wazo_list(wazo, &to, path, NULL, listed, ctx) == 0) {
		api_error(ctx->r, 502, "Wazo request could not be started");
		api_deferred_free(ctx->r);
		free(ctx);
	}
}

void
api_wazo_queues(struct api_req *r)
{
	wazo_collection(r, "/queues", "queues", wazo_map_queues);
}

void
api_wazo_agents(struct api_req *r)
{
	wazo_collection(r, "/agents", "agents", wazo_map_agents);
}
