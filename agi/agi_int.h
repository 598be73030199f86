/* Shared between the files of agi/ only. */
#ifndef IVRD_AGI_INT_H
#define IVRD_AGI_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "agi/agi.h"
#include "flow/interp.h"

struct agi_session;
struct flow;

/* A parsed flow shared by the calls running it; freed with its last user. */
struct agi_flow {
	struct flow	*flow;
	char		*doc;		/* the stored text it was parsed from */
	char		*tenant, *id;
	json_t		*routes;	/* deploy's queue -> {context, number} */
	int		 refs;
};

struct agi {
	struct event_base	*base;
	struct evconnlistener	*listener;
	char			 address[64];
	struct store		*store;
	struct tts		*tts;

	/* Settings, copied at start. */
	long			 max_calls;
	long			 env_timeout_ms;
	long			 command_timeout_sec;
	enum flow_routing	 routing;
	char			*dial_template;
	char			*recordings_dir;
	char			*ai_agent;	/* AudioSocket HOST:PORT or NULL */

	TAILQ_HEAD(, agi_session) sessions;
	long			 nsessions;
	uint64_t		 next_id;

	/* Parsed flows, by "tenant/id" (a handful: a linear list). */
	struct agi_flow	       **flows;
	size_t			 nflows;

	/* Call records are committed in batches, every few ms. */
	struct event		*flush_ev;
	int			 batch_open;

	/* For /status. */
	long			 calls_total, calls_busy, calls_failed;
};

/* session.c */
void	agi_session_start(struct agi *agi, int fd);
void	agi_session_kill(struct agi_session *s);

/* agi.c */
/* The flow (tenant may be NULL: any); NULL with *why set. */
struct agi_flow	*agi_flow_get(struct agi *agi, const char *tenant,
		    const char *id, const char **why);
void		 agi_flow_put(struct agi_flow *f);
/* Opens a batch if none is; the flush timer commits it. */
void		 agi_record_batch(struct agi *agi);

#endif
