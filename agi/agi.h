/*
 * The FastAGI listener. Wazo's dialplan runs AGI(agi://HOST:PORT/FLOW_ID)
 * and Asterisk connects here. Until the call runtime lands (the FastAGI
 * issue), a connection is answered by handing control straight back to
 * the dialplan with IVR_STATUS=FAILED, as the fail-safe rule requires.
 */
#ifndef IVRD_AGI_H
#define IVRD_AGI_H

struct event_base;
struct conf;
struct agi;

/* Binds conf->agi_listen; NULL with *err (owned by caller) on failure. */
struct agi	*agi_new(struct event_base *base, const struct conf *conf,
		    char **err);
void		 agi_free(struct agi *agi);
/* The bound address, "127.0.0.1:PORT" (borrowed). */
const char	*agi_address(const struct agi *agi);

#endif
