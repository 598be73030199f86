/*
 * Configuration: one table of keys serves the config file, the
 * command-line overrides and `ivrd -n`. The file is "key = value" lines,
 * '#' starts a comment; contrib/ivrd.conf documents every key.
 */
#ifndef IVRD_CONF_H
#define IVRD_CONF_H

#include <stddef.h>

struct conf {
	char	*api_listen;		/* HOST:PORT, port 0 picks a free one */
	char	*agi_listen;
	char	*data_dir;		/* holds ivrd.sqlite */
	char	*cache_dir;		/* TTS audio, readable by Asterisk */
	char	*log_level;		/* error, warn, info, debug */
	char	*log_target;		/* stderr, syslog */
	long	 max_body_bytes;	/* larger request bodies get 413 */
	int	 api_loopback_no_token;	/* token-less access from loopback */

	/* The call runtime. */
	long	 agi_max_calls;		/* beyond: IVR_STATUS=BUSY */
	long	 agi_env_timeout_ms;	/* for the agi_* block */
	long	 agi_command_timeout_sec; /* a silent peer is dropped */
	char	*routing_style;		/* exec, wazo */
	char	*dial_template;		/* transfer: "PJSIP/%s@trunk" */
	char	*recordings_dir;	/* MixMonitor files go below */
	char	*ai_agent_address;	/* AudioSocket HOST:PORT, "" = none */

	/* Wazo: one base URL per service; a service account for a token. */
	char	*wazo_url;		/* "https://HOST": each service via nginx */
	char	*wazo_auth_url;		/* overrides: ".../api/auth/0.1" */
	char	*wazo_confd_url;	/* ".../api/confd/1.1" */
	char	*wazo_amid_url;		/* ".../api/amid/1.0" */
	char	*wazo_username;		/* the service account */
	char	*wazo_password;
	char	*wazo_tenant;		/* Wazo-Tenant header, "" = none */
	char	*wazo_ca_file;
	int	 wazo_insecure;		/* no TLS verification */
	long	 wazo_timeout_ms;
	char	*wazo_agi_address;	/* in incalls' AGI(agi://THIS/FLOW) */
	int	 wazo_on_host;		/* ivrd runs on the Wazo host */
	char	*wazo_dialplan_dir;	/* extensions_extra.d */
	char	*wazo_transfer_context;	/* Redirect of a handed-over call */

	/* Amazon Polly; credentials also from the AWS_* environment. */
	char	*polly_region;		/* "" = $AWS_REGION, else us-east-1 */
	char	*polly_endpoint;	/* "" = https://polly.REGION.amazonaws.com */
	char	*polly_engine;		/* standard, neural */
	long	 polly_timeout_ms;	/* then the local voice is used */
	char	*polly_ca_file;		/* "" = the system's CAs */
	char	*aws_access_key_id;
	char	*aws_secret_access_key;
	char	*aws_session_token;
};

/* Fills conf with the built-in defaults. */
void	conf_defaults(struct conf *conf);
void	conf_clear(struct conf *conf);

/*
 * Reads path into conf (keys absent from the file keep their value).
 * 0 on success; -1 with *err (owned by the caller) naming the file, line
 * and problem.
 */
int	conf_load(struct conf *conf, const char *path, char **err);

/* Sets one key from its text form, as a file line would. */
int	conf_set(struct conf *conf, const char *key, const char *value,
	    char **err);

/* Checks the values together (addresses parse, level known). */
int	conf_check(const struct conf *conf, char **err);

/* The default config file path (SYSCONFDIR/ivrd/ivrd.conf). */
const char *conf_default_path(void);

#endif
