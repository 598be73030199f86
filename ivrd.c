/*
 * ivrd: the IVR engine for Wazo / Asterisk. A FastAGI server and a REST
 * API on one libevent loop over one SQLite store.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "agi/agi.h"
#include "api/api.h"
#include "conf.h"
#include "log.h"
#include "net/http_client.h"
#include "store/store.h"
#include "tts/tts.h"
#include "util.h"
#include "wazo/wazo.h"

#define MAX_OVERRIDES 16

/* What the command line says; overrides are re-applied on SIGHUP. */
struct options {
	const char	*conf_file;	/* NULL: the default, if it exists */
	int		 conf_file_given;
	int		 foreground;
	int		 verbose;
	int		 check_only;
	const char	*port_file;
	const char	*override_key[MAX_OVERRIDES];
	const char	*override_value[MAX_OVERRIDES];
	int		 noverrides;
};

struct daemon_ctx {
	struct options		*opts;
	struct conf		 conf;
	struct event_base	*base;
	struct api		*api;
	struct agi		*agi;
	struct store		*store;
	struct http_client	*http;
	struct tts		*tts;
	struct wazo		*wazo;
};

static void
usage(void)
{
	fprintf(stderr,
"usage: ivrd [-dnv] [-f file] [--api-listen HOST:PORT] [--agi-listen HOST:PORT]\n"
"            [--data-dir DIR] [--cache-dir DIR] [--port-file FILE]\n"
"       ivrd [options] token create --tenant TENANT --name NAME [--admin]\n"
"       ivrd [options] token list\n"
"       ivrd [options] token revoke ID|NAME\n"
"       ivrd [options] flow import FILE [--tenant TENANT]\n");
	exit(2);
}

/* Defaults, then the config file, then the command-line overrides. */
static int
load_conf(const struct options *o, struct conf *conf, char **err)
{
	conf_defaults(conf);
	if (o->conf_file_given || access(o->conf_file, F_OK) == 0)
		if (conf_load(conf, o->conf_file, err) == -1)
			return -1;
	for (int i = 0; i < o->noverrides; i++)
		if (conf_set(conf, o->override_key[i], o->override_value[i],
		    err) == -1)
			return -1;
	return conf_check(conf, err);
}

static int
mkdir_p(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			goto fail;
		*s = '/';
	}
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		goto fail;
	free(p);
	return 0;
fail:
	free(p);
	return -1;
}

static struct store *
open_store(const struct conf *conf)
{
	struct store *store;
	char *path, *err = NULL;

	if (mkdir_p(conf->data_dir) == -1)
		fatal("cannot create data_dir %s", conf->data_dir);
	xasprintf(&path, "%s/ivrd.sqlite", conf->data_dir);
	if ((store = store_open(path, &err)) == NULL)
		fatalx("cannot open the store: %s", err);
	free(path);
	return store;
}

/* --- subcommands ---------------------------------------------------- */

static int
cmd_token(struct store *store, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'N' },
		{ "admin", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	const char *tenant = NULL, *name = NULL;
	int admin = 0, ch;
	char *token = NULL;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "list") == 0) {
		json_t *list = store_token_list(store);

		json_dumpf(list, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(list);
		return 0;
	}
	if (strcmp(argv[1], "revoke") == 0) {
		if (argc != 3)
			usage();
		switch (store_token_revoke(store, argv[2])) {
		case STORE_OK:
			printf("revoked %s\n", argv[2]);
			return 0;
		case STORE_NOTFOUND:
			fprintf(stderr, "ivrd: no live token with id or name "
			    "'%s'\n", argv[2]);
			return 1;
		case STORE_AMBIGUOUS:
			fprintf(stderr, "ivrd: several live tokens are named "
			    "'%s'; revoke by id ('ivrd token list' shows "
			    "them)\n", argv[2]);
			return 1;
		default:
			return 1;
		}
	}
	if (strcmp(argv[1], "create") != 0)
		usage();
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 't': tenant = optarg; break;
		case 'N': name = optarg; break;
		case 'a': admin = 1; break;
		default: usage();
		}
	}
	if (name == NULL || (tenant == NULL && !admin))
		usage();
	if (tenant == NULL)
		tenant = "default";
	if (!safe_id(tenant, 64) || !safe_id(name, 64)) {
		fprintf(stderr, "ivrd: tenant and name must be 1-64 characters "
		    "of A-Z a-z 0-9 _ -\n");
		return 1;
	}
	switch (store_token_create(store, tenant, name, admin, &token)) {
	case STORE_OK:
		printf("%s\n", token);
		free(token);
		return 0;
	case STORE_CONFLICT:
		fprintf(stderr, "ivrd: tenant '%s' already has a token named "
		    "'%s'\n", tenant, name);
		return 1;
	default:
		return 1;
	}
}

static int
cmd_flow(struct store *store, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *tenant = "default", *file;
	json_error_t jerr;
	json_t *doc;
	char *err = NULL;
	int ch, rc;

	if (argc < 3 || strcmp(argv[1], "import") != 0)
		usage();
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "", longopts,
	    NULL)) != -1) {
		if (ch != 't')
			usage();
		tenant = optarg;
	}
	/* getopt moved the file name after the options it parsed. */
	if (argc - 1 - optind != 1)
		usage();
	file = argv[1 + optind];
	if ((doc = json_load_file(file, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		fprintf(stderr, "ivrd: %s:%d:%d: %s\n", file, jerr.line,
		    jerr.column, jerr.text);
		return 1;
	}
	rc = api_flow_import(store, doc, tenant, &err);
	if (rc == -1)
		fprintf(stderr, "ivrd: %s: %s\n", file, err);
	else
		printf("imported %s into tenant %s\n", file, tenant);
	free(err);
	json_decref(doc);
	return rc == -1 ? 1 : 0;
}

/* --- the daemon ------------------------------------------------------ */

static void
write_port_file(struct daemon_ctx *d)
{
	char *text;

	if (d->opts->port_file == NULL)
		return;
	xasprintf(&text, "api %s\nagi %s\n", api_address(d->api),
	    agi_address(d->agi));
	if (write_file_atomic(d->opts->port_file, text, strlen(text)) == -1)
		fatal("cannot write %s", d->opts->port_file);
	free(text);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_ctx *d = arg;

	log_info("received %s, stopping", sig == SIGTERM ? "SIGTERM" :
	    "SIGINT");
	event_base_loopexit(d->base, NULL);
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_ctx *d = arg;
	struct conf fresh;
	char *err = NULL;

	if (load_conf(d->opts, &fresh, &err) == -1) {
		log_warnx("SIGHUP: configuration not reloaded: %s", err);
		free(err);
		conf_clear(&fresh);
		return;
	}
	if (strcmp(fresh.api_listen, d->conf.api_listen) ||
	    strcmp(fresh.agi_listen, d->conf.agi_listen) ||
	    strcmp(fresh.data_dir, d->conf.data_dir) ||
	    strcmp(fresh.cache_dir, d->conf.cache_dir))
		log_warnx("SIGHUP: listen addresses and folders change only "
		    "at restart");
	/* Keep the parts that need a restart; take the rest. */
	free(fresh.api_listen); fresh.api_listen = xstrdup(d->conf.api_listen);
	free(fresh.agi_listen); fresh.agi_listen = xstrdup(d->conf.agi_listen);
	free(fresh.data_dir); fresh.data_dir = xstrdup(d->conf.data_dir);
	free(fresh.cache_dir); fresh.cache_dir = xstrdup(d->conf.cache_dir);
	conf_clear(&d->conf);
	d->conf = fresh;
	if (!d->opts->verbose)
		log_set_level(log_level_parse(d->conf.log_level));
	api_reconfigure(d->api, &d->conf);
	log_info("SIGHUP: configuration reloaded (log_level %s, "
	    "max_body_bytes %ld)", log_level_name(log_get_level()),
	    d->conf.max_body_bytes);
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	/* stderr and syslog need no reopening; kept for logrotate hooks. */
	log_info("SIGUSR1: logs reopened");
}

/* Each call is a socket: allow as many as the system lets us. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("cannot raise the open-files limit");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("open-files limit: %llu",
		    (unsigned long long)rl.rlim_cur);
}

static int
run_daemon(struct daemon_ctx *d)
{
	struct event *sigs[4];
	char *err = NULL;
	int n = 0;

	if (!d->opts->foreground && daemon(0, 0) == -1)
		fatal("daemon");
	raise_fd_limit();
	/* The TTS worker thread wakes the loop with event_active(). */
	if (evthread_use_pthreads() == -1)
		fatalx("libevent has no pthreads support");
	if ((d->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if ((d->http = http_client_new(d->base)) == NULL)
		fatalx("cannot set up libcurl");
	if ((d->tts = tts_new(d->base, d->http, &d->conf, &err)) == NULL ||
	    (d->api = api_new(d->base, d->store, d->tts, &d->conf,
	    &err)) == NULL ||
	    (d->agi = agi_new(d->base, d->store, d->tts, &d->conf,
	    &err)) == NULL)
		fatalx("%s", err);
	api_set_agi(d->api, d->agi);
	d->wazo = wazo_new(d->http, &d->conf);
	wazo_set_event_base(d->wazo, d->base);
	api_set_wazo(d->api, d->wazo);
	wazo_probe(d->wazo);
	write_port_file(d);

	signal(SIGPIPE, SIG_IGN);
	sigs[n++] = evsignal_new(d->base, SIGTERM, on_stop, d);
	sigs[n++] = evsignal_new(d->base, SIGINT, on_stop, d);
	sigs[n++] = evsignal_new(d->base, SIGHUP, on_reload, d);
	sigs[n++] = evsignal_new(d->base, SIGUSR1, on_usr1, d);
	for (int i = 0; i < n; i++)
		evsignal_add(sigs[i], NULL);

	log_info("ivrd " PACKAGE_VERSION " ready: api http://%s/api/ivr, "
	    "agi agi://%s, store %s/ivrd.sqlite", api_address(d->api),
	    agi_address(d->agi), d->conf.data_dir);
	event_base_dispatch(d->base);

	for (int i = 0; i < n; i++)
		event_free(sigs[i]);
	agi_free(d->agi);
	api_free(d->api);
	wazo_free(d->wazo);
	tts_free(d->tts);
	http_client_free(d->http);
	event_base_free(d->base);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	enum { OPT_API = 256, OPT_AGI, OPT_DATA, OPT_CACHE, OPT_PORTFILE };
	static const struct option longopts[] = {
		{ "api-listen", required_argument, NULL, OPT_API },
		{ "agi-listen", required_argument, NULL, OPT_AGI },
		{ "data-dir", required_argument, NULL, OPT_DATA },
		{ "cache-dir", required_argument, NULL, OPT_CACHE },
		{ "port-file", required_argument, NULL, OPT_PORTFILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct options o = { .conf_file = conf_default_path() };
	struct daemon_ctx d = { .opts = &o };
	char *err = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+df:hnv", longopts, NULL)) != -1) {
		const char *key = NULL;

		switch (ch) {
		case 'd': o.foreground = 1; break;
		case 'f': o.conf_file = optarg; o.conf_file_given = 1; break;
		case 'n': o.check_only = 1; break;
		case 'v': o.verbose = 1; break;
		case OPT_API: key = "api_listen"; break;
		case OPT_AGI: key = "agi_listen"; break;
		case OPT_DATA: key = "data_dir"; break;
		case OPT_CACHE: key = "cache_dir"; break;
		case OPT_PORTFILE: o.port_file = optarg; break;
		default: usage();
		}
		if (key != NULL) {
			if (o.noverrides == MAX_OVERRIDES)
				usage();
			o.override_key[o.noverrides] = key;
			o.override_value[o.noverrides++] = optarg;
		}
	}
	argc -= optind;
	argv += optind;

	if (load_conf(&o, &d.conf, &err) == -1) {
		fprintf(stderr, "ivrd: %s\n", err);
		return 1;
	}
	if (o.check_only) {
		printf("configuration OK\n");
		conf_clear(&d.conf);
		return 0;
	}
	/* Subcommands print their result; their logs are warnings only. */
	log_init(o.foreground || argc > 0 ||
	    strcmp(d.conf.log_target, "stderr") == 0,
	    o.verbose ? LOG_LEVEL_DEBUG : argc > 0 ? LOG_LEVEL_WARN :
	    log_level_parse(d.conf.log_level));
	d.store = open_store(&d.conf);

	if (argc > 0 && strcmp(argv[0], "token") == 0)
		rc = cmd_token(d.store, argc, argv);
	else if (argc > 0 && strcmp(argv[0], "flow") == 0)
		rc = cmd_flow(d.store, argc, argv);
	else if (argc > 0)
		usage();
	else {
		if (mkdir_p(d.conf.cache_dir) == -1)
			fatal("cannot create cache_dir %s", d.conf.cache_dir);
		rc = run_daemon(&d);
	}
	store_close(d.store);
	conf_clear(&d.conf);
	libevent_global_shutdown();
	return rc;
}
