#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "agi/agi.h"
#include "conf.h"
#include "log.h"
#include "util.h"

#define AGI_ENV_MAX	16384	/* a real env block is well under 2 KiB */

struct agi {
	struct evconnlistener	*listener;
	char			 address[64];
};

static void	agi_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	agi_read(struct bufferevent *, void *);
static void	agi_read_reply(struct bufferevent *, void *);
static void	agi_event(struct bufferevent *, short, void *);

struct agi *
agi_new(struct event_base *base, const struct conf *conf, char **err)
{
	struct agi *agi = xcalloc(1, sizeof(*agi));
	int fd;

	fd = listen_socket(conf->agi_listen, agi->address,
	    sizeof(agi->address), err);
	if (fd == -1) {
		free(agi);
		return NULL;
	}
	agi->listener = evconnlistener_new(base, agi_accept, agi,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (agi->listener == NULL) {
		xasprintf(err, "cannot serve FastAGI on %s", agi->address);
		close(fd);
		free(agi);
		return NULL;
	}
	log_info("agi: listening on agi://%s", agi->address);
	return agi;
}

void
agi_free(struct agi *agi)
{
	if (agi == NULL)
		return;
	evconnlistener_free(agi->listener);
	free(agi);
}

const char *
agi_address(const struct agi *agi)
{
	return agi->address;
}

static void
agi_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct bufferevent *bev;
	struct timeval tv = { 10, 0 };

	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, agi_read, NULL, agi_event, NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}

/*
 * Reads the agi_* block up to its blank line, sets IVR_STATUS=FAILED and,
 * once Asterisk has answered that one command, closes: the dialplan
 * resumes and routes FAILED to its fallback. Never silence.
 */
static void
agi_read(struct bufferevent *bev, void *arg)
{
	static const char failed[] = "SET VARIABLE IVR_STATUS \"FAILED\"\n";
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		free(line);
		if (len == 0) {
			log_warnx("agi: call handed back with IVR_STATUS=FAILED:"
			    " the call runtime is not built yet");
			evbuffer_drain(in, evbuffer_get_length(in));
			bufferevent_setcb(bev, agi_read_reply, NULL, agi_event,
			    NULL);
			bufferevent_write(bev, failed, sizeof(failed) - 1);
			return;
		}
	}
	if (evbuffer_get_length(in) > AGI_ENV_MAX) {
		log_warnx("agi: environment block over %d bytes, closing",
		    AGI_ENV_MAX);
		bufferevent_free(bev);
	}
}

static void
agi_read_reply(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	/* "100 Trying" may precede the final answer. */
	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF)) != NULL) {
		int final = strncmp(line, "100", 3) != 0;

		free(line);
		if (final) {
			bufferevent_free(bev);
			return;
		}
	}
}

static void
agi_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}
