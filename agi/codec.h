/*
 * The FastAGI line codec: what Asterisk sends on connect (the agi_*
 * environment block), the command lines ivrd sends, and the replies
 * Asterisk answers with. Pure code: no sockets, no event loop. The caller
 * cuts the stream into lines at LF and feeds them here one at a time,
 * without the LF.
 *
 * The wire facts (and why each rule below exists) are in
 * shared/agi-protocol.md, sections 1 to 4 and 6.
 */
#ifndef IVRD_AGI_CODEC_H
#define IVRD_AGI_CODEC_H

#include <stddef.h>

/*
 * The environment block
 *
 * Lines "agi_<key>: <value>" up to an empty line, in any order. The value
 * is everything after the first ": ", kept byte for byte (trailing spaces,
 * ':' and non-UTF-8 bytes included); "key:" at the very end of a line is
 * read as an empty value. Asterisk ends lines with LF only; one trailing
 * CR is tolerated and dropped. Unknown keys are kept and can be read with
 * agi_env_get; a key sent twice reads as its last value.
 *
 * Refused, as garbage on the socket: a line without ": ", a key that is
 * not [A-Za-z0-9_]+, a line holding a NUL or LF, an empty block (the empty
 * line first), more than AGI_ENV_MAX bytes (LFs counted) or more than
 * AGI_ENV_KEYS keys. A real block is about 600 bytes and 24 keys.
 */
#define AGI_ENV_MAX	8192
#define AGI_ENV_KEYS	128

struct agi_env;

enum agi_env_res {
	AGI_ENV_MORE,		/* line taken, feed the next one */
	AGI_ENV_DONE,		/* the empty line: the block is complete */
	AGI_ENV_ERR		/* refused; agi_env_error says why */
};

struct agi_env		*agi_env_new(void);
void			 agi_env_free(struct agi_env *env);

/*
 * Feeds one line of len bytes (without its LF). After DONE or ERR every
 * further line is an error: the block is over, or the peer is not
 * Asterisk.
 */
enum agi_env_res	 agi_env_feed(struct agi_env *env, const char *line,
			    size_t len);
/* Why the last feed failed (borrowed, valid until agi_env_free). */
const char		*agi_env_error(const struct agi_env *env);

/*
 * Every string below is borrowed from env and valid until agi_env_free;
 * NULL when the key was not sent. Values are raw: Asterisk writes the
 * literal "unknown" for an empty callerid, calleridname, dnid or rdnis.
 */
const char	*agi_env_get(const struct agi_env *env, const char *key);
/* agi_arg_<n>, n from 1. */
const char	*agi_env_arg(const struct agi_env *env, int n);
const char	*agi_env_network_script(const struct agi_env *env);
const char	*agi_env_request(const struct agi_env *env);
const char	*agi_env_channel(const struct agi_env *env);
const char	*agi_env_language(const struct agi_env *env);
const char	*agi_env_uniqueid(const struct agi_env *env);
const char	*agi_env_callerid(const struct agi_env *env);
const char	*agi_env_calleridname(const struct agi_env *env);
const char	*agi_env_dnid(const struct agi_env *env);
const char	*agi_env_rdnis(const struct agi_env *env);
const char	*agi_env_context(const struct agi_env *env);
const char	*agi_env_extension(const struct agi_env *env);
const char	*agi_env_priority(const struct agi_env *env);
const char	*agi_env_accountcode(const struct agi_env *env);
const char	*agi_env_version(const struct agi_env *env);

/*
 * agi_network_script split once the block is DONE. "sales?lang=es-US&
 * tenant=acme" gives flow id "sales", lang "es-US", tenant "acme". Each
 * is percent-decoded (%XX; a bad or %00 escape stays as written; '+' is
 * not a space). NULL when absent or empty: no script line (agi://host/),
 * a script that starts with '?', "lang=" with nothing after. For a name
 * given twice the first one counts. The caller still validates the
 * flow id (safe_id).
 */
const char	*agi_env_flow_id(const struct agi_env *env);
const char	*agi_env_query_lang(const struct agi_env *env);
const char	*agi_env_query_tenant(const struct agi_env *env);

/*
 * The dialed number of flow-runtime.md "Reaching a flow": WAZO_DSTNUM,
 * else XIVO_BASE_EXTEN, else agi_dnid, else agi_extension; the first that
 * is set, not empty and not "unknown". The two Wazo names are channel
 * variables, never env keys: the session fetches them with GET VARIABLE
 * and passes the values (NULL when GET VARIABLE said result=0). Borrowed
 * from whichever argument or env it came from; NULL when none qualifies.
 */
const char	*agi_env_dialed_number(const struct agi_env *env,
		    const char *wazo_dstnum, const char *xivo_base_exten);

/*
 * A copy of s that is valid UTF-8, for JSON and logs: each ill-formed
 * sequence (maximal subpart, as Unicode recommends) becomes U+FFFD.
 * Valid text, control characters included, is copied unchanged. Owned by
 * the caller.
 */
char		*agi_utf8_safe(const char *s);

/*
 * Commands
 *
 * Built on the caller's stack, one at a time, then written with a single
 * write() (Asterisk reads with stdio; see the lock-step rule). Every
 * string argument is sent quoted, with '"' and '\' backslash-escaped and
 * "" for an empty one, so Asterisk's tokeniser gives back exactly the
 * bytes given. An argument holding CR, LF or NUL cannot be sent (a CR
 * would be kept, a LF would start a second command): it makes the whole
 * command fail, so no line is produced at all. Numbers are sent bare.
 *
 * Errors are sticky: after the first, the later calls do nothing and the
 * final one returns -1 with error set, len 0 and line "".
 */
#define AGI_CMD_MAX	2048	/* Asterisk's buffer, 16 .. 20.15 */

struct agi_cmd {
	char		 line[AGI_CMD_MAX];	/* command, LF, NUL */
	size_t		 len;	/* bytes to write, LF included */
	const char	*error;	/* static string, or NULL */
};

/*
 * The generic builder. verb is one or more upper-case words ("STREAM
 * FILE"), written as given. agi_cmd_end appends the LF and returns 0, or
 * -1 when anything was refused or the line would not fit in AGI_CMD_MAX
 * with its NUL (so at most 2047 bytes, LF included).
 */
void	 agi_cmd_begin(struct agi_cmd *cmd, const char *verb);
void	 agi_cmd_arg(struct agi_cmd *cmd, const char *s);
void	 agi_cmd_arg_len(struct agi_cmd *cmd, const char *s, size_t len);
void	 agi_cmd_num(struct agi_cmd *cmd, long long n);
int	 agi_cmd_end(struct agi_cmd *cmd);

/*
 * One builder per command the runtime sends; each is begin + args + end
 * and returns what agi_cmd_end returns. Shapes (section 3):
 *	ANSWER
 *	HANGUP				(never with a channel argument)
 *	NOOP
 *	STREAM FILE "file" "escape" [offset]	offset 0 is left out
 *	GET DATA "file" timeout_ms maxdigits	maxdigits 1..1023
 *	WAIT FOR DIGIT timeout_ms		-1 waits forever
 *	SET VARIABLE "name" "value"
 *	GET VARIABLE "name"
 *	EXEC "app" ["options"]			options NULL: left out
 *	SET CONTEXT "ctx" / SET EXTENSION "exten" / SET PRIORITY "n|label"
 *	SET AUTOHANGUP secs			0 turns it off
 *	VERBOSE "msg" level			level 1..4
 * escape holds only DTMF (0-9 * # A-D) and may be "" for none. Names,
 * files and priorities may not be empty, except GET DATA's file: ""
 * there collects digits without a prompt. msg and value may be "".
 */
int	 agi_cmd_answer(struct agi_cmd *cmd);
int	 agi_cmd_hangup(struct agi_cmd *cmd);
int	 agi_cmd_noop(struct agi_cmd *cmd);
int	 agi_cmd_stream_file(struct agi_cmd *cmd, const char *file,
	    const char *escape, long long offset);
int	 agi_cmd_get_data(struct agi_cmd *cmd, const char *file,
	    long long timeout_ms, int maxdigits);
int	 agi_cmd_wait_for_digit(struct agi_cmd *cmd, long long timeout_ms);
int	 agi_cmd_set_variable(struct agi_cmd *cmd, const char *name,
	    const char *value);
int	 agi_cmd_get_variable(struct agi_cmd *cmd, const char *name);
int	 agi_cmd_exec(struct agi_cmd *cmd, const char *app,
	    const char *options);
int	 agi_cmd_set_context(struct agi_cmd *cmd, const char *context);
int	 agi_cmd_set_extension(struct agi_cmd *cmd, const char *extension);
int	 agi_cmd_set_priority(struct agi_cmd *cmd, const char *priority);
int	 agi_cmd_set_autohangup(struct agi_cmd *cmd, int secs);
int	 agi_cmd_verbose(struct agi_cmd *cmd, const char *msg, int level);

/*
 * Replies
 *
 * One parser per connection, fed every line Asterisk sends after the
 * environment block. It absorbs the intermediate "100 result=0 Trying..."
 * (GOSUB) and the body of a multi-line 520 (until its "520 " line),
 * reports an unsolicited HANGUP notice apart from replies, and refuses
 * anything else that is not a 200, 510, 511 or 520 line. It holds no
 * line between calls beyond the last reply's copy.
 */
struct agi_reply_parser;

enum agi_reply_res {
	AGI_REPLY_MORE,		/* absorbed; the reply is to come */
	AGI_REPLY_DONE,		/* *reply is the command's final reply */
	AGI_REPLY_HANGUP,	/* HANGUP notice: the channel is not ours */
	AGI_REPLY_ERR		/* not AGI: agi_reply_parser_error */
};

/*
 * A final reply. Strings are borrowed from the parser, valid until its
 * next feed or its free.
 *
 * 200 result=<R>[ rest]: result is R as sent ("" for GET DATA's empty
 * digits), value its number when is_number. data is the text between the
 * first '(' and the last ')' of rest, "" for "()", NULL with no
 * parentheses. endpos= and digit= are picked out of rest (outside the
 * parentheses); rest itself is kept for anything else ("Gosub complete",
 * speech results).
 *
 * 510, 511 and 520: result and data are NULL, rest is the text after the
 * code ("Invalid or unknown command"); usage is 1 for a multi-line 520
 * (its text is not kept: rest is that of the final "520 " line).
 */
struct agi_reply {
	int		 code;		/* 200, 510, 511 or 520 */
	const char	*result;
	long long	 value;
	int		 is_number;
	const char	*data;
	const char	*rest;
	long long	 endpos;
	int		 has_endpos;
	int		 digit;		/* digit=C, else 0 */
	int		 usage;
};

#define AGI_REPLY_LINE_MAX	16384	/* GET VARIABLE sends <= 1023 */

struct agi_reply_parser	*agi_reply_parser_new(void);
void			 agi_reply_parser_free(struct agi_reply_parser *p);

/*
 * Feeds one line of len bytes (without its LF; one trailing CR is
 * dropped). reply is filled only on DONE. After ERR the parser starts
 * over, expecting a new reply, but the connection is not to be trusted.
 */
enum agi_reply_res	 agi_reply_feed(struct agi_reply_parser *p,
			    const char *line, size_t len,
			    struct agi_reply *reply);
/* Static string: why the last feed returned ERR. */
const char	*agi_reply_parser_error(const struct agi_reply_parser *p);
/* 1 once a HANGUP notice was seen on this connection; it stays 1. */
int		 agi_reply_parser_hungup(const struct agi_reply_parser *p);

/*
 * The DTMF key of a STREAM FILE, GET OPTION, WAIT FOR DIGIT or SAY reply,
 * whose result is the key's ASCII code: '0'-'9', '*', '#' or 'A'-'D' for
 * a key, 0 for "no key" (result=0), -1 for anything else (result=-1, a
 * code that is no DTMF key, a reply that is not 200).
 */
int		 agi_reply_digit(const struct agi_reply *reply);

#endif
