/*
 * The SQLite store: one file, WAL, foreign keys, migrations at open.
 * Durability: synchronous=NORMAL in WAL mode, so a committed write
 * survives the daemon being killed (the OS keeps it); only a power loss
 * may drop the last transactions.
 *
 * No sqlite type or code leaves this module: results are enum store_res,
 * strings owned as documented, or jansson values.
 */
#ifndef IVRD_STORE_H
#define IVRD_STORE_H

#include <jansson.h>

struct store;

enum store_res {
	STORE_OK,
	STORE_NOTFOUND,
	STORE_CONFLICT,		/* the key exists already */
	STORE_AMBIGUOUS,	/* several tenants hold that flow id */
	STORE_ERR
};

/* Opens (creating) the store at path and migrates it; *err owned by caller. */
struct store	*store_open(const char *path, char **err);
void		 store_close(struct store *store);
/* The schema version after migrations. */
int		 store_schema_version(struct store *store);

/* --- flows (store/flows.c) ---------------------------------------- */

/*
 * A stored flow: doc is its full API representation (the normalised
 * flow plus status, created_at, updated_at) as JSON text.
 */
struct store_flow {
	char	*tenant;
	char	*id;
	char	*status;
	char	*created_at;
	char	*updated_at;
	char	*doc;
};
void	store_flow_clear(struct store_flow *flow);

enum store_res store_flow_insert(struct store *store,
		    const struct store_flow *flow);
/* Replaces doc, status and updated_at of (tenant, id). */
enum store_res store_flow_update(struct store *store,
		    const struct store_flow *flow);
enum store_res store_flow_delete(struct store *store, const char *tenant,
		    const char *id);
/*
 * Finds flow id in tenant, or in any tenant when tenant is NULL
 * (STORE_AMBIGUOUS if more than one has it). Fills *out (caller clears).
 */
enum store_res store_flow_get(struct store *store, const char *tenant,
		    const char *id, struct store_flow *out);
/*
 * Calls cb for each flow of tenant (all tenants when NULL), ordered by
 * tenant then id; cb borrows the flow. A non-zero return from cb stops.
 */
enum store_res store_flow_each(struct store *store, const char *tenant,
		    int (*cb)(const struct store_flow *, void *), void *arg);
/* Counts flows of tenant (all when NULL) by status. */
enum store_res store_flow_count(struct store *store, const char *tenant,
		    long *total, long *active);

/* --- API tokens (store/tokens.c) ---------------------------------- */

/* Who a request acts for. tenant is NULL for an admin token. */
struct store_principal {
	char	 token_id[16];
	char	 tenant[72];
	int	 admin;
};

/*
 * Creates a token and returns its secret text once in *token (owned by
 * caller); only its SHA-256 is stored. STORE_CONFLICT when the tenant
 * already has a live token of that name.
 */
enum store_res store_token_create(struct store *store, const char *tenant,
		    const char *name, int admin, char **token);
/* STORE_OK and *who filled when token is live; STORE_NOTFOUND otherwise. */
enum store_res store_token_check(struct store *store, const char *token,
		    struct store_principal *who);
/*
 * Revokes by token id or by name; STORE_AMBIGUOUS when the name belongs
 * to live tokens of several tenants (use the id then).
 */
enum store_res store_token_revoke(struct store *store, const char *id_or_name);
/* A new array of {id, name, tenant, admin, created_at, revoked_at}. */
json_t		*store_token_list(struct store *store);

/* --- call records (store/calls.c) -------------------------------- */

/*
 * A call as flow-runtime.md's "call record" describes it. Strings may be
 * NULL (stored as NULL); timeline is a JSON array as text. Times are
 * ISO 8601 UTC with milliseconds.
 */
struct store_call {
	char		*id;		/* uuid */
	char		*uniqueid;	/* Asterisk's */
	char		*tenant;
	char		*flow_id;
	char		*phone_number_uuid;
	char		*from_number;
	char		*to_number;
	char		*direction;	/* inbound, outbound */
	char		*status;	/* ringing, in-progress, completed, failed */
	char		*started_at;
	char		*answered_at;
	char		*ended_at;
	long long	 duration_ms;	/* -1: not ended */
	char		*language;
	char		*outcome;
	char		*recording_path;
	int		 ai_handled;
	char		*timeline;
};
void	store_call_clear(struct store_call *call);

/*
 * Inserts the call, or updates what changes as it progresses (status,
 * times, outcome, timeline...) when its id exists.
 */
enum store_res store_call_put(struct store *store,
		    const struct store_call *call);
/* Reads call id (any tenant when tenant is NULL) into *out. */
enum store_res store_call_get(struct store *store, const char *tenant,
		    const char *id, struct store_call *out);

/* --- phone numbers (store/numbers.c) ------------------------------ */

/*
 * A phone number of the voice API (shared/seeds/003_...). The runtime
 * looks numbers up by phone_number (E.164) when a call reaches ivrd with
 * no flow in its AGI URL. Strings owned; NULL when unset.
 */
struct store_number {
	char	*uuid;
	char	*tenant;
	char	*phone_number;		/* E.164, "+15551234567" */
	char	*friendly_name;
	char	*status;		/* active, inactive */
	char	*connection_type;	/* wazo */
	char	*call_handling_mode;	/* ai_only, human_only, ai_with_handoff, ivr_menu */
	int	 ai_enabled;
	int	 recording_enabled;
	int	 ivr_enabled;
	char	*ai_system_prompt;
	char	*flow_id;		/* the flow ivr_menu runs */
	char	*human_target;		/* a queue name */
	char	*created_at;
	char	*ivr_menu;		/* the IVR menu JSON, or NULL */
	char	*updated_at;
};
void	store_number_clear(struct store_number *n);
/*
 * Inserts n (phone_number unique across tenants: STORE_CONFLICT), or
 * replaces every field of the number (tenant, uuid) but created_at.
 */
enum store_res store_number_insert(struct store *store,
		    const struct store_number *n);
enum store_res store_number_update(struct store *store,
		    const struct store_number *n);
enum store_res store_number_delete(struct store *store, const char *tenant,
		    const char *uuid);
/* Number uuid of tenant (any tenant when NULL) into *out (caller clears). */
enum store_res store_number_get(struct store *store, const char *tenant,
		    const char *uuid, struct store_number *out);
/*
 * Calls cb for each number of tenant (every tenant when NULL), oldest
 * first; cb borrows the number, a non-zero return stops.
 */
enum store_res store_number_each(struct store *store, const char *tenant,
		    int (*cb)(const struct store_number *, void *), void *arg);
/* Sets the tenant's voice permission (the tenant row is created). */
enum store_res store_tenant_voice_set(struct store *store, const char *tenant,
		    int enabled);

/*
 * The call log: a page of calls, newest first, matching every non-NULL
 * filter; from/to bound started_at (ISO 8601 UTC text, from inclusive, to
 * exclusive). tenant NULL means every tenant (admin). cb borrows each
 * call (no timeline); *total is the count of every matching call.
 */
struct store_call_filter {
	const char	*tenant;
	const char	*phone_number_uuid;
	const char	*status;
	const char	*direction;
	const char	*from;
	const char	*to;
	long		 page;		/* from 1 */
	long		 per_page;
};
/*
 * A page of calls, newest first, and *total matching. Across every tenant
 * (f->tenant NULL) the count stops at STORE_CALL_COUNT_CAP + 1: an exact
 * count of millions of rows would hold the event loop for tens of ms.
 */
#define STORE_CALL_COUNT_CAP	10000
enum store_res store_call_query(struct store *store,
		    const struct store_call_filter *f,
		    int (*cb)(const struct store_call *, void *), void *arg,
		    long *total);
/*
 * The number whose phone_number equals phone (E.164, or the same digits
 * without "+"), in any tenant. STORE_NOTFOUND when none.
 */
enum store_res store_number_by_phone(struct store *store, const char *phone,
		    struct store_number *out);
/* The tenant's voice permission (seed: twilio_voice_enabled); 0 if unset. */
int	store_tenant_voice_enabled(struct store *store, const char *tenant);

/* --- deployments to Wazo (store/deploy.c) --------------------------- */

/* The deploy state of a flow: a new object, or NULL when never deployed. */
json_t	*store_deploy_get(struct store *store, const char *tenant,
	    const char *flow_id);
/* Saves state (borrowed); NULL deletes it. */
enum store_res store_deploy_put(struct store *store, const char *tenant,
		    const char *flow_id, json_t *state);
/* Sets a flow's status ("active" when deployed) in its row and document. */
enum store_res store_flow_set_status(struct store *store, const char *tenant,
		    const char *flow_id, const char *status);

/*
 * Batching: writes between store_batch_begin and store_batch_commit share
 * one transaction (one WAL commit for many calls). Nesting is counted.
 */
enum store_res store_batch_begin(struct store *store);
enum store_res store_batch_commit(struct store *store);

#endif
