/*
 * Small helpers every module uses: allocation that never returns NULL
 * (out of memory is fatal, as in tmux), time stamps, atomic file writes.
 */
#ifndef IVRD_UTIL_H
#define IVRD_UTIL_H

#include <stddef.h>
#include <time.h>

void	*xmalloc(size_t size);
void	*xcalloc(size_t nmemb, size_t size);
void	*xrealloc(void *ptr, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
int	 xasprintf(char **ret, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ISO 8601 UTC with seconds, "2026-11-21T17:32:05Z"; buf >= 21 bytes. */
#define ISO8601_LEN 21
void	 iso8601_utc(time_t t, char buf[ISO8601_LEN]);

/*
 * Writes data to path through a temp file in the same folder and rename(2),
 * so a reader never sees half a file. 0 on success, -1 with errno set.
 */
int	 write_file_atomic(const char *path, const char *data, size_t len);

/* ISO 8601 UTC with milliseconds, "2026-11-21T17:32:05.120Z". */
#define ISO8601_MS_LEN 25
void	 iso8601_utc_ms(const struct timespec *ts, char buf[ISO8601_MS_LEN]);

/* A random (version 4) UUID, "3f1c2a4e-...", from OpenSSL's RNG. */
void	 uuid_v4(char out[37]);

/* 1 when s is 1..max characters of [A-Za-z0-9_-]. */
int	 safe_id(const char *s, size_t max);

/*
 * Parses "A.B.C.D:PORT" or "[IPv6]:PORT" (port 0 allowed) into ss.
 * 0, or -1 when it is not such an address.
 */
struct sockaddr_storage;
int	 parse_hostport(const char *hostport, struct sockaddr_storage *ss,
	    unsigned int *len);

/*
 * Opens a non-blocking listening TCP socket on "HOST:PORT" (IPv6 as
 * "[::1]:PORT"; port 0 picks a free one) and writes the address it got
 * to bound ("127.0.0.1:40123"). The fd, or -1 with *err owned by caller.
 */
int	 listen_socket(const char *hostport, char *bound, size_t boundlen,
	    char **err);

#endif

