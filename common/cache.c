/*
 * cache.c - the remote result cache (SQLite, beside the store).
 */
#define _GNU_SOURCE /* O_PATH */
#include "cache.h"
#include "file.h"
#include "ta.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

struct ta_cache {
	sqlite3 *db;
	sqlite3_stmt *get, *put;
	uint8_t key[TA_KEY_LEN];
};

static const char schema[] = "PRAGMA temp_store=MEMORY; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                             "DROP TABLE IF EXISTS entries;" /* v1: no credential key */
                             /* v2: may hold yeses for introspection answers that named
                              * nobody, which are no verdict since 7453a46 */
                             "DROP TABLE IF EXISTS entries2;"
                             "CREATE TABLE IF NOT EXISTS entries3(key BLOB PRIMARY KEY,"
                             " cred BLOB NOT NULL, stored INTEGER NOT NULL,"
                             " token_exp INTEGER NOT NULL) WITHOUT ROWID;"
                             "CREATE INDEX IF NOT EXISTS entries3_stored ON entries3(stored);"
                             "CREATE INDEX IF NOT EXISTS entries3_cred ON entries3(cred);";

/* Read the host key, creating it (O_EXCL, 0600) on first use. */
static int load_key(ta_cache *c, const char *path, char *err, size_t errlen)
{
	int r = ta_key_read(path, c->key, err, errlen);

	if (r != TA_ERR_NOT_FOUND)
		return r;
	r = ta_key_create(path, err, errlen);
	if (r != TA_OK && r != TA_ERR_EXISTS) /* EXISTS: another process won the race */
		return r;
	return ta_key_read(path, c->key, err, errlen);
}

static int open_db(ta_cache *c, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), r;

	/* made now: exactly 0600 whatever the umask; else open what is there */
	if (fd >= 0 && fchmod(fd, 0600) != 0) {
		snprintf(err, errlen, "%s: cannot set mode 0600: %m", path);
		close(fd);
		return TA_ERR_UNAVAILABLE;
	}
	/* The existing file is checked through O_PATH: closing a descriptor
	 * of our own would drop the locks other contexts' SQLite connections
	 * hold on it (file.h). */
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %m", path);
		return TA_ERR_UNAVAILABLE;
	}
	r = ta_file_check_fd(fd, path, TA_FILE_SECRET, err, errlen);
	close(fd);
	if (r != TA_OK)
		return r;
	if (sqlite3_open_v2(path, &c->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
	                    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(c->db, 2000) != SQLITE_OK ||
	    sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, "SELECT stored, token_exp FROM entries3 WHERE key=?", -1,
	                       SQLITE_PREPARE_PERSISTENT, &c->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(c->db, "INSERT OR REPLACE INTO entries3 VALUES(?,?,?,?)", -1,
	                       SQLITE_PREPARE_PERSISTENT, &c->put, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return TA_ERR_UNAVAILABLE;
	}
	return TA_OK;
}

int ta_cache_open(const char *dir, ta_cache **out, char *err, size_t errlen)
{
	char db[PATH_MAX], key[PATH_MAX];
	ta_cache *c = NULL;
	int r;

	*out = NULL;
	if (snprintf(db, sizeof(db), "%s/remote-cache.db", dir) >= (int)sizeof(db) ||
	    snprintf(key, sizeof(key), "%s/remote-cache.key", dir) >= (int)sizeof(key))
		return TA_ERR_INPUT;
	if ((r = ta_file_check_dir(db, err, errlen)) != TA_OK)
		return r;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return TA_ERR_NOMEM;
	if ((r = load_key(c, key, err, errlen)) == TA_OK &&
	    (r = open_db(c, db, err, errlen)) == TA_OK) {
		*out = c;
		c = NULL;
	}
	ta_cache_close(c);
	return r;
}

void ta_cache_close(ta_cache *c)
{
	if (c == NULL)
		return;
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->put);
	sqlite3_close(c->db);
	ta_wipe(c->key, sizeof(c->key));
	free(c);
}

/* HMAC over "tag\0" + the NUL-separated fields + the credential. */
static int mac_of(ta_cache *c, const char *tag, const char *const *fields, size_t nf,
                  const char *cred, size_t credlen, uint8_t out[TA_SHA256_LEN])
{
	size_t n = strlen(tag) + 1 + credlen, o = 0, maclen = 0;
	uint8_t *msg, mac[64];
	int r;

	for (size_t i = 0; i < nf; i++)
		n += strlen(fields[i]) + 1;
	if ((msg = malloc(n)) == NULL)
		return TA_ERR_NOMEM;
	/* NUL separators: no two different tuples give the same message */
	memcpy(msg, tag, strlen(tag) + 1);
	o = strlen(tag) + 1;
	for (size_t i = 0; i < nf; i++) {
		memcpy(msg + o, fields[i], strlen(fields[i]) + 1);
		o += strlen(fields[i]) + 1;
	}
	memcpy(msg + o, cred, credlen);
	r = ta_hmac(TA_HASH_SHA256, c->key, sizeof(c->key), msg, n, mac, &maclen);
	if (r == TA_OK)
		memcpy(out, mac, TA_SHA256_LEN);
	ta_wipe(mac, sizeof(mac));
	ta_wipe(msg, n);
	free(msg);
	return r;
}

int ta_cache_key(ta_cache *c, const char *service, const char *tenant, const char *user,
                 const char *cred, size_t credlen, uint8_t key[TA_CACHE_KEY_LEN])
{
	const char *entry[] = {service, tenant, user}, *who[] = {tenant, user};
	int r = mac_of(c, "entry", entry, 3, cred, credlen, key);

	return r == TA_OK ? mac_of(c, "cred", who, 2, cred, credlen, key + TA_SHA256_LEN) : r;
}

int ta_cache_get(ta_cache *c, const uint8_t key[TA_CACHE_KEY_LEN], int64_t now, uint64_t max_age)
{
	int r = TA_ERR_NOT_FOUND;

	sqlite3_bind_blob(c->get, 1, key, TA_SHA256_LEN, SQLITE_STATIC);
	if (sqlite3_step(c->get) == SQLITE_ROW) {
		int64_t stored = sqlite3_column_int64(c->get, 0),
		        exp = sqlite3_column_int64(c->get, 1);
		if (stored <= now && now - stored < (int64_t)max_age && (exp == 0 || exp > now))
			r = TA_OK;
	}
	sqlite3_reset(c->get);
	return r;
}

int ta_cache_put(ta_cache *c, const uint8_t key[TA_CACHE_KEY_LEN], int64_t now, int64_t token_exp)
{
	char sql[160];
	int rc;

	sqlite3_bind_blob(c->put, 1, key, TA_SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(c->put, 2, key + TA_SHA256_LEN, TA_SHA256_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(c->put, 3, now);
	sqlite3_bind_int64(c->put, 4, token_exp);
	rc = sqlite3_step(c->put);
	sqlite3_reset(c->put);
	if (rc != SQLITE_DONE)
		return TA_ERR_UNAVAILABLE;
	/* Keep it bounded: drop the oldest entries beyond the cap. */
	snprintf(sql, sizeof(sql),
	         "DELETE FROM entries3 WHERE key IN (SELECT key FROM entries3 ORDER BY stored DESC "
	         "LIMIT -1 OFFSET %d)",
	         TA_CACHE_MAX);
	sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return TA_OK;
}

int ta_cache_del(ta_cache *c, const uint8_t key[TA_CACHE_KEY_LEN])
{
	sqlite3_stmt *s = NULL;
	int rc;

	if (sqlite3_prepare_v2(c->db, "DELETE FROM entries3 WHERE cred=?", -1, &s, NULL) != SQLITE_OK)
		return TA_ERR_UNAVAILABLE;
	sqlite3_bind_blob(s, 1, key + TA_SHA256_LEN, TA_SHA256_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? TA_OK : TA_ERR_UNAVAILABLE;
}
