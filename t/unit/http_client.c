#include "config.h"

/*
 * net/http_client against real servers on the same event_base: an
 * evhttp server for the ordinary cases and a raw TCP one for replies
 * evhttp cannot produce (an interim 100 with headers, folded headers).
 * Round trips, methods, errors, timeouts, refusals, 50 at once, cancel,
 * callbacks that re-enter the client (new request, cancel, free), and
 * what libcurl's SigV4 puts on the wire.
 */

#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "log.h"
#include "net/http_client.h"
#include "util.h"
#include "t/unit/tap.h"

#define BIG_LEN		100000
#define HUGE_LEN	(16 * 1024 * 1024 + 1)
#define WAIT_MS		10000	/* generous: valgrind is slow */
#define NCONCURRENT	50

/* What a callback saw, copied: the response is borrowed. */
struct result {
	int	 done;
	long	 status;
	char	*error;
	char	*body;
	size_t	 body_len;
	int	 nul_terminated;
	double	 seconds;
	char	*x_method;
	char	*x_test;
	char	*error_type;
	char	*location;
	char	*content_length;
	char	*interim;
	char	*final;
	char	*spaces;
	char	*folded;
	char	*dup;
};

static struct event_base	*base;
static struct evhttp		*server;
static int			 port;		/* evhttp */
static struct evconnlistener	*raw_listener;	/* canned replies */
static int			 raw_port;
static int			 slow_seen;	/* /slow requests received */
static char			*seen_authorization;
static char			*seen_amz_date;
static char			*seen_canonical;	/* SigV4 */

static void	server_start(void);
static void	server_echo(struct evhttp_request *, void *);
static char	*canonical_request(struct evhttp_request *, const char *,
		    const char *);
static void	hmac_sha256(const void *, size_t, const char *,
		    unsigned char[SHA256_DIGEST_LENGTH]);
static void	hex(const unsigned char *, size_t, char *);
static void	server_404(struct evhttp_request *, void *);
static void	server_slow(struct evhttp_request *, void *);
static void	server_big(struct evhttp_request *, void *);
static void	server_huge(struct evhttp_request *, void *);
static void	server_redirect(struct evhttp_request *, void *);
static void	raw_start(void);
static void	raw_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	raw_read(struct bufferevent *, void *);
static void	raw_written(struct bufferevent *, void *);
static void	raw_event(struct bufferevent *, short, void *);
static int	closed_port(void);
static int	bound_port(evutil_socket_t);
static char	*url(const char *);
static char	*dup_or_null(const char *);
static void	record(const struct http_response *, void *);
static void	result_clear(struct result *);
static int	run_until(const int *, int, int);
static void	run_for(int);
static int	loop_until(const int *, int, int);
static void	guard_expired(evutil_socket_t, short, void *);
static int	fetch(struct http_client *, const struct http_request *,
		    struct result *);
static void	test_get(struct http_client *);
static void	test_post(struct http_client *);
static void	test_methods(struct http_client *);
static void	test_404(struct http_client *);
static void	test_big(struct http_client *);
static void	test_huge(struct http_client *);
static void	test_redirect(struct http_client *);
static void	test_header_parsing(struct http_client *);
static void	test_timeout(struct http_client *);
static void	test_refused(struct http_client *);
static void	test_protocols(struct http_client *);
static void	test_concurrent(struct http_client *);
static void	test_cancel(struct http_client *);
static void	test_reentrant(struct http_client *);
static void	test_free_in_callback(void);
static void	test_free_in_flight(void);
static void	test_sigv4(struct http_client *);
static const char *expected_signature(const char *);
static void	test_basic_auth(struct http_client *);

int
main(void)
{
	struct http_client *client;

	/* A CI box's proxy must not see (or swallow) loopback requests. */
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	/* Last resort: a hang fails the run instead of blocking make check. */
	alarm(300);

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	server_start();
	raw_start();
	client = http_client_new(base);
	ok(client != NULL, "http_client_new");
	if (client == NULL)
		return done_testing();
	is_int((long long)http_client_active(client), 0, "nothing in flight");

	test_get(client);
	test_post(client);
	test_methods(client);
	test_404(client);
	test_big(client);
	test_huge(client);
	test_redirect(client);
	test_header_parsing(client);
	test_timeout(client);
	test_refused(client);
	test_protocols(client);
	test_concurrent(client);
	test_cancel(client);
	test_reentrant(client);
	test_free_in_callback();
	test_free_in_flight();
	test_sigv4(client);
	test_basic_auth(client);

	is_int((long long)http_client_active(client), 0,
	    "nothing left in flight");
	http_client_free(client);
	http_client_free(NULL);
	ok(1, "http_client_free(NULL) is a no-op");

	evhttp_free(server);
	evconnlistener_free(raw_listener);
	event_base_free(base);
	free(seen_authorization);
	free(seen_amz_date);
	free(seen_canonical);
	return done_testing();
}

static void
test_get(struct http_client *client)
{
	const char *headers[] = { "X-Test: hello there", NULL };
	struct http_request req = { .url = url("/echo"), .headers = headers };
	struct result r = { 0 };

	ok(fetch(client, &req, &r), "GET: callback ran");
	is_int(r.status, 200, "GET: status 200");
	is_str(r.error, NULL, "GET: no error");
	is_str(r.x_method, "GET", "GET: server saw GET");
	is_str(r.x_test, "hello there", "GET: header sent and looked up"
	    " case-insensitively");
	is_int((long long)r.body_len, 0, "GET: empty body");
	ok(r.body != NULL && r.body[0] == '\0' && r.nul_terminated,
	    "GET: empty body is \"\", not NULL");
	is_str(r.content_length, "0", "GET: Content-Length looked up");
	ok(r.seconds >= 0 && r.seconds < 10, "GET: seconds %.4f", r.seconds);
	result_clear(&r);
	free((char *)req.url);
}

static void
test_post(struct http_client *client)
{
	/* Binary, with a NUL in the middle: lengths, never strlen. */
	static const char body[] = "hello\0world";
	const char *headers[] = { "Content-Type: application/octet-stream",
	    "X-Test: post", NULL };
	struct http_request req = { .method = "POST", .headers = headers,
	    .body = body, .body_len = sizeof(body) - 1 };
	struct result r = { 0 };
	char *copy;
	uint64_t id;

	/* The request is copied: scribble over the caller's memory. */
	req.url = copy = url("/echo");
	id = http_request(client, &req, record, &r);
	ok(id != 0, "POST: started, id %llu", (unsigned long long)id);
	ok(r.done == 0, "POST: callback not run from inside http_request");
	memset(copy, 'x', strlen(copy));
	headers[1] = "X-Test: changed";
	run_until(&r.done, 1, WAIT_MS);
	is_int(r.done, 1, "POST: callback ran once");
	is_int(r.status, 200, "POST: status 200");
	is_str(r.x_method, "POST", "POST: server saw POST");
	is_str(r.x_test, "post", "POST: headers were copied");
	is_int((long long)r.body_len, (long long)sizeof(body) - 1,
	    "POST: body_len");
	ok(r.body != NULL && memcmp(r.body, body, sizeof(body) - 1) == 0,
	    "POST: body bytes round trip, NUL included");
	ok(r.nul_terminated, "POST: body NUL-terminated");
	result_clear(&r);
	free(copy);

	/* POST without a body sends an empty one rather than hanging. */
	req.url = url("/echo");
	req.body = NULL;
	req.body_len = 0;
	ok(fetch(client, &req, &r) && r.status == 200 && r.body_len == 0 &&
	    r.x_method != NULL && strcmp(r.x_method, "POST") == 0,
	    "POST without a body");
	result_clear(&r);
	free((char *)req.url);
}

static void
test_methods(struct http_client *client)
{
	static const char body[] = "{\"put\":true}";
	struct http_request req = { .method = "PUT", .url = url("/echo"),
	    .body = body, .body_len = strlen(body) };
	struct result r = { 0 };

	ok(fetch(client, &req, &r), "PUT: callback ran");
	is_int(r.status, 200, "PUT: status 200");
	is_str(r.x_method, "PUT", "PUT: server saw PUT");
	is_str(r.body, body, "PUT: body sent");
	result_clear(&r);

	req.method = "DELETE";
	req.body = NULL;
	req.body_len = 0;
	ok(fetch(client, &req, &r), "DELETE: callback ran");
	is_int(r.status, 200, "DELETE: status 200");
	is_str(r.x_method, "DELETE", "DELETE: server saw DELETE");
	is_int((long long)r.body_len, 0, "DELETE: no body");
	result_clear(&r);

	req.method = "HEAD";
	ok(fetch(client, &req, &r), "HEAD: callback ran (no body awaited)");
	is_int(r.status, 200, "HEAD: status 200");
	is_str(r.x_method, "HEAD", "HEAD: server saw HEAD");
	result_clear(&r);
	free((char *)req.url);
}

static void
test_404(struct http_client *client)
{
	struct http_request req = { .url = url("/status/404") };
	struct result r = { 0 };

	ok(fetch(client, &req, &r), "404: callback ran");
	is_int(r.status, 404, "404: status 404");
	is_str(r.error, NULL, "404: an HTTP error is not a transfer error");
	is_str(r.body, "{\"message\":\"nope\"}", "404: body kept");
	is_str(r.error_type, "NotFound:http://x", "404: x-amzn-ErrorType");
	result_clear(&r);
	free((char *)req.url);
}

static void
test_big(struct http_client *client)
{
	struct http_request req = { .url = url("/big") };
	struct result r = { 0 };
	size_t i, bad = 0;

	ok(fetch(client, &req, &r), "100 kB: callback ran");
	is_int(r.status, 200, "100 kB: status 200");
	is_int((long long)r.body_len, BIG_LEN, "100 kB: body_len");
	for (i = 0; r.body != NULL && i < r.body_len; i++)
		if (r.body[i] != 'a' + (char)(i % 26))
			bad++;
	is_int((long long)bad, 0, "100 kB: every byte right");
	ok(r.nul_terminated, "100 kB: NUL-terminated");
	result_clear(&r);
	free((char *)req.url);
}

static void
test_huge(struct http_client *client)
{
	struct http_request req = { .url = url("/huge") };
	struct result r = { 0 };

	ok(fetch(client, &req, &r), "16 MiB + 1: callback ran");
	is_int(r.status, 0, "16 MiB + 1: status 0");
	is_str(r.error, "response body over 16 MiB", "16 MiB + 1: error");
	is_int((long long)r.body_len, 0, "16 MiB + 1: no partial body");
	result_clear(&r);
	free((char *)req.url);
}

static void
test_redirect(struct http_client *client)
{
	struct http_request req = { .url = url("/redirect") };
	struct result r = { 0 };

	ok(fetch(client, &req, &r), "redirect: callback ran");
	is_int(r.status, 302, "redirect: not followed");
	is_str(r.location, "/echo", "redirect: Location readable");
	is_str(r.x_method, NULL, "redirect: /echo never reached");
	result_clear(&r);
	free((char *)req.url);
}

static void
test_header_parsing(struct http_client *client)
{
	struct http_request req = { 0 };
	struct result r = { 0 };
	char *u;

	xasprintf(&u, "http://127.0.0.1:%d/canned", raw_port);
	req.url = u;
	ok(fetch(client, &req, &r), "headers: callback ran");
	is_int(r.status, 200, "headers: the final status, not the 100");
	is_str(r.interim, NULL, "headers: the 100's headers dropped");
	is_str(r.final, "yes", "headers: the final response's kept");
	is_str(r.spaces, "padded value", "headers: value trimmed");
	is_str(r.folded, "one two", "headers: folded line joined");
	is_str(r.dup, "first", "headers: first of repeated ones");
	is_str(r.body, "ok", "headers: body after the 100");
	result_clear(&r);
	free(u);
}

static void
test_timeout(struct http_client *client)
{
	struct http_request req = { .url = url("/slow"), .timeout_ms = 300 };
	struct result r = { 0 };
	struct timespec t0, t1;
	double elapsed;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok(fetch(client, &req, &r), "timeout: callback ran");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	is_int(r.status, 0, "timeout: status 0");
	ok(r.error != NULL && (strstr(r.error, "timed out") != NULL ||
	    strstr(r.error, "Timeout") != NULL),
	    "timeout: error says so (%s)", r.error ? r.error : "NULL");
	ok(elapsed < 5.0, "timeout: came back in %.2f s", elapsed);
	is_int((long long)http_client_active(client), 0,
	    "timeout: no longer in flight");
	result_clear(&r);
	free((char *)req.url);
}

static void
test_refused(struct http_client *client)
{
	struct http_request req = { 0 };
	struct result r = { 0 };
	char *u;

	xasprintf(&u, "http://127.0.0.1:%d/", closed_port());
	req.url = u;
	ok(fetch(client, &req, &r), "refused: callback ran");
	is_int(r.status, 0, "refused: status 0");
	ok(r.error != NULL && *r.error != '\0', "refused: error (%s)",
	    r.error ? r.error : "NULL");
	result_clear(&r);
	free(u);
}

static void
test_protocols(struct http_client *client)
{
	struct http_request req = { .url = "file:///etc/passwd" };
	struct result r = { 0 };
	uint64_t id;

	id = http_request(client, &req, record, &r);
	if (id != 0)
		run_until(&r.done, 1, WAIT_MS);
	ok(id == 0 || (r.done == 1 && r.status == 0 && r.error != NULL &&
	    r.body_len == 0), "file:// refused (%s)",
	    r.error ? r.error : "at http_request");
	result_clear(&r);
}

static void
test_concurrent(struct http_client *client)
{
	struct result r[NCONCURRENT];
	uint64_t ids[NCONCURRENT];
	char *bodies[NCONCURRENT];
	struct http_request req = { .method = "POST", .url = url("/echo") };
	int i, done = 0, right = 0, ordered = 1;

	memset(r, 0, sizeof(r));
	for (i = 0; i < NCONCURRENT; i++) {
		xasprintf(&bodies[i], "request number %d", i);
		req.body = bodies[i];
		req.body_len = strlen(bodies[i]);
		ids[i] = http_request(client, &req, record, &r[i]);
		if (i > 0 && ids[i] != ids[i - 1] + 1)
			ordered = 0;
	}
	ok(ids[0] != 0 && ordered, "%d at once: ids increase by one",
	    NCONCURRENT);
	is_int((long long)http_client_active(client), NCONCURRENT,
	    "%d at once: all in flight", NCONCURRENT);
	for (i = 0; i < NCONCURRENT; i++) {
		if (!run_until(&r[i].done, 1, WAIT_MS))
			break;
	}
	for (i = 0; i < NCONCURRENT; i++) {
		done += r[i].done;
		if (r[i].status == 200 && r[i].body != NULL &&
		    strcmp(r[i].body, bodies[i]) == 0)
			right++;
		result_clear(&r[i]);
		free(bodies[i]);
	}
	is_int(done, NCONCURRENT, "%d at once: every callback ran once",
	    NCONCURRENT);
	is_int(right, NCONCURRENT, "%d at once: every body its own",
	    NCONCURRENT);
	is_int((long long)http_client_active(client), 0,
	    "%d at once: none left in flight", NCONCURRENT);
	free((char *)req.url);
}

static void
test_cancel(struct http_client *client)
{
	struct http_request slow = { .url = url("/slow") };
	struct http_request echo = { .url = url("/echo") };
	struct result cancelled = { 0 }, early = { 0 }, r = { 0 };
	uint64_t id, early_id;
	int want = slow_seen + 1;

	/* Cancelled once the server has it. */
	id = http_request(client, &slow, record, &cancelled);
	ok(id != 0, "cancel: started");
	is_int((long long)http_client_active(client), 1, "cancel: 1 in flight");
	run_until(&slow_seen, want, WAIT_MS);
	is_int(slow_seen, want, "cancel: the server got the request");
	http_cancel(client, id);
	is_int((long long)http_client_active(client), 0,
	    "cancel: 0 in flight at once");
	http_cancel(client, id);
	http_cancel(client, 0);
	http_cancel(client, 987654321);
	ok(1, "cancel: twice, 0 and unknown ids are no-ops");

	/* Cancelled before the loop even ran. */
	early_id = http_request(client, &slow, record, &early);
	http_cancel(client, early_id);
	is_int((long long)http_client_active(client), 0,
	    "cancel: at once, 0 in flight");

	/* The loop goes on; neither callback ever comes. */
	ok(fetch(client, &echo, &r) && r.status == 200,
	    "cancel: the client still works");
	run_for(400);
	is_int(cancelled.done, 0, "cancel: callback never ran");
	is_int(early.done, 0, "cancel: early one's callback never ran");
	result_clear(&r);
	free((char *)slow.url);
	free((char *)echo.url);
}

/* Re-entrancy: a callback that starts one request and cancels another. */
struct chain {
	struct http_client	*client;
	uint64_t		 victim;
	size_t			 active_inside;
	uint64_t		 next_id;
	struct result		 first;
	struct result		 second;
	struct result		 victim_result;
};

static void
chain_first(const struct http_response *res, void *arg)
{
	struct chain *c = arg;
	struct http_request req = { .method = "POST", .body = "second",
	    .body_len = 6 };

	record(res, &c->first);
	c->active_inside = http_client_active(c->client);
	http_cancel(c->client, c->victim);
	req.url = url("/echo");
	c->next_id = http_request(c->client, &req, record, &c->second);
	free((char *)req.url);
}

static void
test_reentrant(struct http_client *client)
{
	struct http_request slow = { .url = url("/slow") };
	struct http_request echo = { .url = url("/echo") };
	struct chain c = { .client = client };

	c.victim = http_request(client, &slow, record, &c.victim_result);
	http_request(client, &echo, chain_first, &c);
	run_until(&c.first.done, 1, WAIT_MS);
	is_int(c.first.status, 200, "re-entrant: first request done");
	is_int((long long)c.active_inside, 1,
	    "re-entrant: inside its callback, the request is no longer"
	    " counted");
	ok(c.next_id != 0, "re-entrant: callback started a request");
	run_until(&c.second.done, 1, WAIT_MS);
	is_int(c.second.done, 1, "re-entrant: its callback ran");
	is_str(c.second.body, "second", "re-entrant: with its own body");
	is_int(c.victim_result.done, 0,
	    "re-entrant: request cancelled from a callback never completes");
	is_int((long long)http_client_active(client), 0,
	    "re-entrant: nothing in flight");
	result_clear(&c.first);
	result_clear(&c.second);
	result_clear(&c.victim_result);
	free((char *)slow.url);
	free((char *)echo.url);
}

/* A callback that frees its client, with more completions queued. */
static int free_cb_runs;

static void
free_client_cb(const struct http_response *res, void *arg)
{
	free_cb_runs++;
	http_client_free(arg);
}

static void
test_free_in_callback(void)
{
	struct http_client *c = http_client_new(base);
	struct http_request echo = { .url = url("/echo") };
	struct http_request slow = { .url = url("/slow") };
	int i;

	/* Several may finish in one batch: the rest must not run. */
	for (i = 0; i < 4; i++)
		http_request(c, &echo, free_client_cb, c);
	http_request(c, &slow, free_client_cb, c);
	run_until(&free_cb_runs, 1, WAIT_MS);
	run_for(300);
	is_int(free_cb_runs, 1, "free in a callback: no other callback ran");
	free((char *)echo.url);
	free((char *)slow.url);
}

static void
test_free_in_flight(void)
{
	struct http_client *c = http_client_new(base);
	struct http_request slow = { .url = url("/slow") };
	struct http_request big = { .url = url("/big") };
	struct result r[4];
	int i, want = slow_seen + 3, runs = 0;

	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++)
		http_request(c, &slow, record, &r[i]);
	run_until(&slow_seen, want, WAIT_MS);
	http_request(c, &big, record, &r[3]);
	is_int((long long)http_client_active(c), 4, "free in flight: 4 going");
	http_client_free(c);
	run_for(300);
	for (i = 0; i < 4; i++) {
		runs += r[i].done;
		result_clear(&r[i]);
	}
	is_int(runs, 0, "free in flight: no callback ran");
	free((char *)slow.url);
	free((char *)big.url);
}

static void
test_sigv4(struct http_client *client)
{
	static const char body[] = "{\"Text\":\"hi\",\"VoiceId\":\"Joanna\"}";
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct http_request req = { .method = "POST", .url = url("/echo"),
	    .headers = headers, .body = body, .body_len = strlen(body),
	    .aws_sigv4 = "aws:amz:us-east-1:polly", .user = "AKIDEXAMPLE",
	    .password = "secret" };
	static const char prefix[] =
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/";
	static const char scope[] = "/us-east-1/polly/aws4_request, "
	    "SignedHeaders=";
	struct result r = { 0 };
	const char *a, *d, *sig, *signed_headers;
	char names[256] = "";
	int i, shape = 1;

	free(seen_authorization);
	free(seen_amz_date);
	seen_authorization = seen_amz_date = NULL;
	ok(fetch(client, &req, &r) && r.status == 200, "SigV4: status 200");
	is_str(r.body, body, "SigV4: body sent as is");
	ok(seen_authorization != NULL && seen_amz_date != NULL,
	    "SigV4: Authorization and x-amz-date sent");
	if (seen_authorization == NULL || seen_amz_date == NULL) {
		result_clear(&r);
		free((char *)req.url);
		return;
	}
	a = seen_authorization;
	d = seen_amz_date;
	diag("Authorization: %s", a);
	diag("x-amz-date: %s", d);

	ok(strncmp(a, prefix, strlen(prefix)) == 0,
	    "SigV4: AWS4-HMAC-SHA256 with the key id");
	a += strncmp(a, prefix, strlen(prefix)) == 0 ? strlen(prefix) : 0;
	for (i = 0; i < 8; i++)
		if (!isdigit((unsigned char)a[i]))
			shape = 0;
	ok(shape && strncmp(a, d, 8) == 0,
	    "SigV4: credential date is x-amz-date's day");
	ok(shape && strncmp(a + 8, scope, strlen(scope)) == 0,
	    "SigV4: scope us-east-1/polly/aws4_request");
	signed_headers = shape ? a + 8 + strlen(scope) : "";
	sig = strstr(signed_headers, ", Signature=");
	if (sig != NULL && (size_t)(sig - signed_headers) < sizeof(names))
		memcpy(names, signed_headers, (size_t)(sig - signed_headers));
	ok(strstr(names, "host") != NULL && strstr(names, "x-amz-date") !=
	    NULL && strstr(names, "content-type") != NULL,
	    "SigV4: signs host, x-amz-date and content-type (%s)", names);
	shape = sig != NULL && strlen(sig + 12) == 64;
	for (i = 0; shape && i < 64; i++)
		if (!isxdigit((unsigned char)sig[12 + i]))
			shape = 0;
	ok(shape, "SigV4: 64 hex digits of signature");
	ok(shape && seen_canonical != NULL &&
	    strcmp(sig + 12, expected_signature(d)) == 0,
	    "SigV4: signature right for what the server got, body included");

	shape = strlen(d) == 16 && d[8] == 'T' && d[15] == 'Z';
	for (i = 0; shape && i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)d[i]))
			shape = 0;
	ok(shape, "SigV4: x-amz-date is YYYYMMDDTHHMMSSZ");
	ok(strstr(seen_authorization, "secret") == NULL,
	    "SigV4: the secret is not sent");
	result_clear(&r);
	free((char *)req.url);
}

/*
 * Signs the server's canonical request with the test's secret, scope
 * us-east-1/polly: what AWS would compute. Static buffer.
 */
static const char *
expected_signature(const char *amz_date)
{
	static char sig[2 * SHA256_DIGEST_LENGTH + 1];
	unsigned char md[SHA256_DIGEST_LENGTH], key[SHA256_DIGEST_LENGTH];
	char digest[2 * SHA256_DIGEST_LENGTH + 1], date[9], *to_sign;

	SHA256((const unsigned char *)seen_canonical, strlen(seen_canonical),
	    md);
	hex(md, sizeof(md), digest);
	snprintf(date, sizeof(date), "%.8s", amz_date);
	xasprintf(&to_sign, "AWS4-HMAC-SHA256\n%s\n%s/us-east-1/polly/"
	    "aws4_request\n%s", amz_date, date, digest);
	hmac_sha256("AWS4secret", strlen("AWS4secret"), date, key);
	hmac_sha256(key, sizeof(key), "us-east-1", key);
	hmac_sha256(key, sizeof(key), "polly", key);
	hmac_sha256(key, sizeof(key), "aws4_request", key);
	hmac_sha256(key, sizeof(key), to_sign, md);
	hex(md, sizeof(md), sig);
	free(to_sign);
	return sig;
}

static void
test_basic_auth(struct http_client *client)
{
	struct http_request req = { .url = url("/echo"), .user = "alice",
	    .password = "s3cret" };
	struct result r = { 0 };

	free(seen_authorization);
	seen_authorization = NULL;
	ok(fetch(client, &req, &r) && r.status == 200, "Basic: status 200");
	is_str(seen_authorization, "Basic YWxpY2U6czNjcmV0",
	    "Basic: without aws_sigv4, user and password go as Basic");
	result_clear(&r);

	free(seen_authorization);
	seen_authorization = NULL;
	req.user = req.password = NULL;
	ok(fetch(client, &req, &r) && r.status == 200 &&
	    seen_authorization == NULL, "no user: no Authorization");
	result_clear(&r);
	free((char *)req.url);
}

/* Starts a request and runs the loop until its callback (or WAIT_MS). */
static int
fetch(struct http_client *client, const struct http_request *req,
    struct result *r)
{
	if (http_request(client, req, record, r) == 0) {
		diag("http_request refused %s", req->url);
		return 0;
	}
	return run_until(&r->done, 1, WAIT_MS);
}

static void
record(const struct http_response *res, void *arg)
{
	struct result *r = arg;

	r->done++;
	r->status = res->status;
	r->error = dup_or_null(res->error);
	r->body = xmalloc(res->body_len + 1);
	memcpy(r->body, res->body, res->body_len + 1);
	r->body_len = res->body_len;
	r->nul_terminated = res->body[res->body_len] == '\0';
	r->seconds = res->seconds;
	r->x_method = dup_or_null(http_response_header(res, "x-method"));
	r->x_test = dup_or_null(http_response_header(res, "X-TEST"));
	r->error_type = dup_or_null(http_response_header(res,
	    "X-Amzn-ErrorType"));
	r->location = dup_or_null(http_response_header(res, "location"));
	r->content_length = dup_or_null(http_response_header(res,
	    "content-length"));
	r->interim = dup_or_null(http_response_header(res, "X-Interim"));
	r->final = dup_or_null(http_response_header(res, "x-final"));
	r->spaces = dup_or_null(http_response_header(res, "X-Spaces"));
	r->folded = dup_or_null(http_response_header(res, "X-Folded"));
	r->dup = dup_or_null(http_response_header(res, "X-Dup"));
}

static void
result_clear(struct result *r)
{
	free(r->error);
	free(r->body);
	free(r->x_method);
	free(r->x_test);
	free(r->error_type);
	free(r->location);
	free(r->content_length);
	free(r->interim);
	free(r->final);
	free(r->spaces);
	free(r->folded);
	free(r->dup);
	memset(r, 0, sizeof(*r));
}

/*
 * Runs the loop until *counter reaches want, or ms pass: the guard timer
 * wakes the loop, so a callback that never comes fails a test instead of
 * hanging the run.
 */
static int
run_until(const int *counter, int want, int ms)
{
	if (loop_until(counter, want, ms))
		return 1;
	diag("gave up waiting after %d ms", ms);
	return 0;
}

/* Lets the loop run ms, for things that must not happen meanwhile. */
static void
run_for(int ms)
{
	static const int never = 0;

	loop_until(&never, 1, ms);
}

static int
loop_until(const int *counter, int want, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *guard;
	int expired = 0;

	if ((guard = evtimer_new(base, guard_expired, &expired)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(guard, &tv);
	while (*counter < want && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	return *counter >= want;
}

static void
guard_expired(evutil_socket_t fd, short events, void *arg)
{
	int *expired = arg;

	*expired = 1;
	event_base_loopbreak(base);
}

static char *
url(const char *path)
{
	char *u;

	xasprintf(&u, "http://127.0.0.1:%d%s", port, path);
	return u;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* A port nobody listens on: bound once, then closed. */
static int
closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		fatal("closed_port");
	close(fd);
	return ntohs(sin.sin_port);
}

static int
bound_port(evutil_socket_t fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		fatal("getsockname");
	return ntohs(sin.sin_port);
}

static void
server_start(void)
{
	struct evhttp_bound_socket *bound;

	if ((server = evhttp_new(base)) == NULL)
		fatalx("evhttp_new");
	evhttp_set_allowed_methods(server, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
	evhttp_set_cb(server, "/echo", server_echo, NULL);
	evhttp_set_cb(server, "/status/404", server_404, NULL);
	evhttp_set_cb(server, "/slow", server_slow, NULL);
	evhttp_set_cb(server, "/big", server_big, NULL);
	evhttp_set_cb(server, "/huge", server_huge, NULL);
	evhttp_set_cb(server, "/redirect", server_redirect, NULL);
	if ((bound = evhttp_bind_socket_with_handle(server, "127.0.0.1",
	    0)) == NULL)
		fatalx("evhttp_bind_socket_with_handle");
	port = bound_port(evhttp_bound_socket_get_fd(bound));
}

/* Replies with the request's body, its method in X-Method, its X-Test. */
static void
server_echo(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();
	const char *method, *v;

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		method = "GET";
		break;
	case EVHTTP_REQ_POST:
		method = "POST";
		break;
	case EVHTTP_REQ_PUT:
		method = "PUT";
		break;
	case EVHTTP_REQ_DELETE:
		method = "DELETE";
		break;
	case EVHTTP_REQ_HEAD:
		method = "HEAD";
		break;
	default:
		method = "OTHER";
		break;
	}
	evhttp_add_header(out, "X-Method", method);
	if ((v = evhttp_find_header(in, "X-Test")) != NULL)
		evhttp_add_header(out, "X-Test", v);
	if ((v = evhttp_find_header(in, "Authorization")) != NULL) {
		free(seen_authorization);
		seen_authorization = xstrdup(v);
		free(seen_canonical);
		seen_canonical = canonical_request(req, method, v);
	}
	if ((v = evhttp_find_header(in, "x-amz-date")) != NULL) {
		free(seen_amz_date);
		seen_amz_date = xstrdup(v);
	}
	evbuffer_add_buffer(body, evhttp_request_get_input_buffer(req));
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
}

/*
 * The SigV4 canonical request (tts-notes.md 5) as the server got it, for
 * test_sigv4 to sign with the secret. NULL when not SigV4. The query is
 * taken verbatim, as libcurl 7.88 signs it.
 */
static char *
canonical_request(struct evhttp_request *req, const char *method,
    const char *authorization)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct evbuffer *out;
	const char *uri = evhttp_request_get_uri(req), *query, *start, *v;
	const unsigned char *data;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char digest[2 * SHA256_DIGEST_LENGTH + 1], *names, *name, *last;
	char *canonical;
	size_t len;

	if ((start = strstr(authorization, "SignedHeaders=")) == NULL)
		return NULL;
	start += strlen("SignedHeaders=");
	names = xstrndup(start, strcspn(start, ","));
	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	query = strchr(uri, '?');
	evbuffer_add_printf(out, "%s\n%.*s\n%s\n", method,
	    (int)(query != NULL ? (size_t)(query - uri) : strlen(uri)), uri,
	    query != NULL ? query + 1 : "");
	for (name = strtok_r(names, ";", &last); name != NULL;
	    name = strtok_r(NULL, ";", &last)) {
		v = evhttp_find_header(in, name);
		evbuffer_add_printf(out, "%s:%s\n", name, v != NULL ? v : "");
	}
	free(names);
	len = evbuffer_get_length(body);
	data = len > 0 ? evbuffer_pullup(body, -1) : (const unsigned char *)"";
	SHA256(data, len, md);
	hex(md, sizeof(md), digest);
	evbuffer_add_printf(out, "\n%.*s\n%s", (int)strcspn(start, ","),
	    start, digest);
	len = evbuffer_get_length(out);
	canonical = xmalloc(len + 1);
	evbuffer_remove(out, canonical, len);
	canonical[len] = '\0';
	evbuffer_free(out);
	return canonical;
}

static void
hmac_sha256(const void *key, size_t keylen, const char *data,
    unsigned char out[SHA256_DIGEST_LENGTH])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data,
	    strlen(data), md, &len) == NULL || len != SHA256_DIGEST_LENGTH)
		fatalx("HMAC");
	memcpy(out, md, SHA256_DIGEST_LENGTH);
}

static void
hex(const unsigned char *bytes, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
	out[2 * len] = '\0';
}

static void
server_404(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "x-amzn-ErrorType", "NotFound:http://x");
	evbuffer_add_printf(body, "{\"message\":\"nope\"}");
	evhttp_send_reply(req, 404, "Not Found", body);
	evbuffer_free(body);
}

/* Never answers: evhttp frees the request when the client goes away. */
static void
server_slow(struct evhttp_request *req, void *arg)
{
	slow_seen++;
}

static void
server_big(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = evbuffer_new();
	char *data = xmalloc(BIG_LEN);
	size_t i;

	for (i = 0; i < BIG_LEN; i++)
		data[i] = 'a' + (char)(i % 26);
	evbuffer_add(body, data, BIG_LEN);
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
	free(data);
}

static void
server_huge(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = evbuffer_new();
	char *data = xcalloc(1, HUGE_LEN);

	memset(data, 'z', HUGE_LEN);
	evbuffer_add(body, data, HUGE_LEN);
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
	free(data);
}

static void
server_redirect(struct evhttp_request *req, void *arg)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	    "/echo");
	evhttp_send_reply(req, 302, "Found", NULL);
}

/*
 * Canned bytes evhttp would never send: an interim 100 carrying a
 * header, padded, folded and repeated headers.
 */
static const char canned[] =
    "HTTP/1.1 100 Continue\r\n"
    "X-Interim: yes\r\n"
    "\r\n"
    "HTTP/1.1 200 OK\r\n"
    "X-Final: yes\r\n"
    "X-Spaces:   padded value  \t\r\n"
    "X-Folded: one\r\n"
    "  two\r\n"
    "X-Dup: first\r\n"
    "x-dup: second\r\n"
    "Content-Length: 2\r\n"
    "Connection: close\r\n"
    "\r\n"
    "ok";

static void
raw_start(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct evconnlistener *l;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = evconnlistener_new_bind(base, raw_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
	    (struct sockaddr *)&sin, sizeof(sin))) == NULL)
		fatalx("evconnlistener_new_bind");
	raw_port = bound_port(evconnlistener_get_fd(l));
	raw_listener = l;
}

static void
raw_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent *bev;

	if ((bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(bev, raw_read, NULL, raw_event, NULL);
	bufferevent_enable(bev, EV_READ);
}

/* Waits for the end of the request's headers, then sends the reply. */
static void
raw_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	if (evbuffer_search(in, "\r\n\r\n", 4, NULL).pos == -1)
		return;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_setcb(bev, NULL, raw_written, raw_event, NULL);
	bufferevent_write(bev, canned, sizeof(canned) - 1);
}

static void
raw_written(struct bufferevent *bev, void *arg)
{
	bufferevent_free(bev);
}

static void
raw_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}
