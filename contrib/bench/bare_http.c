/*
 * The yardstick for ivrd's API throughput: a bare evhttp server on one
 * libevent loop answering every request with the same fixed JSON body.
 * usage: bare_http PORT BODYFILE
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static char *body;
static size_t body_len;

static void
answer(struct evhttp_request *req, void *arg)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, body_len);
	evhttp_send_reply(req, 200, "OK", NULL);
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct evhttp *http;
	FILE *fp;

	if (argc != 3 || (fp = fopen(argv[2], "rb")) == NULL) {
		fprintf(stderr, "usage: bare_http PORT BODYFILE\n");
		return 2;
	}
	body = malloc(1 << 20);
	body_len = fread(body, 1, 1 << 20, fp);
	fclose(fp);
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, answer, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])))
		return 1;
	event_base_dispatch(base);
	return 0;
}
