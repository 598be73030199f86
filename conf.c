#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "conf.h"
#include "log.h"
#include "util.h"

enum conf_type { CONF_STRING, CONF_LONG, CONF_BOOL };

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;
	const char	*def;
	long		 min, max;	/* for CONF_LONG */
};

#define STR(f)	CONF_STRING, offsetof(struct conf, f)
#define LNG(f)	CONF_LONG, offsetof(struct conf, f)
#define BOOL(f)	CONF_BOOL, offsetof(struct conf, f)

static const struct conf_key conf_keys[] = {
	{ "api_listen",		STR(api_listen),	"127.0.0.1:5000", 0, 0 },
	{ "agi_listen",		STR(agi_listen),	"127.0.0.1:4573", 0, 0 },
	{ "data_dir",		STR(data_dir),		LOCALSTATEDIR "/lib/ivrd", 0, 0 },
	{ "cache_dir",		STR(cache_dir),		LOCALSTATEDIR "/cache/ivrd/tts", 0, 0 },
	{ "log_level",		STR(log_level),		"info", 0, 0 },
	{ "log_target",		STR(log_target),	"syslog", 0, 0 },
	{ "max_body_bytes",	LNG(max_body_bytes),	"1048576", 1024, 64L << 20 },
	{ "api_loopback_without_token", BOOL(api_loopback_no_token), "no", 0, 0 },
	{ "agi_max_calls",	LNG(agi_max_calls),	"10000", 1, 1000000 },
	{ "agi_env_timeout_ms",	LNG(agi_env_timeout_ms), "5000", 100, 600000 },
	{ "agi_command_timeout_sec", LNG(agi_command_timeout_sec), "600", 1,
	    86400 },
	{ "routing_style",	STR(routing_style),	"exec", 0, 0 },
	{ "dial_template",	STR(dial_template),	"", 0, 0 },
	{ "recordings_dir",	STR(recordings_dir),	"/var/spool/asterisk/monitor",
	    0, 0 },
	{ "ai_agent_address",	STR(ai_agent_address),	"", 0, 0 },
	{ "wazo_url",		STR(wazo_url),		"", 0, 0 },
	{ "wazo_auth_url",	STR(wazo_auth_url),	"", 0, 0 },
	{ "wazo_confd_url",	STR(wazo_confd_url),	"", 0, 0 },
	{ "wazo_amid_url",	STR(wazo_amid_url),	"", 0, 0 },
	{ "wazo_username",	STR(wazo_username),	"", 0, 0 },
	{ "wazo_password",	STR(wazo_password),	"", 0, 0 },
	{ "wazo_tenant",	STR(wazo_tenant),	"", 0, 0 },
	{ "wazo_ca_file",	STR(wazo_ca_file),	"", 0, 0 },
	{ "wazo_insecure",	BOOL(wazo_insecure),	"no", 0, 0 },
	{ "wazo_timeout_ms",	LNG(wazo_timeout_ms),	"5000", 100, 120000 },
	{ "wazo_agi_address",	STR(wazo_agi_address),	"", 0, 0 },
	{ "wazo_on_host",	BOOL(wazo_on_host),	"no", 0, 0 },
	{ "wazo_dialplan_dir",	STR(wazo_dialplan_dir),
	    "/etc/asterisk/extensions_extra.d", 0, 0 },
	{ "wazo_transfer_context", STR(wazo_transfer_context), "", 0, 0 },
	{ "polly_region",	STR(polly_region),	"", 0, 0 },
	{ "polly_endpoint",	STR(polly_endpoint),	"", 0, 0 },
	{ "polly_engine",	STR(polly_engine),	"standard", 0, 0 },
	{ "polly_timeout_ms",	LNG(polly_timeout_ms),	"5000", 100, 60000 },
	{ "polly_ca_file",	STR(polly_ca_file),	"", 0, 0 },
	{ "aws_access_key_id",	STR(aws_access_key_id),	"", 0, 0 },
	{ "aws_secret_access_key", STR(aws_secret_access_key), "", 0, 0 },
	{ "aws_session_token",	STR(aws_session_token),	"", 0, 0 },
};
#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

const char *
conf_default_path(void)
{
	return SYSCONFDIR "/ivrd/ivrd.conf";
}

void
conf_defaults(struct conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_set(conf, conf_keys[i].name, conf_keys[i].def,
		    NULL) == -1)
			fatalx("bad built-in default for %s", conf_keys[i].name);
}

void
conf_clear(struct conf *conf)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (conf_keys[i].type == CONF_STRING) {
			char **p = (char **)((char *)conf + conf_keys[i].offset);

			free(*p);
			*p = NULL;
		}
}

int
conf_set(struct conf *conf, const char *key, const char *value, char **err)
{
	const struct conf_key *k = NULL;
	void *field;

	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, key) == 0)
			k = &conf_keys[i];
	if (k == NULL) {
		if (err)
			xasprintf(err, "unknown key '%s'", key);
		return -1;
	}
	field = (char *)conf + k->offset;
	switch (k->type) {
	case CONF_STRING:
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case CONF_LONG: {
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end != '\0' || v < k->min ||
		    v > k->max) {
			if (err)
				xasprintf(err, "%s must be an integer from %ld "
				    "to %ld, not '%s'", key, k->min, k->max,
				    value);
			return -1;
		}
		*(long *)field = v;
		return 0;
	}
	case CONF_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "1") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
			*(int *)field = 0;
		else {
			if (err)
				xasprintf(err, "%s must be yes or no, not '%s'",
				    key, value);
			return -1;
		}
		return 0;
	}
	return -1;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int
conf_load(struct conf *conf, const char *path, char **err)
{
	FILE *fp;
	char line[4096];
	int lineno = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		xasprintf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p, *eq, *key, *value, *why = NULL;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			xasprintf(err, "%s:%d: line too long", path, lineno);
			goto fail;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		p = trim(line);
		if (*p == '\0')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			xasprintf(err, "%s:%d: expected 'key = value'", path,
			    lineno);
			goto fail;
		}
		*eq = '\0';
		key = trim(p);
		value = trim(eq + 1);
		if (conf_set(conf, key, value, &why) == -1) {
			xasprintf(err, "%s:%d: %s", path, lineno, why);
			free(why);
			goto fail;
		}
	}
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	return -1;
}

static int
check_listen(const char *key, const char *value, char **err)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (parse_hostport(value, &ss, &len) == -1) {
		xasprintf(err, "%s: '%s' is not HOST:PORT (an IP address, "
		    "[::1]:PORT for IPv6; port 0 picks a free port)", key,
		    value);
		return -1;
	}
	return 0;
}

int
conf_check(const struct conf *conf, char **err)
{
	if (check_listen("api_listen", conf->api_listen, err) == -1 ||
	    check_listen("agi_listen", conf->agi_listen, err) == -1)
		return -1;
	if (log_level_parse(conf->log_level) == -1) {
		xasprintf(err, "log_level: '%s' is not one of error, warn, "
		    "info, debug", conf->log_level);
		return -1;
	}
	if (strcmp(conf->log_target, "stderr") != 0 &&
	    strcmp(conf->log_target, "syslog") != 0) {
		xasprintf(err, "log_target: '%s' is not stderr or syslog",
		    conf->log_target);
		return -1;
	}
	if (strcmp(conf->routing_style, "exec") != 0 &&
	    strcmp(conf->routing_style, "wazo") != 0) {
		xasprintf(err, "routing_style: '%s' is not exec or wazo",
		    conf->routing_style);
		return -1;
	}
	if (conf->dial_template[0] != '\0' &&
	    strstr(conf->dial_template, "%s") == NULL) {
		xasprintf(err, "dial_template: '%s' has no %%s for the "
		    "destination", conf->dial_template);
		return -1;
	}
	if (conf->ai_agent_address[0] != '\0') {
		struct sockaddr_storage ss;
		socklen_t len;

		if (parse_hostport(conf->ai_agent_address, &ss, &len) == -1) {
			xasprintf(err, "ai_agent_address: '%s' is not HOST:PORT",
			    conf->ai_agent_address);
			return -1;
		}
	}
	if (strcmp(conf->polly_engine, "standard") != 0 &&
	    strcmp(conf->polly_engine, "neural") != 0) {
		xasprintf(err, "polly_engine: '%s' is not standard or neural",
		    conf->polly_engine);
		return -1;
	}
	if (conf->data_dir[0] == '\0' || conf->cache_dir[0] == '\0') {
		xasprintf(err, "data_dir and cache_dir must not be empty");
		return -1;
	}
	return 0;
}
