/*
 * The FastAGI runtime. Wazo's dialplan runs AGI(agi://HOST:PORT/FLOW_ID)
 * and Asterisk connects here; one session per call drives the flow
 * interpreter (flow/interp.h) over the line codec (agi/codec.h), strictly
 * one command in flight, prompts from the TTS cache, and writes the call
 * record as the call progresses.
 */
#ifndef IVRD_AGI_H
#define IVRD_AGI_H

#include <jansson.h>

struct event_base;
struct conf;
struct store;
struct tts;
struct agi;

/*
 * Binds conf->agi_listen. NULL with *err (owned by the caller) on
 * failure. store, tts and conf are borrowed and must outlive the agi.
 */
struct agi	*agi_new(struct event_base *base, struct store *store,
		    struct tts *tts, const struct conf *conf, char **err);
/* Ends every call in progress (records finalised) and stops listening. */
void		 agi_free(struct agi *agi);
/* The bound address, "127.0.0.1:PORT" (borrowed). */
const char	*agi_address(const struct agi *agi);
/*
 * Live transfer (POST /voice/calls/{uuid}/transfer): the call leaves the
 * IVR at once and is dialled to target. AGI_TRANSFER_NOTLIVE when no
 * session of that call is in ivrd any more (the API answers 409),
 * AGI_TRANSFER_BAD for a target that cannot be dialled (400).
 */
enum agi_transfer_res { AGI_TRANSFER_OK, AGI_TRANSFER_NOTLIVE,
	AGI_TRANSFER_BAD, AGI_TRANSFER_HANDED_OVER };
/*
 * AGI_TRANSFER_HANDED_OVER: the call is in ivrd but already handed to a
 * queue or an AI agent (blocked inside Asterisk's EXEC); *channel (owned
 * by the caller) is its Asterisk channel, for wazo-amid's Redirect.
 */
enum agi_transfer_res agi_transfer(struct agi *agi, const char *call_uuid,
		    const char *tenant, const char *target, char **channel);
/* After a Redirect of that call: its record says transferred to target. */
void		 agi_note_redirect(struct agi *agi, const char *call_uuid,
		    const char *target);

/* The "calls" section of /status: a new object. */
json_t		*agi_status(const struct agi *agi);

#endif
