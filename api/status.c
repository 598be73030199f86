#include "config.h"

#include <time.h>

#include "agi/agi.h"
#include "api/api_int.h"
#include "util.h"
#include "wazo/wazo.h"

/*
 * GET /api/ivr/status. The wazo section is what the Wazo client learned
 * from its last requests (wazo_status).
 */
void
api_status(struct api_req *r)
{
	char now[ISO8601_LEN];
	long total = 0, active = 0;

	if (store_flow_count(r->store, api_scope_tenant(r), &total,
	    &active) != STORE_OK) {
		api_error(r, 500, "store error while counting flows");
		return;
	}
	iso8601_utc(time(NULL), now);
	api_reply(r, 200, json_pack("{s:o, s:o, s:o, s:{s:I, s:I, "
	    "s:I}, s:s}",
	    "calls", api_agi(r->api) ? agi_status(api_agi(r->api)) :
	    json_object(),
	    "tts", tts_status(r->tts),
	    "wazo", wazo_status(api_wazo(r->api)),
	    "flows", "total", (json_int_t)total, "active", (json_int_t)active,
	    "inactive", (json_int_t)(total - active),
	    "timestamp", now));
}
