/*
 * The Wazo client: wazo-auth tokens, wazo-confd and wazo-amid requests,
 * on the event loop through net/http_client (never blocking). Facts:
 * shared/wazo-api.md. Every call is asynchronous; its callback runs on
 * the loop exactly once unless cancelled.
 */
#ifndef IVRD_WAZO_H
#define IVRD_WAZO_H

#include <stdint.h>

#include <jansson.h>

struct conf;
struct http_client;
struct wazo;

enum wazo_service { WAZO_AUTH, WAZO_CONFD, WAZO_AMID };

/*
 * Where one request goes and with which token: the seed's wazo_host and
 * token query parameters. NULL members (or a NULL target) mean the
 * configured URLs and the service account's token.
 */
struct wazo_target {
	const char	*host;		/* "wazo.example" or "https://..." */
	const char	*token;		/* X-Auth-Token as given */
};

/*
 * The outcome of a request. ok: Wazo answered 2xx and body is its JSON
 * (borrowed; NULL for 204). Not ok: http_status says what Wazo answered
 * (0 when unreachable) and error is ready for an API error message
 * ("Wazo unreachable: ...", "the Wazo token was refused (401)", "confd:
 * 404 Resource Not Found: ..."). api_status is the status ivrd's own API
 * should answer with (502 for Wazo trouble, or Wazo's 4xx when the client
 * sent something Wazo refused).
 */
struct wazo_result {
	int		 ok;
	long		 http_status;
	json_t		*body;
	const char	*error;
	int		 api_status;
};
typedef void (*wazo_cb)(const struct wazo_result *res, void *arg);

/* conf is read at once (copied). http is borrowed. */
struct wazo	*wazo_new(struct http_client *http, const struct conf *conf);
void		 wazo_free(struct wazo *wazo);	/* cancels: no callback runs */
/*
 * The loop that delivers failures found before any HTTP exchange (not
 * configured, curl refused the request), so that no callback ever runs
 * from inside wazo_request or wazo_list. Set it right after wazo_new.
 */
struct event_base;
void		 wazo_set_event_base(struct wazo *wazo, struct event_base *base);
/* 1 when a base URL and a service account are configured. */
int		 wazo_configured(const struct wazo *wazo);
/* A service's configured base URL (borrowed), or NULL. */
const char	*wazo_base_url(const struct wazo *wazo,
		    enum wazo_service service);

/*
 * One request: method, service, path below the service's base ("/queues",
 * "/incalls/8"), optional query ("recurse=true"), optional JSON body
 * (borrowed). The token is obtained and renewed as needed; a 401 with the
 * service account's token triggers one new token and one retry.
 */
uint64_t	 wazo_request(struct wazo *wazo, const struct wazo_target *to,
		    const char *method, enum wazo_service service,
		    const char *path, const char *query, json_t *body,
		    wazo_cb cb, void *arg);
/*
 * Every item of a confd collection: follows {total, items} with limit
 * and offset; res->body is then one array of all items.
 */
uint64_t	 wazo_list(struct wazo *wazo, const struct wazo_target *to,
		    const char *path, const char *query, wazo_cb cb, void *arg);
void		 wazo_cancel(struct wazo *wazo, uint64_t id);

/*
 * confd's queues and agents as the seed's /wazo/queues and /wazo/agents
 * show them: new objects keyed by queue name and agent number.
 */
json_t		*wazo_map_queues(json_t *items);
json_t		*wazo_map_agents(json_t *items);

/* The "wazo" section of /status: {available, version, error, ...}. */
json_t		*wazo_status(const struct wazo *wazo);
/* Refreshes what /status shows (a token or a cheap confd call). */
void		 wazo_probe(struct wazo *wazo);

#endif
