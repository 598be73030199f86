#include "config.h"

/*
 * The FastAGI line codec against what real Asterisk sends and answers
 * (shared/agi-protocol.md): the environment block of the section 6
 * transcript and its variants, the exact bytes of every command, and
 * every reply format of sections 2, 3 and 6.
 */

#include <stdlib.h>
#include <string.h>

#include "agi/codec.h"
#include "t/unit/tap.h"

/* Section 6, line for line. */
static const char *const transcript_env[] = {
	"agi_network: yes",
	"agi_network_script: ivr?tenant=acme",
	"agi_request: agi://10.0.0.5:4573/ivr?tenant=acme",
	"agi_channel: PJSIP/carrier-0000002a",
	"agi_language: en",
	"agi_type: PJSIP",
	"agi_uniqueid: 1718035200.97",
	"agi_version: 20.9.3",
	"agi_callerid: 15551234567",
	"agi_calleridname: JOHN DOE",
	"agi_callingpres: 0",
	"agi_callingani2: 0",
	"agi_callington: 0",
	"agi_callingtns: 0",
	"agi_dnid: 18005550100",
	"agi_rdnis: unknown",
	"agi_context: from-carrier",
	"agi_extension: 18005550100",
	"agi_priority: 2",
	"agi_enhanced: 0.0",
	"agi_accountcode: ",
	"agi_threadid: 140023313659456",
	"agi_arg_1: en-US",
	"agi_arg_2: main",
	"",
	NULL
};

/* Feeds lines until the block ends or fails; *fed counts them. */
static enum agi_env_res
feed_lines(struct agi_env *env, const char *const *lines, int *fed)
{
	enum agi_env_res res = AGI_ENV_MORE;
	int n = 0;

	for (; *lines != NULL; lines++) {
		n++;
		res = agi_env_feed(env, *lines, strlen(*lines));
		if (res != AGI_ENV_MORE)
			break;
	}
	if (fed != NULL)
		*fed = n;
	return res;
}

/* A block of the minimal keys with the given script line. */
static struct agi_env *
env_with_script(const char *script_line)
{
	const char *lines[] = { "agi_network: yes", script_line,
	    "agi_channel: PJSIP/x-1", "", NULL };
	struct agi_env *env = agi_env_new();

	if (feed_lines(env, lines, NULL) != AGI_ENV_DONE)
		diag("block with %s: %s", script_line, agi_env_error(env));
	return env;
}

static enum agi_reply_res
rfeed(struct agi_reply_parser *p, const char *line, struct agi_reply *r)
{
	return agi_reply_feed(p, line, strlen(line), r);
}

static void
test_transcript_env(void)
{
	struct agi_env *env = agi_env_new();
	int fed;

	is_int(feed_lines(env, transcript_env, &fed), AGI_ENV_DONE,
	    "section 6 block: DONE at the empty line");
	is_int(fed, 25, "section 6 block: every line taken");
	is_str(agi_env_network_script(env), "ivr?tenant=acme",
	    "network_script");
	is_str(agi_env_request(env),
	    "agi://10.0.0.5:4573/ivr?tenant=acme", "request");
	is_str(agi_env_channel(env), "PJSIP/carrier-0000002a", "channel");
	is_str(agi_env_language(env), "en", "language");
	is_str(agi_env_uniqueid(env), "1718035200.97", "uniqueid");
	is_str(agi_env_version(env), "20.9.3", "version");
	is_str(agi_env_callerid(env), "15551234567", "callerid");
	is_str(agi_env_calleridname(env), "JOHN DOE", "calleridname");
	is_str(agi_env_dnid(env), "18005550100", "dnid");
	is_str(agi_env_rdnis(env), "unknown", "rdnis kept raw: unknown");
	is_str(agi_env_context(env), "from-carrier", "context");
	is_str(agi_env_extension(env), "18005550100", "extension");
	is_str(agi_env_priority(env), "2", "priority");
	is_str(agi_env_accountcode(env), "", "accountcode: trailing space is"
	    " the separator, the value is empty");
	is_str(agi_env_arg(env, 1), "en-US", "agi_arg_1");
	is_str(agi_env_arg(env, 2), "main", "agi_arg_2");
	is_str(agi_env_arg(env, 3), NULL, "agi_arg_3 absent");
	is_str(agi_env_arg(env, 0), NULL, "agi_arg_0 is no argument");
	is_str(agi_env_get(env, "agi_type"), "PJSIP", "get agi_type");
	is_str(agi_env_get(env, "agi_enhanced"), "0.0", "get agi_enhanced");
	is_str(agi_env_get(env, "agi_threadid"), "140023313659456",
	    "get agi_threadid");
	is_str(agi_env_get(env, "agi_callingpres"), "0",
	    "get agi_callingpres");
	is_str(agi_env_get(env, "agi_network"), "yes", "get agi_network");
	is_str(agi_env_get(env, "agi_nosuch"), NULL, "get of an unsent key");
	is_str(agi_env_flow_id(env), "ivr", "flow id before the '?'");
	is_str(agi_env_query_tenant(env), "acme", "tenant from the query");
	is_str(agi_env_query_lang(env), NULL, "no lang in the query");
	is_str(agi_env_dialed_number(env, NULL, NULL), "18005550100",
	    "dialed number: dnid without the Wazo variables");
	is_str(agi_env_dialed_number(env, "2000", "3000"), "2000",
	    "dialed number: WAZO_DSTNUM first");
	is_str(agi_env_dialed_number(env, "", "3000"), "3000",
	    "dialed number: XIVO_BASE_EXTEN when WAZO_DSTNUM is empty");
	is_int(agi_env_feed(env, "agi_late: x", 11), AGI_ENV_ERR,
	    "a line after the block is refused");
	agi_env_free(env);
}

static void
test_env_order_and_unknown(void)
{
	struct agi_env *env = agi_env_new();
	const char *lines[32];
	int i, n = 0;

	/* Reversed (bar the empty line), with unknown keys thrown in. */
	for (i = 23; i >= 0; i--) {
		lines[n++] = transcript_env[i];
		if (i == 12)
			lines[n++] = "agi_future_key: 42";
	}
	lines[n++] = "x_vendor_Thing_2: not agi at all";
	lines[n++] = "";
	lines[n] = NULL;
	is_int(feed_lines(env, lines, NULL), AGI_ENV_DONE,
	    "reversed block with unknown keys: DONE");
	is_str(agi_env_channel(env), "PJSIP/carrier-0000002a",
	    "reversed: channel");
	is_str(agi_env_uniqueid(env), "1718035200.97", "reversed: uniqueid");
	is_str(agi_env_flow_id(env), "ivr", "reversed: flow id");
	is_str(agi_env_arg(env, 2), "main", "reversed: agi_arg_2");
	is_str(agi_env_get(env, "agi_future_key"), "42", "unknown agi_ key"
	    " kept");
	is_str(agi_env_get(env, "x_vendor_Thing_2"), "not agi at all",
	    "unknown non-agi key kept");
	agi_env_free(env);
}

static void
test_env_values(void)
{
	const char *lines[] = {
		"agi_network: yes",
		"agi_request: agi://10.0.0.5:4573/ivr?tenant=acme",
		"agi_calleridname: Doe: John: ",
		"agi_channel: PJSIP/a-1\r",
		"agi_accountcode:",
		"agi_dnid: unknown",
		"agi_extension: 5001",
		"agi_language: en",
		"agi_language: fr",
		"\r",
		NULL
	};
	struct agi_env *env = agi_env_new();

	is_int(feed_lines(env, lines, NULL), AGI_ENV_DONE,
	    "block with odd values and CRs: DONE at a lone CR");
	is_str(agi_env_request(env), "agi://10.0.0.5:4573/ivr?tenant=acme",
	    "':' inside a value kept (split at the first ': ')");
	is_str(agi_env_calleridname(env), "Doe: John: ",
	    "': ' and trailing space inside a value kept");
	is_str(agi_env_channel(env), "PJSIP/a-1", "trailing CR dropped");
	is_str(agi_env_accountcode(env), "", "\"key:\" alone is an empty"
	    " value");
	is_str(agi_env_language(env), "fr", "a key sent twice: the last");
	is_str(agi_env_network_script(env), NULL, "no network_script line");
	is_str(agi_env_flow_id(env), NULL, "no script: no flow id");
	is_str(agi_env_query_lang(env), NULL, "no script: no lang");
	is_str(agi_env_query_tenant(env), NULL, "no script: no tenant");
	is_str(agi_env_dialed_number(env, NULL, NULL), "5001",
	    "dialed number: extension when dnid is unknown");
	agi_env_free(env);
}

static void
test_env_query(void)
{
	struct agi_env *env;

	env = env_with_script("agi_network_script: sales?lang=es-US&"
	    "tenant=acme");
	is_str(agi_env_flow_id(env), "sales", "query: flow id");
	is_str(agi_env_query_lang(env), "es-US", "query: lang");
	is_str(agi_env_query_tenant(env), "acme", "query: tenant");
	agi_env_free(env);

	env = env_with_script("agi_network_script: sal%65s?x=1&"
	    "tenant=Acme%20%26%20Co&lang=es%2dUS");
	is_str(agi_env_flow_id(env), "sales", "percent-decoded flow id");
	is_str(agi_env_query_lang(env), "es-US", "percent-decoded lang,"
	    " any order, lower-case hex");
	is_str(agi_env_query_tenant(env), "Acme & Co", "percent-decoded"
	    " tenant, %%26 is data");
	agi_env_free(env);

	env = env_with_script("agi_network_script: a%zz+b%4?tenant=%00x&"
	    "tenant=second&lang=");
	is_str(agi_env_flow_id(env), "a%zz+b%4", "bad escapes and '+' kept"
	    " as written");
	is_str(agi_env_query_tenant(env), "%00x", "%%00 not decoded; first"
	    " tenant counts");
	is_str(agi_env_query_lang(env), NULL, "empty lang is no lang");
	agi_env_free(env);

	env = env_with_script("agi_network_script: ?lang=de");
	is_str(agi_env_flow_id(env), NULL, "script starting with '?': no"
	    " flow id (by number)");
	is_str(agi_env_query_lang(env), "de", "...but its lang is read");
	agi_env_free(env);

	env = env_with_script("agi_network_script: languages?xlang=de&"
	    "lang");
	is_str(agi_env_query_lang(env), NULL, "xlang= is not lang=, bare"
	    " lang has no value");
	agi_env_free(env);
}

static void
test_env_utf8(void)
{
	const char *lines[] = { "agi_calleridname: Jos\xe9 M\xfcller \xff",
	    "", NULL };
	struct agi_env *env = agi_env_new();
	char *safe;

	is_int(feed_lines(env, lines, NULL), AGI_ENV_DONE,
	    "Latin-1 caller name accepted");
	is_str(agi_env_calleridname(env), "Jos\xe9 M\xfcller \xff",
	    "non-UTF-8 bytes kept as sent");
	safe = agi_utf8_safe(agi_env_calleridname(env));
	is_str(safe, "Jos\xef\xbf\xbd M\xef\xbf\xbdller \xef\xbf\xbd",
	    "UTF-8-safe copy: each bad byte is U+FFFD");
	free(safe);
	agi_env_free(env);

	safe = agi_utf8_safe("Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	is_str(safe, "Jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "valid 2, 3 and 4-byte UTF-8 unchanged");
	free(safe);
	safe = agi_utf8_safe("a\xe2\x82" "b\xc0\xaf" "c\xed\xa0\x80"
	    "d\xf4\x90\x80\x80" "e\xe2");
	is_str(safe, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "e\xef\xbf\xbd", "truncated, overlong, surrogate, >U+10FFFF and"
	    " cut-off sequences: one U+FFFD per maximal subpart");
	free(safe);
}

static void
test_env_bounds(void)
{
	struct agi_env *env;
	char line[128];
	enum agi_env_res res = AGI_ENV_MORE;
	int i;

	/* 100-byte lines: the 82nd takes the block past 8192 bytes. */
	env = agi_env_new();
	memset(line, 'v', sizeof(line));
	for (i = 0; i < 200 && res == AGI_ENV_MORE; i++) {
		int n = snprintf(line, sizeof(line), "agi_k%03d: ", i);

		line[n] = 'v';
		res = agi_env_feed(env, line, 99);
	}
	is_int(res, AGI_ENV_ERR, "oversize block refused");
	is_int(i, 82, "refused at the line that crosses 8192 bytes");
	ok(strstr(agi_env_error(env), "8192") != NULL,
	    "error names the bound: %s", agi_env_error(env));
	agi_env_free(env);

	env = agi_env_new();
	res = AGI_ENV_MORE;
	for (i = 0; i < 128 && res == AGI_ENV_MORE; i++) {
		snprintf(line, sizeof(line), "agi_arg_%d: x", i + 1);
		res = agi_env_feed(env, line, strlen(line));
	}
	is_int(res, AGI_ENV_MORE, "128 keys accepted");
	is_int(agi_env_feed(env, "agi_one_more: x", 15), AGI_ENV_ERR,
	    "the 129th key refused");
	ok(strstr(agi_env_error(env), "128") != NULL, "error names the"
	    " bound: %s", agi_env_error(env));
	is_int(agi_env_feed(env, "", 0), AGI_ENV_ERR, "a refused block"
	    " stays refused");
	agi_env_free(env);

	env = agi_env_new();
	for (i = 0; i < 128; i++) {
		snprintf(line, sizeof(line), "agi_arg_%d: x", i + 1);
		agi_env_feed(env, line, strlen(line));
	}
	is_int(agi_env_feed(env, "", 0), AGI_ENV_DONE, "128 keys and the"
	    " empty line: DONE");
	is_str(agi_env_arg(env, 128), "x", "agi_arg_128 readable");
	agi_env_free(env);
}

static void
test_env_garbage(void)
{
	static const struct {
		const char	*line;
		size_t		 len;
		const char	*name;
	} bad[] = {
		{ "GET / HTTP/1.1", 14, "an HTTP request line" },
		{ "agi_channel:PJSIP/x", 19, "no space after ':'" },
		{ "agi_channel", 11, "no ':' at all" },
		{ ": value", 7, "empty key" },
		{ "agi channel: x", 14, "space in the key" },
		{ "agi_channel: a\0b", 16, "NUL inside" },
		{ "agi_channel: a\nb", 16, "LF inside" },
		{ "", 0, "the empty line first (empty block)" },
	};
	struct agi_env *env;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env = agi_env_new();
		agi_env_feed(env, "agi_network: yes", 16);
		if (bad[i].len == 0) {
			agi_env_free(env);
			env = agi_env_new();
		}
		is_int(agi_env_feed(env, bad[i].line, bad[i].len),
		    AGI_ENV_ERR, "garbage refused: %s (%s)", bad[i].name,
		    agi_env_error(env));
		agi_env_free(env);
	}
	agi_env_free(NULL);
}

static void
test_cmd_builders(void)
{
	struct agi_cmd cmd;

	is_int(agi_cmd_answer(&cmd), 0, "ANSWER built");
	is_str(cmd.line, "ANSWER\n", "ANSWER bytes");
	is_int(cmd.len, 7, "len counts the LF");
	agi_cmd_hangup(&cmd);
	is_str(cmd.line, "HANGUP\n", "HANGUP bytes");
	agi_cmd_noop(&cmd);
	is_str(cmd.line, "NOOP\n", "NOOP bytes");
	is_int(agi_cmd_stream_file(&cmd, "/var/cache/ivr-tts/5f2c1a",
	    "0123456789*#", 0), 0, "STREAM FILE built");
	is_str(cmd.line, "STREAM FILE \"/var/cache/ivr-tts/5f2c1a\""
	    " \"0123456789*#\"\n", "STREAM FILE bytes, offset 0 left out");
	is_int(cmd.len, strlen(cmd.line), "len is the line's length");
	agi_cmd_stream_file(&cmd, "digits/1", "", 8000);
	is_str(cmd.line, "STREAM FILE \"digits/1\" \"\" 8000\n",
	    "STREAM FILE with no escape digits and an offset");
	agi_cmd_get_data(&cmd, "/var/cache/ivr-tts/9ab3e0", 5000, 6);
	is_str(cmd.line, "GET DATA \"/var/cache/ivr-tts/9ab3e0\" 5000 6\n",
	    "GET DATA bytes");
	is_int(agi_cmd_get_data(&cmd, "", 3000, 4), 0, "GET DATA without a"
	    " prompt built");
	is_str(cmd.line, "GET DATA \"\" 3000 4\n", "GET DATA \"\" bytes");
	agi_cmd_wait_for_digit(&cmd, 5000);
	is_str(cmd.line, "WAIT FOR DIGIT 5000\n", "WAIT FOR DIGIT bytes");
	agi_cmd_wait_for_digit(&cmd, -1);
	is_str(cmd.line, "WAIT FOR DIGIT -1\n", "WAIT FOR DIGIT -1 bytes");
	agi_cmd_set_variable(&cmd, "IVR_ACCOUNT", "12");
	is_str(cmd.line, "SET VARIABLE \"IVR_ACCOUNT\" \"12\"\n",
	    "SET VARIABLE bytes");
	agi_cmd_set_variable(&cmd, "CALLERID(name)", "Doe, John");
	is_str(cmd.line, "SET VARIABLE \"CALLERID(name)\" \"Doe, John\"\n",
	    "SET VARIABLE of a function, value with space and comma");
	agi_cmd_set_variable(&cmd, "IVR_ERROR", "");
	is_str(cmd.line, "SET VARIABLE \"IVR_ERROR\" \"\"\n",
	    "SET VARIABLE to an empty value");
	agi_cmd_get_variable(&cmd, "WAZO_DSTNUM");
	is_str(cmd.line, "GET VARIABLE \"WAZO_DSTNUM\"\n",
	    "GET VARIABLE bytes");
	agi_cmd_exec(&cmd, "Queue", "support,,,,300");
	is_str(cmd.line, "EXEC \"Queue\" \"support,,,,300\"\n", "EXEC bytes");
	agi_cmd_exec(&cmd, "MixMonitor", NULL);
	is_str(cmd.line, "EXEC \"MixMonitor\"\n", "EXEC without options");
	agi_cmd_set_context(&cmd, "from-carrier");
	is_str(cmd.line, "SET CONTEXT \"from-carrier\"\n", "SET CONTEXT bytes");
	agi_cmd_set_extension(&cmd, "s");
	is_str(cmd.line, "SET EXTENSION \"s\"\n", "SET EXTENSION bytes");
	agi_cmd_set_priority(&cmd, "1");
	is_str(cmd.line, "SET PRIORITY \"1\"\n", "SET PRIORITY bytes");
	agi_cmd_set_autohangup(&cmd, 300);
	is_str(cmd.line, "SET AUTOHANGUP 300\n", "SET AUTOHANGUP bytes");
	agi_cmd_verbose(&cmd, "call \"42\" in C:\\ivr", 2);
	is_str(cmd.line, "VERBOSE \"call \\\"42\\\" in C:\\\\ivr\" 2\n",
	    "VERBOSE bytes, '\"' and '\\' escaped");
}

static void
test_cmd_generic(void)
{
	struct agi_cmd cmd;

	agi_cmd_begin(&cmd, "SET VARIABLE");
	agi_cmd_arg(&cmd, "a b\tc");
	agi_cmd_arg(&cmd, "say \"hi\" \\o/");
	agi_cmd_arg(&cmd, "");
	agi_cmd_num(&cmd, -1);
	is_int(agi_cmd_end(&cmd), 0, "generic builder");
	is_str(cmd.line, "SET VARIABLE \"a b\tc\" \"say \\\"hi\\\" \\\\o/\""
	    " \"\" -1\n", "every string quoted, escapes, \"\", bare number");
	is_str(cmd.error, NULL, "no error");

	agi_cmd_begin(&cmd, "SAY DIGITS");
	agi_cmd_arg_len(&cmd, "12\xff", 3);
	agi_cmd_arg(&cmd, "#");
	agi_cmd_end(&cmd);
	is_str(cmd.line, "SAY DIGITS \"12\xff\" \"#\"\n", "other bytes pass"
	    " through, quoted");
}

static void
test_cmd_refused(void)
{
	struct agi_cmd cmd;
	char big[2100];

	is_int(agi_cmd_set_variable(&cmd, "X", "hello\"\nHANGUP"), -1,
	    "injection attempt hello\"\\nHANGUP refused");
	is_str(cmd.line, "", "...and no line at all");
	is_int(cmd.len, 0, "...of length 0");
	ok(cmd.error != NULL && strstr(cmd.error, "LF") != NULL,
	    "...with a clear error: %s", cmd.error);
	is_int(agi_cmd_verbose(&cmd, "ok\r", 1), -1, "CR refused");
	is_str(cmd.line, "", "CR: no line");
	agi_cmd_begin(&cmd, "SET VARIABLE");
	agi_cmd_arg(&cmd, "X");
	agi_cmd_arg_len(&cmd, "a\0b", 3);
	is_int(agi_cmd_end(&cmd), -1, "NUL inside a counted argument refused");
	is_str(cmd.line, "", "NUL: no line");
	is_int(agi_cmd_set_variable(&cmd, "", "x"), -1, "empty variable name");
	is_int(agi_cmd_get_data(&cmd, "f", 5000, 0), -1, "maxdigits 0");
	is_int(agi_cmd_get_data(&cmd, "f", 5000, 1024), -1, "maxdigits 1024");
	is_int(agi_cmd_stream_file(&cmd, "f", "12x", 0), -1,
	    "escape digits outside DTMF");
	is_int(agi_cmd_stream_file(&cmd, "", "", 0), -1, "empty sound file");
	is_int(agi_cmd_stream_file(&cmd, "f", "", -5), -1, "negative offset");
	is_int(agi_cmd_exec(&cmd, "", "x"), -1, "empty application");
	is_int(agi_cmd_set_autohangup(&cmd, -1), -1, "negative autohangup");
	is_int(agi_cmd_verbose(&cmd, "x", 5), -1, "verbose level 5");
	is_int(agi_cmd_set_priority(&cmd, NULL), -1, "NULL argument");
	agi_cmd_begin(&cmd, "answer");
	is_int(agi_cmd_end(&cmd), -1, "lower-case verb refused");
	agi_cmd_begin(&cmd, "FAILURE");
	is_int(agi_cmd_end(&cmd), -1, "FAILURE verb refused (Asterisk would"
	    " end the AGI)");
	agi_cmd_begin(&cmd, "GET  DATA");
	is_int(agi_cmd_end(&cmd), -1, "double space in a verb refused");

	/* VERBOSE "<n bytes>" 1\n is n + 13 bytes. */
	memset(big, 'a', sizeof(big));
	big[2034] = '\0';
	is_int(agi_cmd_verbose(&cmd, big, 1), 0, "2047-byte line accepted");
	is_int(cmd.len, 2047, "...and it is 2047 bytes, LF included");
	big[2034] = 'a';
	big[2035] = '\0';
	is_int(agi_cmd_verbose(&cmd, big, 1), -1, "2048-byte line refused");
	ok(cmd.error != NULL && strstr(cmd.error, "2047") != NULL,
	    "...with a clear error: %s", cmd.error);
	is_str(cmd.line, "", "...and no line");
	memset(big, '"', 1100);
	big[1100] = '\0';
	is_int(agi_cmd_verbose(&cmd, big, 1), -1, "escapes count toward the"
	    " limit (1100 quotes are 2200 bytes)");
}

static void
test_reply_200(void)
{
	struct agi_reply_parser *p = agi_reply_parser_new();
	struct agi_reply r;

	is_int(agi_reply_parser_hungup(p), 0, "no HANGUP seen yet");
	is_int(rfeed(p, "200 result=0", &r), AGI_REPLY_DONE, "200 result=0");
	is_int(r.code, 200, "...code 200");
	is_str(r.result, "0", "...result text");
	ok(r.is_number && r.value == 0, "...value 0");
	is_str(r.data, NULL, "...no data");
	is_str(r.rest, "", "...nothing after");
	is_int(agi_reply_digit(&r), 0, "...no key pressed");

	is_int(rfeed(p, "200 result=50 endpos=23840", &r), AGI_REPLY_DONE,
	    "200 result=50 endpos=23840");
	is_int(r.value, 50, "...value 50");
	ok(r.has_endpos && r.endpos == 23840, "...endpos 23840");
	is_int(agi_reply_digit(&r), '2', "...result 50 is key '2'");

	is_int(rfeed(p, "200 result=12 (timeout)", &r), AGI_REPLY_DONE,
	    "200 result=12 (timeout)");
	is_str(r.result, "12", "...digits 12");
	is_str(r.data, "timeout", "...(timeout)");
	is_int(r.has_endpos, 0, "...no endpos");

	is_int(rfeed(p, "200 result=", &r), AGI_REPLY_DONE, "200 result=");
	is_str(r.result, "", "...empty digits");
	is_int(r.is_number, 0, "...not a number");
	is_str(r.data, NULL, "...no data");

	is_int(rfeed(p, "200 result= (timeout)", &r), AGI_REPLY_DONE,
	    "200 result= (timeout)");
	is_str(r.result, "", "...empty digits");
	is_str(r.data, "timeout", "...(timeout)");

	is_int(rfeed(p, "200 result=-1", &r), AGI_REPLY_DONE, "200 result=-1");
	ok(r.is_number && r.value == -1, "...value -1");
	is_int(agi_reply_digit(&r), -1, "...failure, no key");

	is_int(rfeed(p, "200 result=1 (a (nested) value)", &r),
	    AGI_REPLY_DONE, "200 result=1 (a (nested) value)");
	is_str(r.data, "a (nested) value", "...first '(' to last ')'");
	is_str(r.rest, "(a (nested) value)", "...rest");

	rfeed(p, "200 result=1 ()", &r);
	is_str(r.data, "", "GET VARIABLE of an empty value: data \"\"");
	rfeed(p, "200 result=1 (x) y)", &r);
	is_str(r.data, "x) y", "a ')' inside the data");

	rfeed(p, "200 result=-1 endpos=-1", &r);
	ok(r.has_endpos && r.endpos == -1, "CONTROL STREAM FILE endpos=-1");
	rfeed(p, "200 result=12*3#", &r);
	ok(strcmp(r.result, "12*3#") == 0 && !r.is_number,
	    "GET DATA digits with '*' kept as text");
	rfeed(p, "200 result=0012", &r);
	is_str(r.result, "0012", "leading zeros kept in the text");

	is_int(rfeed(p, "200 result=1 (speech) endpos=8000 results=1"
	    " score0=900 text0=\"say endpos=1 now\" grammar0=g", &r),
	    AGI_REPLY_DONE, "SPEECH RECOGNIZE reply");
	ok(r.has_endpos && r.endpos == 8000, "...endpos outside the data"
	    " and the quotes");
	rfeed(p, "200 result=1 (digit) digit=5 endpos=400", &r);
	ok(r.digit == '5' && r.data != NULL && strcmp(r.data, "digit") == 0,
	    "(digit) digit=5");
	rfeed(p, "200 result=0 Gosub complete (abnormal exit)", &r);
	ok(strcmp(r.rest, "Gosub complete (abnormal exit)") == 0 &&
	    strcmp(r.data, "abnormal exit") == 0, "words before the data");
	rfeed(p, "200 result=0\r", &r);
	is_str(r.result, "0", "a trailing CR tolerated");

	rfeed(p, "200 result=42", &r);
	is_int(agi_reply_digit(&r), '*', "result 42 is '*'");
	rfeed(p, "200 result=35", &r);
	is_int(agi_reply_digit(&r), '#', "result 35 is '#'");
	rfeed(p, "200 result=68", &r);
	is_int(agi_reply_digit(&r), 'D', "result 68 is 'D'");
	rfeed(p, "200 result=1", &r);
	is_int(agi_reply_digit(&r), -1, "result 1 is no key");
	agi_reply_parser_free(p);
}

static void
test_reply_status(void)
{
	struct agi_reply_parser *p = agi_reply_parser_new();
	struct agi_reply r;

	is_int(rfeed(p, "510 Invalid or unknown command", &r),
	    AGI_REPLY_DONE, "510");
	ok(r.code == 510 && r.result == NULL && r.data == NULL,
	    "...code 510, no result");
	is_str(r.rest, "Invalid or unknown command", "...its text");
	is_int(agi_reply_digit(&r), -1, "...no key");

	is_int(rfeed(p, "511 Command Not Permitted on a dead channel or"
	    " intercept routine", &r), AGI_REPLY_DONE, "511, today's text");
	is_int(r.code, 511, "...code 511");
	is_str(r.rest, "Command Not Permitted on a dead channel or intercept"
	    " routine", "...its text");
	rfeed(p, "511 Command Not Permitted on a dead channel", &r);
	is_int(r.code, 511, "511, the pre-13.14 text");

	is_int(rfeed(p, "520 Invalid command syntax.  Proper usage not"
	    " available.", &r), AGI_REPLY_DONE, "single-line 520");
	ok(r.code == 520 && !r.usage, "...code 520, no usage text");
	is_str(r.rest, "Invalid command syntax.  Proper usage not available.",
	    "...its text, two spaces");

	is_int(rfeed(p, "520-Invalid command syntax.  Proper usage follows:",
	    &r), AGI_REPLY_MORE, "520- opens the usage text");
	is_int(rfeed(p, " Usage: STREAM FILE <filename> <escape_digits>"
	    " [sample offset]", &r), AGI_REPLY_MORE, "...usage line");
	is_int(rfeed(p, "", &r), AGI_REPLY_MORE, "...blank line");
	is_int(rfeed(p, "<literal>HANGUP</literal>", &r), AGI_REPLY_MORE,
	    "...tag line");
	is_int(rfeed(p, "HANGUP", &r), AGI_REPLY_MORE, "...a line reading"
	    " HANGUP is text here");
	is_int(rfeed(p, "200 result=0", &r), AGI_REPLY_MORE,
	    "...so is a line reading 200");
	is_int(rfeed(p, "520 End of proper usage.", &r), AGI_REPLY_DONE,
	    "520 ends it");
	ok(r.code == 520 && r.usage, "...code 520 with usage");
	is_str(r.rest, "End of proper usage.", "...final line's text");
	is_int(agi_reply_parser_hungup(p), 0, "the HANGUP in usage text was"
	    " no notice");

	is_int(rfeed(p, "100 result=0 Trying...", &r), AGI_REPLY_MORE,
	    "100 Trying is not the reply");
	is_int(rfeed(p, "200 result=0 Gosub complete", &r), AGI_REPLY_DONE,
	    "200 after it is");
	is_str(r.rest, "Gosub complete", "...Gosub complete");

	is_int(rfeed(p, "HANGUP", &r), AGI_REPLY_HANGUP,
	    "unsolicited HANGUP is an event");
	is_int(agi_reply_parser_hungup(p), 1, "...and it is remembered");
	is_int(rfeed(p, "511 Command Not Permitted on a dead channel or"
	    " intercept routine", &r), AGI_REPLY_DONE, "the 511 after it");
	is_int(agi_reply_parser_hungup(p), 1, "...HANGUP still remembered");
	agi_reply_parser_free(p);
	agi_reply_parser_free(NULL);
}

static void
test_reply_garbage(void)
{
	static const struct {
		const char	*line;
		size_t		 len;
	} bad[] = {
		{ "hello", 5 },
		{ "", 0 },
		{ "200 OK", 6 },
		{ "200 result=abc", 14 },
		{ "200 result=-", 12 },
		{ "200 result=1x (y)", 17 },
		{ "2000 result=1", 13 },
		{ "200 result=1 (unterminated", 26 },
		{ "HANGUP now", 10 },
		{ "hangup", 6 },
		{ "510", 3 },
		{ "200 result=1\0", 13 },
	};
	struct agi_reply_parser *p = agi_reply_parser_new();
	struct agi_reply r;
	size_t i;
	int all = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (agi_reply_feed(p, bad[i].line, bad[i].len, &r) !=
		    AGI_REPLY_ERR || agi_reply_parser_error(p) == NULL) {
			diag("not refused: '%s'", bad[i].line);
			all = 0;
		}
	}
	ok(all, "%zu kinds of garbage refused with an error", i);
	is_int(rfeed(p, "200 result=1", &r), AGI_REPLY_DONE,
	    "the parser reads on after garbage");
	is_int(rfeed(p, "100 result=0 Trying...", &r), AGI_REPLY_MORE,
	    "100 Trying");
	is_int(rfeed(p, "garbage", &r), AGI_REPLY_ERR, "garbage after 100");
	is_int(agi_reply_parser_hungup(p), 0, "garbage is no hangup");
	agi_reply_parser_free(p);
}

int
main(void)
{
	test_transcript_env();
	test_env_order_and_unknown();
	test_env_values();
	test_env_query();
	test_env_utf8();
	test_env_bounds();
	test_env_garbage();
	test_cmd_builders();
	test_cmd_generic();
	test_cmd_refused();
	test_reply_200();
	test_reply_status();
	test_reply_garbage();
	return done_testing();
}
