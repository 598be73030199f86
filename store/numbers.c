#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util.h"

/* Placeholder until the voice API lands: no numbers yet. */
void
store_number_clear(struct store_number *n)
{
	free(n->uuid);
	free(n->tenant);
	free(n->phone_number);
	free(n->friendly_name);
	free(n->status);
	free(n->connection_type);
	free(n->call_handling_mode);
	free(n->ai_system_prompt);
	free(n->flow_id);
	free(n->human_target);
	free(n->created_at);
	memset(n, 0, sizeof(*n));
}

enum store_res
store_number_by_phone(struct store *store, const char *phone,
    struct store_number *out)
{
	return STORE_NOTFOUND;
}

int
store_tenant_voice_enabled(struct store *store, const char *tenant)
{
	return 0;
}
