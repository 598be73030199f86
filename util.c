#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		fatalx("out of memory (%zu bytes)", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory (%zu x %zu bytes)", nmemb, size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory (%zu bytes)", size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatalx("out of memory");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatalx("out of memory");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("out of memory");
	return n;
}

void
iso8601_utc(time_t t, char buf[ISO8601_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, ISO8601_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
iso8601_utc_ms(const struct timespec *ts, char buf[ISO8601_MS_LEN])
{
	struct tm tm;
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(buf, ISO8601_MS_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, ISO8601_MS_LEN - n, ".%03uZ",
	    (unsigned)(ts->tv_nsec / 1000000) % 1000);
}

void
uuid_v4(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		fatalx("no random bytes for a uuid");
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

int
write_file_atomic(const char *path, const char *data, size_t len)
{
	char *tmp;
	int fd, saved;
	size_t off = 0;

	xasprintf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail_close;
		off += (size_t)n;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto fail_unlink;
	}
	if (rename(tmp, path) == -1)
		goto fail_unlink;
	free(tmp);
	return 0;

fail_close:
	saved = errno;
	close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
	free(tmp);
	return -1;
}

int
safe_id(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= max)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

int
parse_hostport(const char *hostport, struct sockaddr_storage *ss,
    unsigned int *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(hostport, ':'), *p;
	size_t hlen;
	long port = 0;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5)
		return -1;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (*p - '0');
	}
	if (port > 65535)
		return -1;
	hlen = (size_t)(colon - hostport);
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, hostport, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
	}
	return 0;
}

int
listen_socket(const char *hostport, char *bound, size_t boundlen, char **err)
{
	struct sockaddr_storage ss;
	socklen_t sslen, len;
	int fd, one = 1;
	char host[INET6_ADDRSTRLEN];
	uint16_t port;

	if (parse_hostport(hostport, &ss, &len) == -1) {
		xasprintf(err, "'%s' is not HOST:PORT", hostport);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		xasprintf(err, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		xasprintf(err, "cannot listen on %s: %s", hostport,
		    strerror(errno));
		close(fd);
		return -1;
	}
	sslen = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
		snprintf(bound, boundlen, "[%s]:%u", host, port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(bound, boundlen, "%s:%u", host, port);
	}
	return fd;
}
