/*
 * agi_bench: plays Asterisk for N concurrent FastAGI calls against a
 * running ivrd and measures it. Each call sends the env block Asterisk
 * sends, then answers every command the way Asterisk does, instantly
 * (a prompt "plays" in no time; the scripted digits are pressed during
 * prompts), until ivrd closes the call.
 *
 *   agi_bench -a 127.0.0.1:4573 -f FLOW [-c CONC] [-n CALLS] [-r RATE]
 *             [-d DIGITS] [-p IVRD_PID] [-H HOLD]
 *
 * -c  calls in flight at once (default 50); -n calls in all (10000)
 * -r  calls started per second (0 = as fast as replies allow)
 * -d  digits pressed, one per prompt, in order (default "1")
 * -p  ivrd's pid: its CPU time per call and RSS are read from /proc
 * -H  hold mode: park HOLD calls in their first prompt (never answer the
 *     STREAM FILE), then report ivrd's RSS per held call
 *
 * Latency is per command: from our reply (or the env block) to ivrd's
 * next command line, which is ivrd's whole turn.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

struct call {
	struct bufferevent	*bev;
	double			 last;		/* our last write */
	int			 ndigit;
	int			 held;
	long			 commands;
};

static struct event_base *base;
static struct sockaddr_storage addr;
static int addrlen;
static const char *flow = "demo", *digits = "1";
static long total = 10000, conc = 50, started, finished, failed, held;
static long hold_target;
static double rate;
static pid_t ivrd_pid;
static double *lat;
static size_t nlat, caplat;
static double t_start;
static struct event *rate_ev;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void	start_call(void);

static void
note_latency(double d)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 65536;
		lat = realloc(lat, caplat * sizeof(double));
		if (lat == NULL)
			abort();
	}
	lat[nlat++] = d;
}

static void
end_call(struct call *c, int ok)
{
	bufferevent_free(c->bev);
	free(c);
	finished++;
	if (!ok)
		failed++;
	if (finished == total && hold_target == 0)
		event_base_loopexit(base, NULL);
	else if (rate == 0 && started < total)
		start_call();
}

static void
reply(struct call *c, const char *text)
{
	bufferevent_write(c->bev, text, strlen(text));
	c->last = now();
}

/* Answers one command line as Asterisk would, instantly. */
static void
answer(struct call *c, const char *line)
{
	char buf[64];

	c->commands++;
	if (strncmp(line, "STREAM FILE", 11) == 0 ||
	    strncmp(line, "WAIT FOR DIGIT", 14) == 0 ||
	    strncmp(line, "GET DATA", 8) == 0) {
		if (hold_target > 0 && !c->held) {
			c->held = 1;	/* parked: no reply, ever */
			if (++held == hold_target)
				event_base_loopexit(base, NULL);
			return;
		}
		int d = digits[c->ndigit];

		if (d != '\0') {
			/* GET DATA answers digits; the others an ASCII code. */
			if (line[0] == 'G')
				snprintf(buf, sizeof(buf), "200 result=%c\n", d);
			else if (line[0] == 'W')
				snprintf(buf, sizeof(buf), "200 result=%d\n", d);
			else
				snprintf(buf, sizeof(buf),
				    "200 result=%d endpos=1600\n", d);
			c->ndigit++;
			reply(c, buf);
		} else if (line[0] == 'G')
			reply(c, "200 result= (timeout)\n");
		else if (line[0] == 'W')
			reply(c, "200 result=0\n");
		else
			reply(c, "200 result=0 endpos=8000\n");
	} else if (strncmp(line, "SET VARIABLE", 12) == 0 ||
	    strncmp(line, "HANGUP", 6) == 0)
		reply(c, "200 result=1\n");
	else if (strncmp(line, "GET VARIABLE", 12) == 0)
		reply(c, "200 result=0\n");
	else
		reply(c, "200 result=0\n");	/* ANSWER, EXEC, SET ... */
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct call *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;

	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF)) != NULL) {
		note_latency(now() - c->last);
		answer(c, line);
		free(line);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct call *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		char env[1024];
		int n = snprintf(env, sizeof(env),
		    "agi_network: yes\nagi_network_script: %s\n"
		    "agi_request: agi://127.0.0.1/%s\n"
		    "agi_channel: PJSIP/bench-%08lx\nagi_language: en\n"
		    "agi_type: PJSIP\nagi_uniqueid: 1718035200.%ld\n"
		    "agi_version: 20.9.3\nagi_callerid: 15551234567\n"
		    "agi_calleridname: BENCH\nagi_callingpres: 0\n"
		    "agi_callingani2: 0\nagi_callington: 0\n"
		    "agi_callingtns: 0\nagi_dnid: 18005550100\n"
		    "agi_rdnis: unknown\nagi_context: from-carrier\n"
		    "agi_extension: 18005550100\nagi_priority: 2\n"
		    "agi_enhanced: 0.0\nagi_accountcode: \n"
		    "agi_threadid: 140023313659456\n\n", flow, flow,
		    started, started);

		bufferevent_write(bev, env, (size_t)n);
		c->last = now();
		return;
	}
	/* EOF: ivrd hung up or handed the call back (a normal end). */
	end_call(c, (what & BEV_EVENT_EOF) && c->commands > 0);
}

static void
start_call(void)
{
	struct call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	started++;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&addr,
	    addrlen) == -1) {
		free(c);
		finished++;
		failed++;
	}
}

static void
on_rate(evutil_socket_t fd, short what, void *arg)
{
	long due = (long)((now() - t_start) * rate);

	while (started < total && started < due)
		start_call();
	if (started >= total)
		event_del(rate_ev);
}

/* ivrd's user+system CPU seconds and RSS in KiB, from /proc. */
static void
proc_usage(double *cpu, long *rss_kib)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *fp;

	*cpu = 0;
	*rss_kib = 0;
	if (ivrd_pid == 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)ivrd_pid);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')')))
			sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
			    "%*u %*u %lu %lu", &ut, &st);
		fclose(fp);
	}
	*cpu = (double)(ut + st) / sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)ivrd_pid);
	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), fp))
			if (strncmp(buf, "VmRSS:", 6) == 0)
				*rss_kib = strtol(buf + 6, NULL, 10);
		fclose(fp);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *target = "127.0.0.1:4573";
	struct rlimit rl;
	double cpu0, cpu1, t_end;
	long rss0, rss1;
	int ch;

	while ((ch = getopt(argc, argv, "a:f:c:n:r:d:p:H:")) != -1) {
		switch (ch) {
		case 'a': target = optarg; break;
		case 'f': flow = optarg; break;
		case 'c': conc = atol(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'd': digits = optarg; break;
		case 'p': ivrd_pid = atoi(optarg); break;
		case 'H': hold_target = atol(optarg); break;
		default:
			fprintf(stderr, "usage: agi_bench -a HOST:PORT -f FLOW "
			    "[-c CONC] [-n CALLS] [-r RATE] [-d DIGITS] "
			    "[-p PID] [-H HOLD]\n");
			return 2;
		}
	}
	addrlen = sizeof(addr);
	if (evutil_parse_sockaddr_port(target, (struct sockaddr *)&addr,
	    &addrlen) == -1) {
		fprintf(stderr, "agi_bench: bad address %s\n", target);
		return 2;
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	base = event_base_new();
	if (hold_target > 0)
		total = conc = hold_target;

	proc_usage(&cpu0, &rss0);
	t_start = now();
	if (rate > 0) {
		struct timeval tv = { 0, 1000 };

		rate_ev = event_new(base, -1, EV_PERSIST, on_rate, NULL);
		event_add(rate_ev, &tv);
	} else
		while (started < conc && started < total)
			start_call();
	event_base_dispatch(base);
	t_end = now();
	proc_usage(&cpu1, &rss1);

	if (hold_target > 0) {
		printf("held %ld calls in a prompt; ivrd RSS %ld KiB before, "
		    "%ld KiB holding them: %.2f KiB per held call\n", held,
		    rss0, rss1, (double)(rss1 - rss0) / (held ? held : 1));
		return 0;
	}
	qsort(lat, nlat, sizeof(double), cmp_double);
	printf("%ld calls (%ld failed) in %.2f s: %.0f calls/s; %zu commands, "
	    "%.1f per call\n", finished, failed, t_end - t_start,
	    finished / (t_end - t_start), nlat, (double)nlat /
	    (finished ? finished : 1));
	if (nlat > 0)
		printf("per command: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
		    lat[nlat / 2] * 1e3, lat[(size_t)(nlat * 0.99)] * 1e3,
		    lat[nlat - 1] * 1e3);
	if (ivrd_pid)
		printf("ivrd: %.1f us CPU per call, RSS %ld KiB at the end\n",
		    (cpu1 - cpu0) / (finished ? finished : 1) * 1e6, rss1);
	return failed ? 1 : 0;
}
