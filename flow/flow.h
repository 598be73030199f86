/*
 * The flow model: a flow document (JSON, as the /api/ivr seed defines it)
 * parsed into C structures, validated, and written back out normalised
 * with every default filled in.
 *
 * Field semantics are those of shared/flow-runtime.md; the structures
 * themselves live in flow/flow_int.h, for flow/ and its unit tests only.
 */
#ifndef IVRD_FLOW_H
#define IVRD_FLOW_H

#include <jansson.h>

struct flow;

#define FLOW_ID_MAX	64	/* flow, tenant, menu and prompt ids */

/*
 * Parses and validates doc (borrowed). Returns a new flow owned by the
 * caller, or NULL with *errors set to a new JSON array of strings, one per
 * problem, each "path: message" ("menus.root.options.1: queue_ref is
 * required for action 'queue'"), in document order. The read-only fields
 * the API adds (created_at, updated_at, status) are accepted and ignored.
 */
struct flow	*flow_parse(json_t *doc, json_t **errors);
void		 flow_free(struct flow *flow);

/*
 * The normalised document: every field, defaults filled, keys in schema
 * order. Never contains created_at, updated_at or status. New reference.
 */
json_t		*flow_to_json(const struct flow *flow);

/* Borrowed strings, valid until flow_free. */
const char	*flow_id(const struct flow *flow);
const char	*flow_tenant(const struct flow *flow);
const char	*flow_entry_context(const struct flow *flow);
/*
 * 1 when s may be a dialplan target (queue, mailbox, dial destination):
 * 1-80 of A-Z a-z 0-9 + * # @ . _ - / :, the rule flows are saved with.
 */
int		 flow_safe_target(const char *s);
/* Seconds a call may spend in the IVR. */
int		 flow_max_call_duration(const struct flow *flow);

#endif
