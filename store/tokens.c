#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "log.h"
#include "store/store_int.h"
#include "util.h"

/*
 * A token reads "ivr_<id>_<secret>": the id (12 hex digits) finds the
 * row, the SHA-256 of the whole token is compared in constant time. The
 * secret is 32 random bytes, so a hash without salt is enough: there is
 * nothing to brute-force.
 */
#define TOKEN_ID_BYTES		6
#define TOKEN_SECRET_BYTES	32
#define TOKEN_PREFIX		"ivr_"

static void
hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
token_hash(const char *token, unsigned char out[32])
{
	unsigned int len = 0;

	return EVP_Digest(token, strlen(token), out, &len, EVP_sha256(),
	    NULL) == 1 && len == 32 ? 0 : -1;
}

enum store_res
store_token_create(struct store *store, const char *tenant, const char *name,
    int admin, char **token)
{
	unsigned char idb[TOKEN_ID_BYTES], secret[TOKEN_SECRET_BYTES], h[32];
	char id[2 * TOKEN_ID_BYTES + 1], sec[2 * TOKEN_SECRET_BYTES + 1];
	char now[ISO8601_LEN];
	sqlite3_stmt *st;
	int rc;

	if (RAND_bytes(idb, sizeof(idb)) != 1 ||
	    RAND_bytes(secret, sizeof(secret)) != 1) {
		log_warnx("store: no random bytes for a token");
		return STORE_ERR;
	}
	hex(idb, sizeof(idb), id);
	hex(secret, sizeof(secret), sec);
	xasprintf(token, TOKEN_PREFIX "%s_%s", id, sec);
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(sec, sizeof(sec));
	if (token_hash(*token, h) == -1)
		goto fail;
	iso8601_utc(time(NULL), now);

	st = store_stmt(store, ST_TOKEN_INSERT);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, admin ? 1 : 0);
	sqlite3_bind_blob(st, 5, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	free(*token);
	*token = NULL;
	if (rc == SQLITE_CONSTRAINT)
		return STORE_CONFLICT;
	return store_fail(store, "creating a token");
fail:
	free(*token);
	*token = NULL;
	return STORE_ERR;
}

enum store_res
store_token_check(struct store *store, const char *token,
    struct store_principal *who)
{
	char id[2 * TOKEN_ID_BYTES + 1];
	unsigned char h[32];
	const void *stored;
	sqlite3_stmt *st;
	enum store_res res = STORE_NOTFOUND;
	int rc;

	if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 ||
	    strlen(token) != strlen(TOKEN_PREFIX) + 2 * TOKEN_ID_BYTES + 1 +
	    2 * TOKEN_SECRET_BYTES)
		return STORE_NOTFOUND;
	memcpy(id, token + strlen(TOKEN_PREFIX), 2 * TOKEN_ID_BYTES);
	id[2 * TOKEN_ID_BYTES] = '\0';
	if (token_hash(token, h) == -1)
		return STORE_ERR;

	st = store_stmt(store, ST_TOKEN_GET);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		stored = sqlite3_column_blob(st, 2);
		if (stored != NULL && sqlite3_column_bytes(st, 2) == 32 &&
		    CRYPTO_memcmp(stored, h, 32) == 0) {
			memset(who, 0, sizeof(*who));
			snprintf(who->token_id, sizeof(who->token_id), "%s", id);
			snprintf(who->tenant, sizeof(who->tenant), "%s",
			    (const char *)sqlite3_column_text(st, 0));
			who->admin = sqlite3_column_int(st, 1);
			res = STORE_OK;
		}
	} else if (rc != SQLITE_DONE)
		res = store_fail(store, "checking a token");
	sqlite3_reset(st);
	return res;
}

enum store_res
store_token_revoke(struct store *store, const char *id_or_name)
{
	char now[ISO8601_LEN];
	sqlite3_stmt *st = store_stmt(store, ST_TOKEN_NAME_COUNT);
	int rc, matches = 0;

	/* Names are unique per tenant only: one name may mean several. */
	sqlite3_bind_text(st, 1, id_or_name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		matches = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail(store, "finding a token");
	if (matches == 0)
		return STORE_NOTFOUND;
	if (matches > 1)
		return STORE_AMBIGUOUS;

	st = store_stmt(store, ST_TOKEN_REVOKE);
	iso8601_utc(time(NULL), now);
	sqlite3_bind_text(st, 1, id_or_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(store, "revoking a token");
	return sqlite3_changes(store->db) ? STORE_OK : STORE_NOTFOUND;
}

json_t *
store_token_list(struct store *store)
{
	sqlite3_stmt *st = store_stmt(store, ST_TOKEN_LIST);
	json_t *list = json_array();

	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *revoked = (const char *)sqlite3_column_text(st, 5);

		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b, "
		    "s:s, s:o}",
		    "id", (const char *)sqlite3_column_text(st, 0),
		    "name", (const char *)sqlite3_column_text(st, 1),
		    "tenant", (const char *)sqlite3_column_text(st, 2),
		    "admin", sqlite3_column_int(st, 3),
		    "created_at", (const char *)sqlite3_column_text(st, 4),
		    "revoked_at", revoked ? json_string(revoked) : json_null()));
	}
	sqlite3_reset(st);
	return list;
}
