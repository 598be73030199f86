#include "config.h"

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "net/http_client.h"
#include "util.h"

#define HTTP_TIMEOUT_MS		30000
#define HTTP_CONNECT_TIMEOUT_MS	10000
/* Polly audio for 6000 characters is a few MB; nothing we fetch is near. */
#define HTTP_BODY_MAX		(16 * 1024 * 1024)
/* libcurl 7.88 itself puts no cap on the sum of a response's headers. */
#define HTTP_HEADERS_MAX	(256 * 1024)
#define HTTP_BODY_CHUNK		16384

struct http_header {
	char	*name;
	char	*value;
};

/* One request, from http_request until its callback or cancel. */
struct http_xfer {
	/*
	 * Handed to the callback; http_response_header finds the transfer
	 * (and its headers) back from it, so the public struct needs no
	 * private field.
	 */
	struct http_response	 res;
	TAILQ_ENTRY(http_xfer)	 entry;
	uint64_t		 id;
	CURL			*easy;
	http_done_cb		 cb;
	void			*arg;
	char			*method;	/* for the log */
	char			*url;
	/* curl keeps pointers to these until the handle is cleaned up. */
	struct curl_slist	*req_headers;
	char			*req_body;
	char			 errbuf[CURL_ERROR_SIZE];

	char			*body;
	size_t			 body_len;
	size_t			 body_cap;
	struct http_header	*headers;
	size_t			 nheaders;
	size_t			 headers_bytes;
	/* Why our own write or header callback stopped the transfer. */
	const char		*abort_reason;
};

/* A socket curl asked us to watch; curl_multi_assign ties it to the fd. */
struct http_sock {
	TAILQ_ENTRY(http_sock)	 entry;
	struct event		*ev;
};

struct http_client {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	TAILQ_HEAD(, http_xfer)	 xfers;		/* in flight */
	TAILQ_HEAD(, http_sock)	 socks;
	size_t			 active;
	uint64_t		 last_id;
	/*
	 * While a callback runs, points at a flag on the completing
	 * function's stack, which http_client_free sets: the only way that
	 * function can learn the client is gone.
	 */
	int			*freed;
};

static int	http_setup(struct http_xfer *, const struct http_request *);
static void	http_xfer_free(struct http_xfer *);
static size_t	http_write_cb(char *, size_t, size_t, void *);
static size_t	http_header_cb(char *, size_t, size_t, void *);
static void	http_headers_clear(struct http_xfer *);
static int	http_socket_cb(CURL *, curl_socket_t, int, void *, void *);
static int	http_timer_set(CURLM *, long, void *);
static void	http_sock_ready(evutil_socket_t, short, void *);
static void	http_timer_fire(evutil_socket_t, short, void *);
static void	http_sock_free(struct http_client *, struct http_sock *);
static void	http_check_done(struct http_client *);
static int	http_complete(struct http_client *, struct http_xfer *,
		    CURLcode);

/*
 * curl_global_init is called here, once, behind a plain static: that is
 * only safe because the daemon builds its clients while it is still
 * single-threaded (before the espeak thread starts). The global state is
 * never cleaned up; it lives as long as the process.
 */
struct http_client *
http_client_new(struct event_base *base)
{
	static int curl_ready;
	struct http_client *client;
	const curl_version_info_data *info;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_warnx("http: curl_global_init failed");
			return NULL;
		}
		curl_ready = 1;
		info = curl_version_info(CURLVERSION_NOW);
		if ((info->features & CURL_VERSION_ASYNCHDNS) == 0)
			log_warnx("http: libcurl %s has no asynchronous"
			    " resolver: host names block the loop",
			    info->version);
	}

	client = xcalloc(1, sizeof(*client));
	client->base = base;
	TAILQ_INIT(&client->xfers);
	TAILQ_INIT(&client->socks);
	if ((client->multi = curl_multi_init()) == NULL) {
		log_warnx("http: curl_multi_init failed");
		free(client);
		return NULL;
	}
	if ((client->timer = evtimer_new(base, http_timer_fire,
	    client)) == NULL)
		fatalx("http: evtimer_new failed");
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION,
	    http_socket_cb);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION,
	    http_timer_set);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
	return client;
}

void
http_client_free(struct http_client *client)
{
	struct http_xfer *x;
	struct http_sock *sock;

	if (client == NULL)
		return;
	if (client->freed != NULL)
		*client->freed = 1;
	while ((x = TAILQ_FIRST(&client->xfers)) != NULL) {
		TAILQ_REMOVE(&client->xfers, x, entry);
		curl_multi_remove_handle(client->multi, x->easy);
		http_xfer_free(x);
	}
	/* May still call http_socket_cb for cached connections it closes. */
	curl_multi_cleanup(client->multi);
	while ((sock = TAILQ_FIRST(&client->socks)) != NULL)
		http_sock_free(client, sock);
	event_free(client->timer);
	free(client);
}

uint64_t
http_request(struct http_client *client, const struct http_request *req,
    http_done_cb cb, void *arg)
{
	struct http_xfer *x;
	CURLMcode mc;

	if (req->url == NULL) {
		log_warnx("http: request without a URL");
		return 0;
	}
	x = xcalloc(1, sizeof(*x));
	x->cb = cb;
	x->arg = arg;
	x->method = xstrdup(req->method != NULL ? req->method : "GET");
	x->url = xstrdup(req->url);
	if ((x->easy = curl_easy_init()) == NULL) {
		log_warnx("http: %s %s: curl_easy_init failed", x->method,
		    x->url);
		http_xfer_free(x);
		return 0;
	}
	if (http_setup(x, req) == -1) {
		http_xfer_free(x);
		return 0;
	}
	/*
	 * This only arms curl's timer (at 0 ms): the transfer starts on the
	 * next loop iteration, so cb never runs before we return.
	 */
	if ((mc = curl_multi_add_handle(client->multi, x->easy)) !=
	    CURLM_OK) {
		log_warnx("http: %s %s: %s", x->method, x->url,
		    curl_multi_strerror(mc));
		http_xfer_free(x);
		return 0;
	}
	x->id = ++client->last_id;
	TAILQ_INSERT_TAIL(&client->xfers, x, entry);
	client->active++;
	return x->id;
}

/* Linear, but an IVR has a handful of requests in flight at most. */
void
http_cancel(struct http_client *client, uint64_t id)
{
	struct http_xfer *x;

	TAILQ_FOREACH(x, &client->xfers, entry) {
		if (x->id != id)
			continue;
		TAILQ_REMOVE(&client->xfers, x, entry);
		client->active--;
		/* Also drops its CURLMSG_DONE if one is queued unread. */
		curl_multi_remove_handle(client->multi, x->easy);
		log_debug("http: %s %s: cancelled", x->method, x->url);
		http_xfer_free(x);
		return;
	}
}

size_t
http_client_active(const struct http_client *client)
{
	return client->active;
}

const char *
http_response_header(const struct http_response *res, const char *name)
{
	const struct http_xfer *x = (const struct http_xfer *)
	    (const void *)((const char *)res - offsetof(struct http_xfer, res));
	size_t i;

	for (i = 0; i < x->nheaders; i++)
		if (strcasecmp(x->headers[i].name, name) == 0)
			return x->headers[i].value;
	return NULL;
}

/*
 * Sets every option of one transfer. A failure here is a request curl
 * refuses (an option this libcurl lacks): logged, and http_request
 * returns 0.
 */
static int
http_setup(struct http_xfer *x, const struct http_request *req)
{
	CURL *easy = x->easy;
	CURLcode rc = CURLE_OK;
	long timeout = req->timeout_ms > 0 ? req->timeout_ms : HTTP_TIMEOUT_MS;
	int has_body = req->body != NULL || strcmp(x->method, "POST") == 0;
	size_t i;

	/* Keeps the first failure; later calls are skipped. */
#define HTTP_SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(easy, (opt), (val));		\
} while (0)

	HTTP_SET(CURLOPT_PRIVATE, x);
	HTTP_SET(CURLOPT_URL, x->url);
	/* Never file://, smtp:// and the like, whatever a config says. */
	HTTP_SET(CURLOPT_PROTOCOLS_STR, "http,https");
	HTTP_SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* No SIGALRM on the loop: the resolver is curl's thread. */
	HTTP_SET(CURLOPT_NOSIGNAL, 1L);
	HTTP_SET(CURLOPT_NOPROGRESS, 1L);
	HTTP_SET(CURLOPT_TIMEOUT_MS, timeout);
	HTTP_SET(CURLOPT_CONNECTTIMEOUT_MS,
	    timeout < HTTP_CONNECT_TIMEOUT_MS ? timeout :
	    (long)HTTP_CONNECT_TIMEOUT_MS);
	HTTP_SET(CURLOPT_ERRORBUFFER, x->errbuf);
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_write_cb);
	HTTP_SET(CURLOPT_WRITEDATA, x);
	HTTP_SET(CURLOPT_HEADERFUNCTION, http_header_cb);
	HTTP_SET(CURLOPT_HEADERDATA, x);
	HTTP_SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);

	if (strcmp(x->method, "HEAD") == 0)
		HTTP_SET(CURLOPT_NOBODY, 1L);
	else if (has_body) {
		/*
		 * POSTFIELDS, never a read callback: it is the only body
		 * source libcurl 7.88's SigV4 hashes (tts-notes.md 4).
		 */
		x->req_body = xmalloc(req->body_len + 1);
		if (req->body_len > 0)
			memcpy(x->req_body, req->body, req->body_len);
		x->req_body[req->body_len] = '\0';
		HTTP_SET(CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len);
		HTTP_SET(CURLOPT_POSTFIELDS, x->req_body);
	}
	if (strcmp(x->method, "HEAD") != 0 && strcmp(x->method, "POST") != 0 &&
	    (strcmp(x->method, "GET") != 0 || has_body))
		HTTP_SET(CURLOPT_CUSTOMREQUEST, x->method);

	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		struct curl_slist *list;

		if ((list = curl_slist_append(x->req_headers,
		    req->headers[i])) == NULL)
			fatalx("out of memory");
		x->req_headers = list;
	}
	if (x->req_headers != NULL)
		HTTP_SET(CURLOPT_HTTPHEADER, x->req_headers);

	if (req->aws_sigv4 != NULL) {
		/* Sets CURLOPT_HTTPAUTH to CURLAUTH_AWS_SIGV4 by itself. */
		HTTP_SET(CURLOPT_AWS_SIGV4, req->aws_sigv4);
		HTTP_SET(CURLOPT_USERNAME, req->user != NULL ? req->user : "");
		HTTP_SET(CURLOPT_PASSWORD,
		    req->password != NULL ? req->password : "");
	} else if (req->user != NULL) {
		/* Preemptive, as wazo-auth's POST /token expects. */
		HTTP_SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		HTTP_SET(CURLOPT_USERNAME, req->user);
		HTTP_SET(CURLOPT_PASSWORD,
		    req->password != NULL ? req->password : "");
	}
	if (req->ca_file != NULL)
		HTTP_SET(CURLOPT_CAINFO, req->ca_file);
	if (req->insecure) {
		HTTP_SET(CURLOPT_SSL_VERIFYPEER, 0L);
		HTTP_SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
#undef HTTP_SET

	if (rc != CURLE_OK) {
		log_warnx("http: %s %s: %s", x->method, x->url,
		    curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/* The transfer must be out of the multi handle already (or never in). */
static void
http_xfer_free(struct http_xfer *x)
{
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->req_headers);
	http_headers_clear(x);
	free(x->headers);
	free(x->req_body);
	free(x->body);
	free(x->method);
	free(x->url);
	free(x);
}

static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t len = size * nmemb, cap;

	if (len > HTTP_BODY_MAX - x->body_len) {
		x->abort_reason = "response body over 16 MiB";
		return 0;	/* curl then fails with CURLE_WRITE_ERROR */
	}
	if (x->body_len + len + 1 > x->body_cap) {
		cap = x->body_cap > 0 ? x->body_cap : HTTP_BODY_CHUNK;
		while (cap < x->body_len + len + 1)
			cap *= 2;
		if (cap > HTTP_BODY_MAX + 1)
			cap = HTTP_BODY_MAX + 1;
		x->body = xrealloc(x->body, cap);
		x->body_cap = cap;
	}
	memcpy(x->body + x->body_len, data, len);
	x->body_len += len;
	x->body[x->body_len] = '\0';
	return len;
}

/*
 * curl hands over every header line of every response, one at a time,
 * not NUL-terminated, with its CRLF. A status line starts a new response
 * (after a 100 Continue, say): only the last one's headers are kept.
 */
static size_t
http_header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t len = size * nmemb;
	const char *end = line + len, *colon, *name_end, *value;
	struct http_header *h;

	x->headers_bytes += len;
	if (x->headers_bytes > HTTP_HEADERS_MAX) {
		x->abort_reason = "response headers over 256 KiB";
		return 0;
	}
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		http_headers_clear(x);
		return len;
	}
	while (end > line && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == line)
		return len;	/* the blank line ending a block */

	/* An obsolete folded line continues the previous value. */
	if ((*line == ' ' || *line == '\t') && x->nheaders > 0) {
		char *joined;

		while (*line == ' ' || *line == '\t')
			line++;
		h = &x->headers[x->nheaders - 1];
		xasprintf(&joined, "%s %.*s", h->value, (int)(end - line),
		    line);
		free(h->value);
		h->value = joined;
		return len;
	}

	if ((colon = memchr(line, ':', (size_t)(end - line))) == NULL)
		return len;
	for (name_end = colon; name_end > line &&
	    (name_end[-1] == ' ' || name_end[-1] == '\t'); name_end--)
		;
	if (name_end == line)
		return len;
	for (value = colon + 1; value < end && (*value == ' ' ||
	    *value == '\t'); value++)
		;
	x->headers = xrealloc(x->headers,
	    (x->nheaders + 1) * sizeof(*x->headers));
	h = &x->headers[x->nheaders++];
	h->name = xstrndup(line, (size_t)(name_end - line));
	h->value = xstrndup(value, (size_t)(end - value));
	return len;
}

static void
http_headers_clear(struct http_xfer *x)
{
	size_t i;

	for (i = 0; i < x->nheaders; i++) {
		free(x->headers[i].name);
		free(x->headers[i].value);
	}
	x->nheaders = 0;
}

/*
 * CURLMOPT_SOCKETFUNCTION: keeps one persistent libevent event per
 * socket in step with what curl wants to wait for on it.
 */
static int
http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct http_client *client = arg;
	struct http_sock *sock = sockp;
	short events = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (sock != NULL) {
			curl_multi_assign(client->multi, fd, NULL);
			http_sock_free(client, sock);
		}
		return 0;
	}
	if (sock == NULL) {
		sock = xcalloc(1, sizeof(*sock));
		if ((sock->ev = event_new(client->base, fd, 0,
		    http_sock_ready, client)) == NULL)
			fatalx("http: event_new failed");
		TAILQ_INSERT_TAIL(&client->socks, sock, entry);
		curl_multi_assign(client->multi, fd, sock);
	} else
		event_del(sock->ev);
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	/*
	 * Reassigning is fine even from inside this event's own callback:
	 * libevent has copied what it needs before calling it.
	 */
	event_assign(sock->ev, client->base, fd, events, http_sock_ready,
	    client);
	if (events & (EV_READ | EV_WRITE))
		event_add(sock->ev, NULL);
	return 0;
}

/*
 * CURLMOPT_TIMERFUNCTION: curl must not be re-entered from here, so even
 * "now" (0 ms) goes through the loop as a zero timer.
 */
static int
http_timer_set(CURLM *multi, long timeout_ms, void *arg)
{
	struct http_client *client = arg;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(client->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(client->timer, &tv);
	return 0;
}

/* The client may be gone when http_check_done returns: touch nothing. */
static void
http_sock_ready(evutil_socket_t fd, short events, void *arg)
{
	struct http_client *client = arg;
	int flags = 0, running;

	if (events & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(client->multi, fd, flags, &running);
	http_check_done(client);
}

static void
http_timer_fire(evutil_socket_t fd, short events, void *arg)
{
	struct http_client *client = arg;
	int running;

	curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	http_check_done(client);
}

static void
http_sock_free(struct http_client *client, struct http_sock *sock)
{
	TAILQ_REMOVE(&client->socks, sock, entry);
	event_free(sock->ev);
	free(sock);
}

/* Completes every finished transfer, unless a callback frees the client. */
static void
http_check_done(struct http_client *client)
{
	CURLMsg *msg;
	struct http_xfer *x;
	CURLcode result;
	char *priv;
	int left;

	while ((msg = curl_multi_info_read(client->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		result = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct http_xfer *)(void *)priv;
		/*
		 * Out of the multi handle and the list before the callback:
		 * whatever it does to the client (new requests, cancels,
		 * http_client_free) can no longer reach this transfer.
		 */
		TAILQ_REMOVE(&client->xfers, x, entry);
		client->active--;
		curl_multi_remove_handle(client->multi, x->easy);
		if (http_complete(client, x, result) == -1)
			return;
	}
}

/* Runs the callback and frees x. -1 when the callback freed the client. */
static int
http_complete(struct http_client *client, struct http_xfer *x,
    CURLcode result)
{
	struct http_response *res = &x->res;
	curl_off_t usec = 0;
	long status = 0;
	int freed = 0, *outer;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &usec);
	res->seconds = (double)usec / 1e6;
	if (result == CURLE_OK) {
		res->status = status;
		res->error = NULL;
		res->body = x->body != NULL ? x->body : "";
		res->body_len = x->body_len;
		log_debug("http: %s %s: %ld, %zu bytes in %.3f s", x->method,
		    x->url, status, x->body_len, res->seconds);
	} else {
		/*
		 * A transfer that failed after its status line (timed out
		 * in the body, body too big) is a failure too: status 0,
		 * so nobody keeps half an audio file.
		 */
		res->status = 0;
		if (x->abort_reason != NULL)
			res->error = x->abort_reason;
		else if (x->errbuf[0] != '\0')
			res->error = x->errbuf;
		else
			res->error = curl_easy_strerror(result);
		res->body = "";
		res->body_len = 0;
		log_debug("http: %s %s: %s", x->method, x->url, res->error);
	}

	if (x->cb != NULL) {
		/* Nested, should a callback run the loop itself. */
		outer = client->freed;
		client->freed = &freed;
		x->cb(res, x->arg);
		if (freed) {
			if (outer != NULL)
				*outer = 1;
			http_xfer_free(x);
			return -1;
		}
		client->freed = outer;
	}
	http_xfer_free(x);
	return 0;
}
