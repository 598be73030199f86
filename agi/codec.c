/*
 * The FastAGI line codec; agi/codec.h says what each part accepts and
 * shared/agi-protocol.md why.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agi/codec.h"
#include "util.h"

/*
 * The environment block
 */

enum env_state {
	ENV_READING,
	ENV_DONE,
	ENV_FAILED
};

struct agi_env {
	/*
	 * "key\0value\0" pairs in arrival order: one allocation for the
	 * whole block, and a lookup is a scan of under AGI_ENV_MAX bytes.
	 */
	char		*pairs;
	size_t		 pairs_len;
	size_t		 pairs_size;
	size_t		 received;	/* bytes so far, LFs counted */
	int		 lines;
	int		 keys;
	enum env_state	 state;
	char		*flow_id;
	char		*lang;
	char		*tenant;
	char		 error[96];
};

static enum agi_env_res	 env_fail(struct agi_env *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
static void		 env_append(struct agi_env *, const char *, size_t);
static void		 env_split_script(struct agi_env *);
static char		*query_param(const char *, const char *);
static char		*percent_decode(const char *, size_t);
static int		 hexval(int);
static int		 env_usable(const char *);

struct agi_env *
agi_env_new(void)
{
	struct agi_env *env = xcalloc(1, sizeof(*env));

	env->pairs_size = 512;
	env->pairs = xmalloc(env->pairs_size);
	return env;
}

void
agi_env_free(struct agi_env *env)
{
	if (env == NULL)
		return;
	free(env->pairs);
	free(env->flow_id);
	free(env->lang);
	free(env->tenant);
	free(env);
}

enum agi_env_res
agi_env_feed(struct agi_env *env, const char *line, size_t len)
{
	const char *value;
	size_t keylen, valuelen;

	if (env->state == ENV_FAILED)
		return AGI_ENV_ERR;
	if (env->state == ENV_DONE)
		return env_fail(env, "line after the end of the environment"
		    " block");
	env->lines++;
	/* Counted before the CR is dropped: the bound is on what was sent. */
	if (len >= AGI_ENV_MAX || env->received + len + 1 > AGI_ENV_MAX)
		return env_fail(env, "environment block over %d bytes",
		    AGI_ENV_MAX);
	env->received += len + 1;
	/* Asterisk sends LF only; a CR can only come from a relay. */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL || memchr(line, '\n', len) != NULL)
		return env_fail(env, "line %d: NUL or LF inside the line",
		    env->lines);
	if (len == 0) {
		if (env->keys == 0)
			return env_fail(env, "empty environment block");
		env->state = ENV_DONE;
		env->pairs = xrealloc(env->pairs, env->pairs_len);
		env->pairs_size = env->pairs_len;
		env_split_script(env);
		return AGI_ENV_DONE;
	}

	/*
	 * Keys are [A-Za-z0-9_]+, so the first ':' ends the key, and that is
	 * the first ": " of the line: a value may hold ": " itself.
	 */
	for (keylen = 0; keylen < len; keylen++) {
		char c = line[keylen];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			break;
	}
	if (keylen == 0 || keylen == len || line[keylen] != ':')
		return env_fail(env, "line %d: not \"agi_<key>: <value>\"",
		    env->lines);
	if (keylen + 1 == len) {
		/* "key:" with the space trimmed away: an empty value. */
		value = line + len;
		valuelen = 0;
	} else if (line[keylen + 1] != ' ') {
		return env_fail(env, "line %d: no \": \" after the key",
		    env->lines);
	} else {
		value = line + keylen + 2;
		valuelen = len - keylen - 2;
	}
	if (env->keys == AGI_ENV_KEYS)
		return env_fail(env, "more than %d keys in the environment"
		    " block", AGI_ENV_KEYS);
	env_append(env, line, keylen);
	env_append(env, value, valuelen);
	env->keys++;
	return AGI_ENV_MORE;
}

const char *
agi_env_error(const struct agi_env *env)
{
	return env->error;
}

const char *
agi_env_get(const struct agi_env *env, const char *key)
{
	const char *p = env->pairs, *end = env->pairs + env->pairs_len;
	const char *found = NULL, *value;

	/* The last one wins, so keep scanning past a match. */
	while (p < end) {
		value = p + strlen(p) + 1;
		if (strcmp(p, key) == 0)
			found = value;
		p = value + strlen(value) + 1;
	}
	return found;
}

const char *
agi_env_arg(const struct agi_env *env, int n)
{
	char key[32];

	if (n < 1)
		return NULL;
	snprintf(key, sizeof(key), "agi_arg_%d", n);
	return agi_env_get(env, key);
}

const char *
agi_env_network_script(const struct agi_env *env)
{
	return agi_env_get(env, "agi_network_script");
}

const char *
agi_env_request(const struct agi_env *env)
{
	return agi_env_get(env, "agi_request");
}

const char *
agi_env_channel(const struct agi_env *env)
{
	return agi_env_get(env, "agi_channel");
}

const char *
agi_env_language(const struct agi_env *env)
{
	return agi_env_get(env, "agi_language");
}

const char *
agi_env_uniqueid(const struct agi_env *env)
{
	return agi_env_get(env, "agi_uniqueid");
}

const char *
agi_env_callerid(const struct agi_env *env)
{
	return agi_env_get(env, "agi_callerid");
}

const char *
agi_env_calleridname(const struct agi_env *env)
{
	return agi_env_get(env, "agi_calleridname");
}

const char *
agi_env_dnid(const struct agi_env *env)
{
	return agi_env_get(env, "agi_dnid");
}

const char *
agi_env_rdnis(const struct agi_env *env)
{
	return agi_env_get(env, "agi_rdnis");
}

const char *
agi_env_context(const struct agi_env *env)
{
	return agi_env_get(env, "agi_context");
}

const char *
agi_env_extension(const struct agi_env *env)
{
	return agi_env_get(env, "agi_extension");
}

const char *
agi_env_priority(const struct agi_env *env)
{
	return agi_env_get(env, "agi_priority");
}

const char *
agi_env_accountcode(const struct agi_env *env)
{
	return agi_env_get(env, "agi_accountcode");
}

const char *
agi_env_version(const struct agi_env *env)
{
	return agi_env_get(env, "agi_version");
}

const char *
agi_env_flow_id(const struct agi_env *env)
{
	return env->flow_id;
}

const char *
agi_env_query_lang(const struct agi_env *env)
{
	return env->lang;
}

const char *
agi_env_query_tenant(const struct agi_env *env)
{
	return env->tenant;
}

const char *
agi_env_dialed_number(const struct agi_env *env, const char *wazo_dstnum,
    const char *xivo_base_exten)
{
	const char *s;

	if (env_usable(wazo_dstnum))
		return wazo_dstnum;
	if (env_usable(xivo_base_exten))
		return xivo_base_exten;
	if (env_usable(s = agi_env_dnid(env)))
		return s;
	if (env_usable(s = agi_env_extension(env)))
		return s;
	return NULL;
}

/* Asterisk writes "unknown" where it has nothing to say. */
static int
env_usable(const char *s)
{
	return s != NULL && *s != '\0' && strcmp(s, "unknown") != 0;
}

static enum agi_env_res
env_fail(struct agi_env *env, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(env->error, sizeof(env->error), fmt, ap);
	va_end(ap);
	env->state = ENV_FAILED;
	return AGI_ENV_ERR;
}

/* Appends s[0..len) and a NUL; the block bound keeps this small. */
static void
env_append(struct agi_env *env, const char *s, size_t len)
{
	if (env->pairs_len + len + 1 > env->pairs_size) {
		while (env->pairs_len + len + 1 > env->pairs_size)
			env->pairs_size *= 2;
		env->pairs = xrealloc(env->pairs, env->pairs_size);
	}
	memcpy(env->pairs + env->pairs_len, s, len);
	env->pairs[env->pairs_len + len] = '\0';
	env->pairs_len += len + 1;
}

/*
 * Asterisk passes the script verbatim, "?query" included and nothing
 * decoded, so the split and the decoding are ours.
 */
static void
env_split_script(struct agi_env *env)
{
	const char *script, *query;
	size_t len;

	if ((script = agi_env_network_script(env)) == NULL)
		return;
	query = strchr(script, '?');
	len = query != NULL ? (size_t)(query - script) : strlen(script);
	env->flow_id = percent_decode(script, len);
	if (query != NULL) {
		env->lang = query_param(query + 1, "lang");
		env->tenant = query_param(query + 1, "tenant");
	}
}

/* The first name=value of a&b&c, decoded; NULL when absent or empty. */
static char *
query_param(const char *query, const char *name)
{
	size_t namelen = strlen(name), len;
	const char *p = query, *amp;

	for (;;) {
		amp = strchr(p, '&');
		len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (len >= namelen && strncmp(p, name, namelen) == 0 &&
		    (len == namelen || p[namelen] == '=')) {
			if (len == namelen)
				return NULL;
			return percent_decode(p + namelen + 1,
			    len - namelen - 1);
		}
		if (amp == NULL)
			return NULL;
		p = amp + 1;
	}
}

/*
 * %XX decoded; a malformed escape is kept as written rather than
 * refusing the call over it, and %00 too, since a NUL would cut the
 * string short.
 */
static char *
percent_decode(const char *s, size_t len)
{
	char *out, *o;
	size_t i;
	int hi, lo;

	if (len == 0)
		return NULL;
	out = o = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    (hi = hexval(s[i + 1])) != -1 &&
		    (lo = hexval(s[i + 2])) != -1 && (hi | lo) != 0) {
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
agi_utf8_safe(const char *s)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)s;
	unsigned char lo, hi;
	size_t need, i;
	char *out, *o;

	/* Each input byte becomes at most one U+FFFD, three bytes. */
	out = o = xmalloc(strlen(s) * 3 + 1);
	while (*p != '\0') {
		if (*p < 0x80) {
			*o++ = (char)*p++;
			continue;
		}
		/* Table 3-7 of the Unicode standard: well-formed sequences. */
		lo = 0x80;
		hi = 0xbf;
		if (*p >= 0xc2 && *p <= 0xdf)
			need = 1;
		else if (*p == 0xe0) {
			need = 2;
			lo = 0xa0;
		} else if (*p == 0xed) {
			need = 2;
			hi = 0x9f;	/* no surrogates */
		} else if (*p >= 0xe1 && *p <= 0xef)
			need = 2;
		else if (*p == 0xf0) {
			need = 3;
			lo = 0x90;	/* no overlong forms */
		} else if (*p >= 0xf1 && *p <= 0xf3)
			need = 3;
		else if (*p == 0xf4) {
			need = 3;
			hi = 0x8f;	/* nothing above U+10FFFF */
		} else {
			memcpy(o, fffd, 3);
			o += 3;
			p++;
			continue;
		}
		/* A NUL fails every test, so this never reads past the end. */
		for (i = 1; i <= need; i++) {
			if (p[i] < lo || p[i] > hi)
				break;
			lo = 0x80;
			hi = 0xbf;
		}
		if (i > need) {
			memcpy(o, p, need + 1);
			o += need + 1;
			p += need + 1;
		} else {
			/* The maximal subpart p[0..i) is one U+FFFD. */
			memcpy(o, fffd, 3);
			o += 3;
			p += i;
		}
	}
	*o = '\0';
	return out;
}

/*
 * Commands
 */

static void	cmd_fail(struct agi_cmd *, const char *);
static void	cmd_put(struct agi_cmd *, const char *, size_t);
static void	cmd_putc(struct agi_cmd *, char);
static void	cmd_required(struct agi_cmd *, const char *, const char *);
static int	verb_ok(const char *);

#define CMD_TOO_LONG	"command line over 2047 bytes (Asterisk reads at" \
			    " most 2048 with its NUL)"

void
agi_cmd_begin(struct agi_cmd *cmd, const char *verb)
{
	cmd->len = 0;
	cmd->line[0] = '\0';
	cmd->error = NULL;
	if (verb == NULL || !verb_ok(verb)) {
		cmd_fail(cmd, "command verb is not upper-case words");
		return;
	}
	cmd_put(cmd, verb, strlen(verb));
}

void
agi_cmd_arg(struct agi_cmd *cmd, const char *s)
{
	if (s == NULL) {
		cmd_fail(cmd, "missing (NULL) argument");
		return;
	}
	agi_cmd_arg_len(cmd, s, strlen(s));
}

void
agi_cmd_arg_len(struct agi_cmd *cmd, const char *s, size_t len)
{
	size_t i;

	if (cmd->error != NULL)
		return;
	if (s == NULL) {
		cmd_fail(cmd, "missing (NULL) argument");
		return;
	}
	/*
	 * Asterisk keeps a CR as data and ends the command at a LF, which
	 * would run the rest of the argument as a command of its own. No
	 * escaping helps: refuse before anything is written.
	 */
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') {
			cmd_fail(cmd, "argument holds CR, LF or NUL");
			return;
		}
	}
	cmd_putc(cmd, ' ');
	cmd_putc(cmd, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			cmd_putc(cmd, '\\');
		cmd_putc(cmd, s[i]);
	}
	cmd_putc(cmd, '"');
}

void
agi_cmd_num(struct agi_cmd *cmd, long long n)
{
	char buf[32];
	int len;

	len = snprintf(buf, sizeof(buf), " %lld", n);
	cmd_put(cmd, buf, (size_t)len);
}

int
agi_cmd_end(struct agi_cmd *cmd)
{
	cmd_putc(cmd, '\n');
	if (cmd->error != NULL) {
		cmd->len = 0;
		cmd->line[0] = '\0';
		return -1;
	}
	cmd->line[cmd->len] = '\0';
	return 0;
}

int
agi_cmd_answer(struct agi_cmd *cmd)
{
	agi_cmd_begin(cmd, "ANSWER");
	return agi_cmd_end(cmd);
}

int
agi_cmd_hangup(struct agi_cmd *cmd)
{
	agi_cmd_begin(cmd, "HANGUP");
	return agi_cmd_end(cmd);
}

int
agi_cmd_noop(struct agi_cmd *cmd)
{
	agi_cmd_begin(cmd, "NOOP");
	return agi_cmd_end(cmd);
}

int
agi_cmd_stream_file(struct agi_cmd *cmd, const char *file,
    const char *escape, long long offset)
{
	const char *c;

	agi_cmd_begin(cmd, "STREAM FILE");
	cmd_required(cmd, file, "sound file name is empty");
	/* Required by Asterisk even when empty: without it, 520. */
	if (escape == NULL)
		cmd_fail(cmd, "missing (NULL) argument");
	else {
		for (c = escape; *c != '\0'; c++)
			if (strchr("0123456789*#ABCD", *c) == NULL)
				cmd_fail(cmd, "escape digits other than"
				    " 0-9, *, #, A-D");
	}
	agi_cmd_arg(cmd, escape);
	if (offset < 0)
		cmd_fail(cmd, "negative sample offset");
	else if (offset > 0)
		agi_cmd_num(cmd, offset);
	return agi_cmd_end(cmd);
}

int
agi_cmd_get_data(struct agi_cmd *cmd, const char *file, long long timeout_ms,
    int maxdigits)
{
	agi_cmd_begin(cmd, "GET DATA");
	agi_cmd_arg(cmd, file);
	agi_cmd_num(cmd, timeout_ms);
	/* 0 makes Asterisk answer -1; its default, 1024, overflows. */
	if (maxdigits < 1 || maxdigits > 1023)
		cmd_fail(cmd, "maxdigits not in 1..1023");
	agi_cmd_num(cmd, maxdigits);
	return agi_cmd_end(cmd);
}

int
agi_cmd_wait_for_digit(struct agi_cmd *cmd, long long timeout_ms)
{
	agi_cmd_begin(cmd, "WAIT FOR DIGIT");
	agi_cmd_num(cmd, timeout_ms);
	return agi_cmd_end(cmd);
}

int
agi_cmd_set_variable(struct agi_cmd *cmd, const char *name,
    const char *value)
{
	agi_cmd_begin(cmd, "SET VARIABLE");
	cmd_required(cmd, name, "variable name is empty");
	agi_cmd_arg(cmd, value);
	return agi_cmd_end(cmd);
}

int
agi_cmd_get_variable(struct agi_cmd *cmd, const char *name)
{
	agi_cmd_begin(cmd, "GET VARIABLE");
	cmd_required(cmd, name, "variable name is empty");
	return agi_cmd_end(cmd);
}

int
agi_cmd_exec(struct agi_cmd *cmd, const char *app, const char *options)
{
	agi_cmd_begin(cmd, "EXEC");
	cmd_required(cmd, app, "application name is empty");
	/* Asterisk uses one options token: commas, not spaces, split it. */
	if (options != NULL)
		agi_cmd_arg(cmd, options);
	return agi_cmd_end(cmd);
}

int
agi_cmd_set_context(struct agi_cmd *cmd, const char *context)
{
	agi_cmd_begin(cmd, "SET CONTEXT");
	cmd_required(cmd, context, "context is empty");
	return agi_cmd_end(cmd);
}

int
agi_cmd_set_extension(struct agi_cmd *cmd, const char *extension)
{
	agi_cmd_begin(cmd, "SET EXTENSION");
	cmd_required(cmd, extension, "extension is empty");
	return agi_cmd_end(cmd);
}

int
agi_cmd_set_priority(struct agi_cmd *cmd, const char *priority)
{
	agi_cmd_begin(cmd, "SET PRIORITY");
	cmd_required(cmd, priority, "priority is empty");
	return agi_cmd_end(cmd);
}

int
agi_cmd_set_autohangup(struct agi_cmd *cmd, int secs)
{
	agi_cmd_begin(cmd, "SET AUTOHANGUP");
	if (secs < 0)
		cmd_fail(cmd, "negative autohangup");
	agi_cmd_num(cmd, secs);
	return agi_cmd_end(cmd);
}

int
agi_cmd_verbose(struct agi_cmd *cmd, const char *msg, int level)
{
	agi_cmd_begin(cmd, "VERBOSE");
	agi_cmd_arg(cmd, msg);
	if (level < 1 || level > 4)
		cmd_fail(cmd, "verbose level not in 1..4");
	agi_cmd_num(cmd, level);
	return agi_cmd_end(cmd);
}

/* The first error is the one worth reporting; later ones follow from it. */
static void
cmd_fail(struct agi_cmd *cmd, const char *why)
{
	if (cmd->error == NULL)
		cmd->error = why;
}

/* Keeps room for the NUL, so the line fits Asterisk's fgets buffer. */
static void
cmd_put(struct agi_cmd *cmd, const char *s, size_t len)
{
	if (cmd->error != NULL)
		return;
	if (len >= sizeof(cmd->line) - cmd->len) {
		cmd_fail(cmd, CMD_TOO_LONG);
		return;
	}
	memcpy(cmd->line + cmd->len, s, len);
	cmd->len += len;
}

static void
cmd_putc(struct agi_cmd *cmd, char c)
{
	cmd_put(cmd, &c, 1);
}

static void
cmd_required(struct agi_cmd *cmd, const char *s, const char *why_empty)
{
	if (s != NULL && *s == '\0')
		cmd_fail(cmd, why_empty);
	agi_cmd_arg(cmd, s);
}

/*
 * Words of A-Z joined by single spaces. Never "FAILURE...": Asterisk
 * takes a line starting with "failure" as the script giving up.
 */
static int
verb_ok(const char *verb)
{
	const char *c;

	if (strncmp(verb, "FAILURE", 7) == 0)
		return 0;
	for (c = verb; *c != '\0'; c++) {
		if (*c >= 'A' && *c <= 'Z')
			continue;
		if (*c == ' ' && c != verb && c[1] >= 'A' && c[1] <= 'Z')
			continue;
		return 0;
	}
	return c != verb;
}

/*
 * Replies
 */

enum reply_state {
	REPLY_IDLE,
	REPLY_USAGE		/* inside "520-" .. "520 " */
};

struct agi_reply_parser {
	char			*strings;	/* last reply's, or NULL */
	enum reply_state	 state;
	int			 hungup;
	const char		*error;
};

static enum agi_reply_res reply_fail(struct agi_reply_parser *,
		    const char *);
static enum agi_reply_res reply_status(struct agi_reply_parser *, int,
		    const char *, size_t, int, struct agi_reply *);
static enum agi_reply_res reply_200(struct agi_reply_parser *, const char *,
		    size_t, struct agi_reply *);
static void	reply_params(struct agi_reply *, const char *, size_t);
static int	parse_ll(const char *, size_t, long long *);
static int	has_prefix(const char *, size_t, const char *);

struct agi_reply_parser *
agi_reply_parser_new(void)
{
	return xcalloc(1, sizeof(struct agi_reply_parser));
}

void
agi_reply_parser_free(struct agi_reply_parser *p)
{
	if (p == NULL)
		return;
	free(p->strings);
	free(p);
}

enum agi_reply_res
agi_reply_feed(struct agi_reply_parser *p, const char *line, size_t len,
    struct agi_reply *reply)
{
	/* The previous reply's strings are no longer anyone's. */
	free(p->strings);
	p->strings = NULL;
	p->error = NULL;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > AGI_REPLY_LINE_MAX)
		return reply_fail(p, "reply line over 16384 bytes");
	if (memchr(line, '\0', len) != NULL || memchr(line, '\n', len) != NULL)
		return reply_fail(p, "NUL or LF inside a reply line");

	/* The usage text is raw: blank lines, tags, anything but "520 ". */
	if (p->state == REPLY_USAGE) {
		if (has_prefix(line, len, "520 ")) {
			p->state = REPLY_IDLE;
			return reply_status(p, 520, line + 4, len - 4, 1,
			    reply);
		}
		return AGI_REPLY_MORE;
	}
	if (len == 6 && memcmp(line, "HANGUP", 6) == 0) {
		p->hungup = 1;
		return AGI_REPLY_HANGUP;
	}
	if (has_prefix(line, len, "200 result="))
		return reply_200(p, line + 11, len - 11, reply);
	/* GOSUB's "100 result=0 Trying...": its 200 comes when it returns. */
	if (has_prefix(line, len, "100 "))
		return AGI_REPLY_MORE;
	/* 511's wording changed over the years: the code alone counts. */
	if (has_prefix(line, len, "510 "))
		return reply_status(p, 510, line + 4, len - 4, 0, reply);
	if (has_prefix(line, len, "511 "))
		return reply_status(p, 511, line + 4, len - 4, 0, reply);
	if (has_prefix(line, len, "520 "))
		return reply_status(p, 520, line + 4, len - 4, 0, reply);
	if (has_prefix(line, len, "520-")) {
		p->state = REPLY_USAGE;
		return AGI_REPLY_MORE;
	}
	return reply_fail(p, "not an AGI reply");
}

const char *
agi_reply_parser_error(const struct agi_reply_parser *p)
{
	return p->error;
}

int
agi_reply_parser_hungup(const struct agi_reply_parser *p)
{
	return p->hungup;
}

int
agi_reply_digit(const struct agi_reply *reply)
{
	long long v;

	if (reply == NULL || reply->code != 200 || !reply->is_number)
		return -1;
	v = reply->value;
	if (v == 0)
		return 0;
	if ((v >= '0' && v <= '9') || v == '*' || v == '#' ||
	    (v >= 'A' && v <= 'D'))
		return (int)v;
	return -1;
}

static enum agi_reply_res
reply_fail(struct agi_reply_parser *p, const char *why)
{
	p->state = REPLY_IDLE;
	p->error = why;
	return AGI_REPLY_ERR;
}

/* 510, 511, 520: the code and the text after it. */
static enum agi_reply_res
reply_status(struct agi_reply_parser *p, int code, const char *text,
    size_t len, int usage, struct agi_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	p->strings = xstrndup(text, len);
	reply->code = code;
	reply->rest = p->strings;
	reply->usage = usage;
	return AGI_REPLY_DONE;
}

/*
 * s is what follows "200 result=": R up to the first space, then the
 * rest. R is a signed integer, or GET DATA's digits, which may be none
 * and may hold '*' and A-D.
 */
static enum agi_reply_res
reply_200(struct agi_reply_parser *p, const char *s, size_t len,
    struct agi_reply *reply)
{
	const char *sp, *rest, *open = NULL, *close = NULL;
	size_t rlen, restlen, i;
	char *o;

	sp = memchr(s, ' ', len);
	rlen = sp != NULL ? (size_t)(sp - s) : len;
	if (rlen > 0 && s[0] == '-') {
		for (i = 1; i < rlen; i++)
			if (s[i] < '0' || s[i] > '9')
				break;
		if (rlen == 1 || i < rlen)
			return reply_fail(p, "200 reply with a malformed"
			    " negative result");
	} else {
		for (i = 0; i < rlen; i++)
			if (strchr("0123456789*#ABCD", s[i]) == NULL)
				return reply_fail(p, "200 reply with a result"
				    " that is neither a number nor digits");
	}
	rest = s + rlen;
	while (rest < s + len && *rest == ' ')
		rest++;
	restlen = (size_t)(s + len - rest);

	/* Data is raw and may hold ')': first '(' to the last ')'. */
	if ((open = memchr(rest, '(', restlen)) != NULL) {
		for (i = restlen; i > (size_t)(open - rest) + 1; i--)
			if (rest[i - 1] == ')') {
				close = rest + i - 1;
				break;
			}
		if (close == NULL)
			return reply_fail(p, "200 reply with '(' and no ')'");
	}

	memset(reply, 0, sizeof(*reply));
	reply->code = 200;
	/* One allocation: rest, then result, then data, each with a NUL. */
	o = p->strings = xmalloc(restlen + rlen + restlen + 3);
	memcpy(o, rest, restlen);
	o[restlen] = '\0';
	reply->rest = o;
	o += restlen + 1;
	memcpy(o, s, rlen);
	o[rlen] = '\0';
	reply->result = o;
	o += rlen + 1;
	if (open != NULL) {
		memcpy(o, open + 1, (size_t)(close - open - 1));
		o[close - open - 1] = '\0';
		reply->data = o;
		reply_params(reply, rest, (size_t)(open - rest));
		reply_params(reply, close + 1,
		    (size_t)(rest + restlen - close - 1));
	} else
		reply_params(reply, rest, restlen);
	reply->is_number = parse_ll(s, rlen, &reply->value);
	return AGI_REPLY_DONE;
}

/*
 * Picks endpos= and digit= out of space-separated words. A quoted
 * stretch (speech's text0="two words") is one word.
 */
static void
reply_params(struct agi_reply *reply, const char *s, size_t len)
{
	const char *end = s + len, *w;
	int quoted;

	while (s < end) {
		while (s < end && *s == ' ')
			s++;
		w = s;
		for (quoted = 0; s < end && (quoted || *s != ' '); s++)
			if (*s == '"')
				quoted = !quoted;
		if (has_prefix(w, (size_t)(s - w), "endpos=") &&
		    parse_ll(w + 7, (size_t)(s - w - 7), &reply->endpos))
			reply->has_endpos = 1;
		else if (s - w == 7 && has_prefix(w, 7, "digit="))
			reply->digit = (unsigned char)w[6];
	}
}

/* 1 when s[0..len) is exactly a decimal long long, -? and digits. */
static int
parse_ll(const char *s, size_t len, long long *out)
{
	char buf[32], *end;
	long long v;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!(buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')))
		return 0;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || end == buf)
		return 0;
	*out = v;
	return 1;
}

static int
has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}
