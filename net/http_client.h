/*
 * Outbound HTTP on the event loop: libcurl's multi interface driven by
 * libevent (CURLMOPT_SOCKETFUNCTION + CURLMOPT_TIMERFUNCTION), shared by
 * tts/ (Polly) and wazo/. Nothing here ever blocks the loop: no
 * curl_easy_perform, no blocking DNS (numeric hosts or curl's threaded
 * resolver).
 */
#ifndef IVRD_HTTP_CLIENT_H
#define IVRD_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_client;

struct http_request {
	const char		*method;	/* NULL = "GET"; "POST", "PUT", "DELETE", "HEAD" */
	const char		*url;
	const char *const	*headers;	/* "Name: value", NULL-terminated; may be NULL */
	/*
	 * Sent with CURLOPT_POSTFIELDS (POST sends an empty one when NULL).
	 * curl adds "Content-Type: application/x-www-form-urlencoded"
	 * unless headers name one.
	 */
	const void		*body;
	size_t			 body_len;
	long			 timeout_ms;	/* whole request; 0 = 30000 */
	/*
	 * AWS SigV4 through libcurl: "aws:amz:REGION:SERVICE", with the key
	 * id and secret as user and password. NULL for none: then a
	 * non-NULL user (and password) goes as HTTP Basic.
	 */
	const char		*aws_sigv4;
	const char		*user;
	const char		*password;
	const char		*ca_file;	/* NULL: the system's CAs */
	int			 insecure;	/* 1: no TLS verification */
};

struct http_response {
	/*
	 * HTTP status; 0 when the transfer failed, even after a status line
	 * (timed out in the body, body over 16 MiB): then body is "".
	 * Redirects are never followed: a 3xx comes back as is.
	 */
	long		 status;
	const char	*error;		/* why, when status is 0 (curl's words) */
	const char	*body;		/* NUL-terminated for convenience; never NULL */
	size_t		 body_len;
	double		 seconds;	/* total time */
};

/*
 * Called once per request, on the loop, unless the request was
 * cancelled; never from inside http_request. res and everything it
 * points to is borrowed for the call. The request is already out of the
 * client (not counted by http_client_active), so the callback may start
 * requests, cancel others, or even http_client_free the client (the
 * callbacks of requests still in flight then never run). cb may be NULL.
 */
typedef void (*http_done_cb)(const struct http_response *res,
    void *arg);

struct http_client	*http_client_new(struct event_base *base);
/* Cancels everything in flight (no callbacks run). NULL is a no-op. */
void			 http_client_free(struct http_client *client);

/*
 * Starts req (copied: the caller may free it at once). Returns a
 * non-zero id for http_cancel, or 0 if curl refused the request (cb is
 * then never called).
 */
uint64_t	 http_request(struct http_client *client,
		    const struct http_request *req, http_done_cb cb, void *arg);
/* Cancels request id if still in flight; its callback will not run. */
void		 http_cancel(struct http_client *client, uint64_t id);
/* How many requests are in flight. */
size_t		 http_client_active(const struct http_client *client);

/*
 * A response header's value (case-insensitive name; the first of
 * repeated ones), borrowed, or NULL. Only valid inside the callback, on
 * the res it was given.
 */
const char	*http_response_header(const struct http_response *res,
		    const char *name);

#endif
