/*
 * test_store_conformance.c - the same cases against every store engine
 * (SPEC: "the same semantics, proven by one conformance suite"), plus the
 * pool of open handles.  A new engine adds one row to engines[].
 */
#include "helpers.h"
#include "pg_helpers.h"
#include "store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

struct engine {
	const char *name;
	int files;             /* the store is a file: file-identity and permission cases apply */
	const char *needs_env; /* run only when this names something (else SKIPPED) */
	/* A fresh, empty store: its name in path. */
	void (*make)(char *dir, size_t dirlen, char *path, size_t pathlen);
	void (*drop)(const char *dir);
	/* End every session the server holds for the store, as a restart of
	 * the server would (NULL: the engine has no sessions). */
	void (*sever)(void);
};

static void sqlite_make(char *dir, size_t dirlen, char *path, size_t pathlen)
{
	ta_store *st = NULL;
	char err[512];

	snprintf(dir, dirlen, "/tmp/ta-conf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, pathlen, "%s/db/store.db", dir);
	assert_int_equal(ta_store_open(path, 1, &st, err, sizeof(err)), TA_OK);
	ta_store_close(st);
}

static void sqlite_drop(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * PostgreSQL: TA_TEST_PG_DSN_FILE names the DSN file of a private cluster
 * (make check-pg starts one with tests/pg/cluster.sh).  Each case starts
 * from an empty database: our tables dropped, then the store created.
 */
static void pg_exec_status(const char *sql, ExecStatusType want)
{
	pg_test_exec(sql, want);
}

static void pg_exec(const char *sql)
{
	pg_exec_status(sql, PGRES_COMMAND_OK);
}

/* every other session of our role, each waited for (up to 5 s) until gone */
static void pg_sever(void)
{
	pg_exec_status("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
	               "WHERE usename = current_user AND pid <> pg_backend_pid()",
	               PGRES_TUPLES_OK);
}

static void pg_drop(const char *dir)
{
	(void)dir;
	pg_exec("SET client_min_messages=warning; "
	        "DROP TABLE IF EXISTS tokens, otp, throttle, sessions, tokenauth_schema");
}

static void pg_make(char *dir, size_t dirlen, char *path, size_t pathlen)
{
	ta_store *st = NULL;
	char err[512];

	snprintf(dir, dirlen, "-");
	snprintf(path, pathlen, "postgresql:%s", getenv("TA_TEST_PG_DSN_FILE"));
	pg_drop(dir);
	assert_int_equal(ta_store_open(path, 1, &st, err, sizeof(err)), TA_OK);
	ta_store_close(st);
}

static const struct engine engines[] = {
    {"sqlite", 1, NULL, sqlite_make, sqlite_drop, NULL},
    {"postgresql", 0, "TA_TEST_PG_DSN_FILE", pg_make, pg_drop, pg_sever},
};

static const struct engine *engine; /* the row being run */

struct fx {
	char dir[64], path[160];
	ta_store *st;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512];

	assert_non_null(f);
	engine->make(f->dir, sizeof(f->dir), f->path, sizeof(f->path));
	assert_int_equal(ta_store_open(f->path, 0, &f->st, err, sizeof(err)), TA_OK);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	ta_store_close(f->st);
	engine->drop(f->dir);
	free(f);
	return 0;
}

static struct ta_token_row token_row(const char *id, const char *user, const char *tenant)
{
	struct ta_token_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.user, sizeof(row.user), "%s", user);
	snprintf(row.tenant, sizeof(row.tenant), "%s", tenant);
	row.kind = TA_TOKEN_KIND_ISSUED;
	row.created = 1000;
	return row;
}

static void hash_of(const char *s, uint8_t hash[TA_SHA256_LEN])
{
	assert_int_equal(ta_token_hash(s, strlen(s), hash), TA_OK);
}

static struct ta_otp_row otp_row(uint64_t next)
{
	struct ta_otp_row row;

	memset(&row, 0, sizeof(row));
	row.p = (struct ta_otp_params){TA_OTP_TOTP, TA_HASH_SHA1, 6, 30};
	row.next = next;
	row.created = 1000;
	row.sealed_len = 40;
	memset(row.sealed, 0xa5, row.sealed_len);
	return row;
}

/* ---- tokens --------------------------------------------------------------- */

struct seen {
	int n, stop_at;
	char last[600];
};

static int count_token(void *arg, const struct ta_token_row *row)
{
	struct seen *s = arg;

	snprintf(s->last, sizeof(s->last), "%s/%s/%s%s", row->user, row->tenant, row->id,
	         row->params ? "+p" : "");
	return ++s->n == s->stop_at ? TA_ERR_INPUT : TA_OK;
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	struct ta_token_row row = token_row("aaaaaaaaaaa1", "alice", ""), got;
	struct seen s = {0, 0, ""};
	uint8_t h1[TA_SHA256_LEN], h2[TA_SHA256_LEN], h3[TA_SHA256_LEN], none[TA_SHA256_LEN];
	unsigned n = 99;

	hash_of("token-one", h1);
	hash_of("token-two", h2);
	hash_of("token-three", h3);
	hash_of("token-none", none);
	assert_int_equal(ta_store_token_insert(f->st, h1, &row), TA_OK);
	assert_int_equal(ta_store_token_insert(f->st, h1, &row), TA_ERR_EXISTS); /* same hash */
	row = token_row("aaaaaaaaaaa1", "bob", "");
	assert_int_equal(ta_store_token_insert(f->st, h2, &row), TA_ERR_EXISTS); /* same id */
	row = token_row("aaaaaaaaaaa2", "alice", "t1");
	row.params = "{\"k\":\"v\"}";
	row.expires = 5000;
	assert_int_equal(ta_store_token_insert(f->st, h2, &row), TA_OK);
	row = token_row("aaaaaaaaaaa3", "bob", "");
	assert_int_equal(ta_store_token_insert(f->st, h3, &row), TA_OK);

	/* find, with and without params */
	assert_int_equal(ta_store_token_find(f->st, h2, 0, &got), TA_OK);
	assert_string_equal(got.id, "aaaaaaaaaaa2");
	assert_string_equal(got.tenant, "t1");
	assert_null(got.params);
	assert_int_equal(got.expires, 5000);
	assert_int_equal(got.revoked, 0);
	assert_int_equal(ta_store_token_find(f->st, h2, 1, &got), TA_OK);
	assert_string_equal(got.params, "{\"k\":\"v\"}");
	free(got.params);
	assert_int_equal(ta_store_token_find(f->st, h1, 1, &got), TA_OK);
	assert_null(got.params);
	assert_int_equal(ta_store_token_find(f->st, none, 0, &got), TA_ERR_NOT_FOUND);

	/* lists: all, one user, and a callback that stops the loop */
	assert_int_equal(ta_store_token_list(f->st, NULL, count_token, &s), TA_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.last, "bob//aaaaaaaaaaa3");
	memset(&s, 0, sizeof(s));
	assert_int_equal(ta_store_token_list(f->st, "alice", count_token, &s), TA_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.last, "alice/t1/aaaaaaaaaaa2+p");
	memset(&s, 0, sizeof(s));
	assert_int_equal(ta_store_token_list(f->st, "nobody", count_token, &s), TA_OK);
	assert_int_equal(s.n, 0);
	s.stop_at = 2;
	assert_int_equal(ta_store_token_list(f->st, NULL, count_token, &s), TA_ERR_INPUT);
	assert_int_equal(s.n, 2);

	/* revoke one by id: once, then "already", unknown id */
	assert_int_equal(ta_store_token_revoke_id(f->st, "aaaaaaaaaaa1", 2000), TA_OK);
	assert_int_equal(ta_store_token_revoke_id(f->st, "aaaaaaaaaaa1", 2001), TA_ERR_REVOKED);
	assert_int_equal(ta_store_token_revoke_id(f->st, "ffffffffffff", 2001), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_token_find(f->st, h1, 0, &got), TA_OK);
	assert_int_equal(got.revoked, 2000);

	/* revoke a user's: one tenant, then every tenant; already revoked ones not counted */
	assert_int_equal(ta_store_token_revoke_user(f->st, "alice", "t2", 3000, &n), TA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ta_store_token_revoke_user(f->st, "alice", "t1", 3000, &n), TA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ta_store_token_revoke_user(f->st, "bob", NULL, 3000, &n), TA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ta_store_token_revoke_user(f->st, "alice", NULL, 3000, NULL), TA_OK);
	assert_int_equal(ta_store_token_find(f->st, h3, 0, &got), TA_OK);
	assert_int_equal(got.revoked, 3000);
}

static void test_has_credential(void **state)
{
	struct fx *f = *state;
	struct ta_token_row row = token_row("bbbbbbbbbbb1", "tok", "t");
	struct ta_otp_row o = otp_row(1);
	uint8_t h[TA_SHA256_LEN];
	int has = 7;

	assert_int_equal(ta_store_has_credential(f->st, "tok", "t", &has), TA_OK);
	assert_int_equal(has, 0);
	hash_of("has-cred", h);
	assert_int_equal(ta_store_token_insert(f->st, h, &row), TA_OK);
	assert_int_equal(ta_store_otp_put(f->st, "otp", "", &o, 0), TA_OK);
	assert_int_equal(ta_store_has_credential(f->st, "tok", "t", &has), TA_OK);
	assert_int_equal(has, 1);
	assert_int_equal(ta_store_has_credential(f->st, "tok", "", &has), TA_OK);
	assert_int_equal(has, 0); /* another tenant */
	assert_int_equal(ta_store_has_credential(f->st, "otp", "", &has), TA_OK);
	assert_int_equal(has, 1);
	/* a revoked token still counts: the user is enrolled here */
	assert_int_equal(ta_store_token_revoke_id(f->st, "bbbbbbbbbbb1", 5), TA_OK);
	assert_int_equal(ta_store_has_credential(f->st, "tok", "t", &has), TA_OK);
	assert_int_equal(has, 1);
}

/* ---- OTP ------------------------------------------------------------------ */

static int count_otp(void *arg, const char *user, const char *tenant, const struct ta_otp_row *row)
{
	struct seen *s = arg;

	snprintf(s->last, sizeof(s->last), "%s/%s/%llu/%zu", user, tenant,
	         (unsigned long long)row->next, row->sealed_len);
	return ++s->n == s->stop_at ? TA_ERR_INPUT : TA_OK;
}

static void test_otp(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row row = otp_row(10), got;
	struct seen s = {0, 0, ""};

	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_otp_put(f->st, "u", "", &row, 0), TA_OK);
	assert_int_equal(ta_store_otp_put(f->st, "u", "", &row, 0), TA_ERR_EXISTS);
	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_OK);
	assert_int_equal(got.next, 10);
	assert_int_equal(got.p.type, TA_OTP_TOTP);
	assert_int_equal(got.p.period, 30);
	assert_int_equal(got.sealed_len, 40);
	assert_memory_equal(got.sealed, row.sealed, 40);
	/* replace */
	row.next = 3;
	row.p.digits = 8;
	assert_int_equal(ta_store_otp_put(f->st, "u", "", &row, 1), TA_OK);
	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_OK);
	assert_int_equal(got.next, 3);
	assert_int_equal(got.p.digits, 8);
	/* forward only; a move back, or none, is a replay and changes nothing */
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", 5), TA_OK);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", 5), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", 4), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_advance(f->st, "nobody", "", 9), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "other", 9), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_OK);
	assert_int_equal(got.next, 5);
	/* lists */
	row.next = 1;
	assert_int_equal(ta_store_otp_put(f->st, "u", "t2", &row, 0), TA_OK);
	assert_int_equal(ta_store_otp_put(f->st, "v", "", &row, 0), TA_OK);
	assert_int_equal(ta_store_otp_list(f->st, NULL, count_otp, &s), TA_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.last, "v//1/40");
	memset(&s, 0, sizeof(s));
	assert_int_equal(ta_store_otp_list(f->st, "u", count_otp, &s), TA_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.last, "u/t2/1/40");
	s.stop_at = 1;
	s.n = 0;
	assert_int_equal(ta_store_otp_list(f->st, NULL, count_otp, &s), TA_ERR_INPUT);
	assert_int_equal(s.n, 1);
	/* delete */
	assert_int_equal(ta_store_otp_delete(f->st, "u", ""), TA_OK);
	assert_int_equal(ta_store_otp_delete(f->st, "u", ""), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_otp_get(f->st, "u", "t2", &got), TA_OK);
}

static void test_otp_bounds(void **state)
{
	const uint64_t top = TA_OTP_COUNTER_MAX, imax = (uint64_t)INT64_MAX;
	struct fx *f = *state;
	struct ta_otp_row row = otp_row(top + 1), got;

	assert_int_equal(ta_store_otp_put(f->st, "u", "", &row, 0), TA_ERR_INPUT);
	row.next = UINT64_MAX;
	assert_int_equal(ta_store_otp_put(f->st, "u", "", &row, 1), TA_ERR_INPUT);
	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_ERR_NOT_FOUND);
	row.next = top;
	assert_int_equal(ta_store_otp_put(f->st, "u", "", &row, 0), TA_OK);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", 0), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", imax + 1), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", UINT64_MAX), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", imax), TA_OK);
	assert_int_equal(ta_store_otp_advance(f->st, "u", "", imax), TA_ERR_REPLAY);
	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_OK);
	assert_true(got.next == imax);
}

/* ---- throttle ------------------------------------------------------------- */

static void test_throttle(void **state)
{
	const int64_t now = 1800000000;
	struct fx *f = *state;
	struct ta_throttle t = {3, 1, now + 60}, got = {9, 9, 9};
	unsigned n = 9;

	assert_int_equal(ta_store_throttle_get(f->st, "u", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	assert_int_equal(got.locked_until, 0);
	assert_int_equal(ta_store_throttle_put(f->st, "u", "", &t, now, 0), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "u", "t", &t, now, 0), TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "u", "", &got), TA_OK);
	assert_int_equal(got.failures, 3);
	assert_int_equal(got.lockouts, 1);
	assert_int_equal(got.locked_until, now + 60);
	t.failures = 4; /* an update */
	assert_int_equal(ta_store_throttle_put(f->st, "u", "", &t, now + 1, 1), TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "u", "", &got), TA_OK);
	assert_int_equal(got.failures, 4);
	/* clear: one tenant, then every tenant */
	assert_int_equal(ta_store_throttle_clear(f->st, "u", "", &n), TA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ta_store_throttle_clear(f->st, "u", "", &n), TA_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ta_store_throttle_put(f->st, "u", "", &t, now, 0), TA_OK);
	assert_int_equal(ta_store_throttle_clear(f->st, "u", NULL, &n), TA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ta_store_throttle_clear(f->st, "u", NULL, NULL), TA_OK);
	/* an unlocked streak idle for a day is forgotten by the next write */
	t = (struct ta_throttle){2, 0, 0};
	assert_int_equal(ta_store_throttle_put(f->st, "old", "", &t, now, 0), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + TA_THROTTLE_IDLE + 1, 0),
	                 TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "old", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
}

static void test_throttle_cap(void **state)
{
	const int64_t now = 1800000000;
	struct fx *f = *state;
	struct ta_throttle locked = {5, 1, now + 3600}, t = {1, 0, 0}, got;
	char name[32];

	ta_store_set_throttle_cap(f->st, 3);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "locked%d", i);
		assert_int_equal(ta_store_throttle_put(f->st, name, "", &locked, now + i, 1),
		                 TA_OK);
	}
	/* every row locked: a capped newcomer is refused and nothing is written */
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + 10, 1), TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_get(f->st, "new", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	/* an existing row may still be updated, and enrolled users always get a row */
	assert_int_equal(ta_store_throttle_put(f->st, "locked0", "", &locked, now + 11, 1), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "enrolled", "", &t, now + 12, 0), TA_OK);
	/* a row whose lock ran out is kept TA_THROTTLE_EVICT_AGE after, doubled
	 * for the one lockout it holds (helper-50 F1, helper-51): still refused
	 * a second before that */
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + 3601, 1), TA_ERR_EXISTS);
	assert_int_equal(
	    ta_store_throttle_put(f->st, "new", "", &t, now + 3599 + 2 * TA_THROTTLE_EVICT_AGE, 1),
	    TA_ERR_EXISTS);
	/* then the one that may go first makes room */
	assert_int_equal(
	    ta_store_throttle_put(f->st, "new", "", &t, now + 3600 + 2 * TA_THROTTLE_EVICT_AGE, 1),
	    TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "new", "", &got), TA_OK);
	assert_int_equal(got.failures, 1);
	/* 0 restores TA_THROTTLE_MAX */
	ta_store_set_throttle_cap(f->st, 0);
	assert_int_equal(ta_store_throttle_put(f->st, "more", "", &locked,
	                                       now + 3602 + 2 * TA_THROTTLE_EVICT_AGE, 1),
	                 TA_OK);
}

/*
 * Made-up names (the capped path) never push out an enrolled user's
 * streak: with a remote backend, failures for invented names until the
 * cap is reached would otherwise erase alice's count before her lockout
 * (outside review of issue 10).  Only unlocked rows of users with no
 * credential here make room.
 */
static void test_throttle_cap_keeps_enrolled(void **state)
{
	const int64_t now = 1800000000, later = now + TA_THROTTLE_EVICT_AGE;
	struct fx *f = *state;
	struct ta_throttle streak = {4, 0, 0}, t = {1, 0, 0},
	                   locked = {0, 1, now + 4 * TA_THROTTLE_EVICT_AGE}, got;
	struct ta_otp_row o = otp_row(1);
	char name[32];

	assert_int_equal(ta_store_otp_put(f->st, "alice", "", &o, 0), TA_OK);
	/* alice's streak is the oldest row */
	assert_int_equal(ta_store_throttle_put(f->st, "alice", "", &streak, now, 0), TA_OK);
	ta_store_set_throttle_cap(f->st, 3);
	for (int i = 0; i < 6; i++) { /* the last three an hour on, when the first may go */
		snprintf(name, sizeof(name), "madeup%d", i);
		assert_int_equal(
		    ta_store_throttle_put(f->st, name, "", &t, (i < 3 ? now : later) + 1 + i, 1),
		    TA_OK);
	}
	assert_int_equal(ta_store_throttle_get(f->st, "alice", "", &got), TA_OK);
	assert_int_equal(got.failures, 4);
	/* the oldest made-up rows made room, the newest stay: the cap counts
	 * made-up rows only (alice's is not one of the 3) */
	assert_int_equal(ta_store_throttle_get(f->st, "madeup2", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	for (int i = 3; i < 6; i++) {
		snprintf(name, sizeof(name), "madeup%d", i);
		assert_int_equal(ta_store_throttle_get(f->st, name, "", &got), TA_OK);
		assert_int_equal(got.failures, 1);
	}
	/* with the one made-up row locked and alice's unlocked, a newcomer is
	 * refused: nothing lost */
	ta_store_set_throttle_cap(f->st, 1);
	assert_int_equal(ta_store_throttle_clear(f->st, "madeup4", "", NULL), TA_OK);
	assert_int_equal(ta_store_throttle_clear(f->st, "madeup5", "", NULL), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "madeup3", "", &locked, later + 19, 1),
	                 TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "newcomer", "", &t, later + 20, 1),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_get(f->st, "alice", "", &got), TA_OK);
	assert_int_equal(got.failures, 4);
	assert_int_equal(ta_store_throttle_get(f->st, "madeup3", "", &got), TA_OK);
	assert_int_equal(got.locked_until, locked.locked_until);
	/* a row is capped as last written: alice's, written as a user not
	 * enrolled here (her credential gone), is given up like a made-up one */
	assert_int_equal(ta_store_throttle_put(f->st, "alice", "", &streak, later + 21, 1), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "newcomer", "", &t, later + 22, 1),
	                 TA_ERR_EXISTS); /* her streak is a second old */
	assert_int_equal(
	    ta_store_throttle_put(f->st, "newcomer", "", &t, later + 21 + TA_THROTTLE_EVICT_AGE, 1),
	    TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "alice", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	ta_store_set_throttle_cap(f->st, 0);
}

/*
 * Which capped row a full table gives up: the one that may go first, a
 * lockout that ran out ranking as a write at its end and each lockout held
 * doubling the wait (schema 6, helper-51); never a locked one.  Many
 * enrolled and locked rows around the ones that can go (outside review of
 * issue 10: each eviction scanned them all).
 */
static void test_throttle_cap_order(void **state)
{
	const int64_t now = 1800000000;
	struct fx *f = *state;
	struct ta_throttle t = {1, 0, 0}, ran_out = {0, 1, now - 10},
	                   locked = {0, 1, now + 4 * TA_THROTTLE_EVICT_AGE}, got;
	char name[32];

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "enrolled%d", i);
		assert_int_equal(ta_store_throttle_put(f->st, name, "", &t, now - 100 + i, 0),
		                 TA_OK);
		snprintf(name, sizeof(name), "locked%d", i);
		assert_int_equal(ta_store_throttle_put(f->st, name, "", &locked, now - 100 + i, 1),
		                 TA_OK);
	}
	/* may go at: written at now-60, unlocked at now-20, one lockout held:
	 * now-20 + 2 * age */
	ran_out.locked_until = now - 20;
	assert_int_equal(ta_store_throttle_put(f->st, "ranout-first", "", &ran_out, now - 60, 1),
	                 TA_OK);
	/* a streak, never locked: now-15 + age */
	assert_int_equal(ta_store_throttle_put(f->st, "streak-old", "", &t, now - 15, 1), TA_OK);
	/* locked until now-10: now-10 + 2 * age, though written before both */
	ran_out.locked_until = now - 10;
	assert_int_equal(ta_store_throttle_put(f->st, "ranout-late", "", &ran_out, now - 70, 1),
	                 TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "streak-new", "", &t, now - 5, 1), TA_OK);
	ta_store_set_throttle_cap(f->st, 44); /* 40 locked, 4 that may go */
	/* none of the 4 may go yet */
	assert_int_equal(
	    ta_store_throttle_put(f->st, "early", "", &t, now - 16 + TA_THROTTLE_EVICT_AGE, 1),
	    TA_ERR_EXISTS);
	static const char *const order[] = {"streak-old", "streak-new", "ranout-first",
	                                    "ranout-late"};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		snprintf(name, sizeof(name), "new%zu", i);
		assert_int_equal(ta_store_throttle_put(f->st, name, "", &locked,
		                                       now + 2 * TA_THROTTLE_EVICT_AGE + (int64_t)i,
		                                       1),
		                 TA_OK);
		assert_int_equal(ta_store_throttle_get(f->st, order[i], "", &got), TA_OK);
		assert_int_equal(got.failures + got.lockouts, 0); /* given up */
		for (size_t j = i + 1; j < sizeof(order) / sizeof(order[0]); j++) {
			assert_int_equal(ta_store_throttle_get(f->st, order[j], "", &got), TA_OK);
			assert_int_not_equal(got.failures + got.lockouts, 0); /* kept */
		}
	}
	/* every capped row locked now: refused, and no enrolled row went */
	assert_int_equal(ta_store_throttle_put(f->st, "refused", "", &t,
	                                       now + 2 * TA_THROTTLE_EVICT_AGE + 10, 1),
	                 TA_ERR_EXISTS);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "enrolled%d", i);
		assert_int_equal(ta_store_throttle_get(f->st, name, "", &got), TA_OK);
		assert_int_equal(got.failures, 1);
	}
	ta_store_set_throttle_cap(f->st, 0);
}

/*
 * Review of schema 5: a user enrolled after their row was written (moved
 * from the remote backend to the store, by any path) is enrolled from then
 * on; the row's flag did not change until their next failure, and in the
 * meantime made-up names could push out their streak.
 */
static void test_throttle_enrolment_uncaps(void **state)
{
	const int64_t now = 1800000000;
	struct fx *f = *state;
	struct ta_throttle streak = {4, 0, 0}, t = {1, 0, 0}, got;
	struct ta_otp_row o = otp_row(1);
	struct ta_token_row tok = token_row("eeeeeeeeeee1", "erin", "");
	uint8_t hash[TA_SHA256_LEN];

	memset(hash, 0x5a, sizeof(hash));
	assert_int_equal(ta_store_throttle_put(f->st, "dave", "", &streak, now, 1), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "erin", "", &streak, now, 1), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "dave", "other", &streak, now, 1), TA_OK);
	assert_int_equal(ta_store_otp_put(f->st, "dave", "", &o, 0), TA_OK);
	assert_int_equal(ta_store_token_insert(f->st, hash, &tok), TA_OK);
	ta_store_set_throttle_cap(f->st, 1);
	/* (dave, other) is the one capped row left: it goes, the others stay */
	assert_int_equal(
	    ta_store_throttle_put(f->st, "madeup1", "", &t, now + 1 + TA_THROTTLE_EVICT_AGE, 1),
	    TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "dave", "other", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	assert_int_equal(
	    ta_store_throttle_put(f->st, "madeup2", "", &t, now + 2 + 2 * TA_THROTTLE_EVICT_AGE, 1),
	    TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "dave", "", &got), TA_OK);
	assert_int_equal(got.failures, 4);
	assert_int_equal(ta_store_throttle_get(f->st, "erin", "", &got), TA_OK);
	assert_int_equal(got.failures, 4);
	ta_store_set_throttle_cap(f->st, 0);
}

/*
 * Review of schema 5: made-up names locked once, whose lockouts have run
 * out, must not outlast a victim's newer streak.  Ranked by lockout end
 * first, every never-locked streak went before them: max_failures - 1
 * guesses on the victim, one new made-up name to wash the streak out, and
 * again, without end.  (Schema 6: junk whose time to go has come goes
 * first; the victim's streak waits its own hour whatever the junk's.)
 */
static void test_throttle_cap_streak_outlasts_old_locks(void **state)
{
	const int64_t now = 1800000000, age = TA_THROTTLE_EVICT_AGE;
	/* one lockout held: may go 2 * age after it ran out, at now - 100 */
	struct ta_throttle ran_out = {0, 1, now - 2 * age - 100}, streak = {2, 0, 0}, t = {1, 0, 0},
	                   got;
	struct fx *f = *state;
	char name[32];

	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "junk%d", i);
		assert_int_equal(
		    ta_store_throttle_put(f->st, name, "", &ran_out, now - 3 * age + i, 1), TA_OK);
	}
	assert_int_equal(ta_store_throttle_put(f->st, "victim", "", &streak, now - 50, 1), TA_OK);
	ta_store_set_throttle_cap(f->st, 6);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "fresh%d", i);
		assert_int_equal(ta_store_throttle_put(f->st, name, "", &t, now + i, 1), TA_OK);
		assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
		assert_int_equal(got.failures, 2); /* the junk went, one by one */
	}
	/* and with the junk gone, the victim's streak is not next: refused */
	assert_int_equal(ta_store_throttle_put(f->st, "fresh5", "", &t, now + 5, 1), TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
	assert_int_equal(got.failures, 2);
	ta_store_set_throttle_cap(f->st, 0);
}

/*
 * helper-50 F1: made-up names kept locked shrink the rows a full table may
 * give up, and a few new names then washed out a remote-only victim's
 * streak at once, as often as wanted (max_failures - 1 guesses, a new
 * name, again).  A row goes only TA_THROTTLE_EVICT_AGE after its last
 * failure or its lockout's end, doubled per lockout it holds: a round of
 * the wash-out costs an hour or more, and before it a newcomer is refused
 * (fail closed).
 */
static void test_throttle_cap_fresh_streak_stays(void **state)
{
	const int64_t now = 1800000000, age = TA_THROTTLE_EVICT_AGE;
	struct fx *f = *state;
	struct ta_throttle held = {0, 1, now + 50 * age}, streak = {2, 0, 0}, t = {1, 0, 0}, got;
	char name[32];

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "held%d", i);
		assert_int_equal(ta_store_throttle_put(f->st, name, "", &held, now - 100 + i, 1),
		                 TA_OK);
	}
	assert_int_equal(ta_store_throttle_put(f->st, "victim", "", &streak, now, 1), TA_OK);
	ta_store_set_throttle_cap(f->st, 21); /* the victim's the one row that may go */
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "wash%d", i);
		assert_int_equal(ta_store_throttle_put(f->st, name, "", &t, now + 1 + i, 1),
		                 TA_ERR_EXISTS);
	}
	assert_int_equal(ta_store_throttle_put(f->st, "wash", "", &t, now + age - 1, 1),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
	assert_int_equal(got.failures, 2);
	/* each failure starts the hour again */
	streak.failures = 3;
	assert_int_equal(ta_store_throttle_put(f->st, "victim", "", &streak, now + age - 1, 1),
	                 TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "wash", "", &t, now + age, 1), TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_put(f->st, "wash", "", &t, now + 2 * age - 2, 1),
	                 TA_ERR_EXISTS);
	/* an hour after its last failure the streak may go */
	assert_int_equal(ta_store_throttle_put(f->st, "wash", "", &t, now + 2 * age - 1, 1), TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	for (int i = 0; i < 20; i++) { /* and the held ones stayed */
		snprintf(name, sizeof(name), "held%d", i);
		assert_int_equal(ta_store_throttle_get(f->st, name, "", &got), TA_OK);
		assert_int_equal(got.lockouts, 1);
	}
	/* helper-51: the attacker locks the victim j times in a round before
	 * the wash-out (5j + 4 guesses), and the wash-out reset the doubling:
	 * 12.7 guesses an hour at j = 3.  Each lockout held doubles the wait
	 * (at most a day, when the row is forgotten anyway) */
	const int64_t t0 = now + 3 * age, end = t0 + 300;
	assert_int_equal(ta_store_throttle_clear(f->st, "wash", "", NULL), TA_OK);
	for (unsigned l = 1; l <= 4; l++) {
		const int64_t wait = age << l;
		struct ta_throttle v = {4, l, end};
		assert_int_equal(ta_store_throttle_put(f->st, "victim", "", &v, t0, 1), TA_OK);
		assert_int_equal(ta_store_throttle_put(f->st, "wash", "", &t, end + wait - 1, 1),
		                 TA_ERR_EXISTS);
		assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
		assert_int_equal(got.lockouts, l);
		assert_int_equal(ta_store_throttle_put(f->st, "wash", "", &t, end + wait, 1),
		                 TA_OK);
		assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
		assert_int_equal(got.lockouts, 0);
		assert_int_equal(ta_store_throttle_clear(f->st, "wash", "", NULL), TA_OK);
	}
	ta_store_set_throttle_cap(f->st, 0);
}

/*
 * helper-53 F1: schema 6 counted the doubled wait from a row's last write,
 * locked or not, so after 25 failures (five lockouts) one failure a day
 * kept a made-up name's row for good, and 100,000 of them a full table
 * full: every remote-only user with no row refused every code.  Schema 7
 * counts the doubling from the lockout's end only; a failure that locks
 * nothing adds the plain hour from itself.
 */
static void test_throttle_cap_doubling_from_lock_end(void **state)
{
	const int64_t now = 1800000000, age = TA_THROTTLE_EVICT_AGE, day = TA_THROTTLE_IDLE;
	struct fx *f = *state;
	/* five lockouts, the last over two days ago; a failure a moment ago */
	struct ta_throttle kept = {1, 5, now - 2 * day}, streak = {1, 0, 0}, t = {1, 0, 0}, got;

	assert_int_equal(ta_store_throttle_put(f->st, "kept", "", &kept, now, 1), TA_OK);
	ta_store_set_throttle_cap(f->st, 1);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + age - 1, 1),
	                 TA_ERR_EXISTS);
	/* an hour after that failure it may go (schema 6: a day after it) */
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + age, 1), TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "kept", "", &got), TA_OK);
	assert_int_equal(got.lockouts, 0);
	assert_int_equal(ta_store_throttle_clear(f->st, "new", "", NULL), TA_OK);

	/* the doubling still holds from the lockout's end: three lockouts, the
	 * last ending at now + 300, a failure after it; the row waits 8 hours
	 * from the end, not an hour from the failure */
	const int64_t end = now + 300;
	struct ta_throttle v = {1, 3, end};
	assert_int_equal(ta_store_throttle_put(f->st, "victim", "", &v, end + 10, 1), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, end + 10 + age, 1),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, end + 8 * age - 1, 1),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
	assert_int_equal(got.lockouts, 3);
	/* and a failure late in the wait still adds its own hour */
	assert_int_equal(ta_store_throttle_put(f->st, "victim", "", &v, end + 8 * age - 5, 1),
	                 TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, end + 9 * age - 6, 1),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, end + 9 * age - 5, 1), TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "victim", "", &got), TA_OK);
	assert_int_equal(got.lockouts, 0);
	/* a streak never locked: the hour from its last failure, as before */
	assert_int_equal(ta_store_throttle_put(f->st, "streak", "", &streak, now + 4 * day, 1),
	                 TA_OK); /* took new's place (new's hour was up) */
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + 4 * day + age - 1, 1),
	                 TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + 4 * day + age, 1),
	                 TA_OK);
	ta_store_set_throttle_cap(f->st, 0);
}

/*
 * helper-54 F1: a streak idle a day, its lockout over, is forgotten (the
 * sweep), and so no longer held at the cap, whatever its eviction rank
 * says: a row locked for a day from its last failure may go when the lock
 * ends.  SQLite swept before the cap's check, PostgreSQL only after a
 * write, so a full PostgreSQL table kept such rows up to a day longer.
 */
static void test_throttle_cap_idle_swept(void **state)
{
	const int64_t now = 1800000000, day = TA_THROTTLE_IDLE;
	struct fx *f = *state;
	struct ta_throttle held = {0, 9, now + day}, t = {1, 0, 0}, got;

	assert_int_equal(ta_store_throttle_put(f->st, "held", "", &held, now, 1), TA_OK);
	ta_store_set_throttle_cap(f->st, 1);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + day - 1, 1),
	                 TA_ERR_EXISTS); /* locked */
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + day, 1),
	                 TA_ERR_EXISTS); /* not yet idle a day */
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now + day + 1, 1), TA_OK);
	assert_int_equal(ta_store_throttle_get(f->st, "held", "", &got), TA_OK);
	assert_int_equal(got.lockouts, 0);
	assert_int_equal(ta_store_throttle_get(f->st, "new", "", &got), TA_OK);
	assert_int_equal(got.failures, 1);
	ta_store_set_throttle_cap(f->st, 0);
}

/*
 * helper-53 F4: a time near 2^63 made PostgreSQL's eviction rank overflow
 * ("bigint out of range"), and a negative lockout count shifted by a
 * negative amount, which the engines read differently.  Rows hold counts
 * of 0..INT32_MAX and times of 0..TA_STORE_TIME_MAX, and the rank of the
 * largest is computed in both engines.
 */
static void test_throttle_bounds(void **state)
{
	const int64_t now = 1800000000;
	struct fx *f = *state;
	struct ta_throttle far = {0, 1, TA_STORE_TIME_MAX}, t = {1, 0, 0}, got;
	struct ta_throttle_row row = {{0, 0, 0}, now, 1};

	/* out of range: refused, nothing written */
	const struct ta_throttle bad[] = {{0, 1, TA_STORE_TIME_MAX + 1},
	                                  {0, 1, -1},
	                                  {0, 1, INT64_MAX},
	                                  {0, (unsigned)INT32_MAX + 1, 0},
	                                  {(unsigned)INT32_MAX + 1, 0, 0}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ta_store_throttle_put(f->st, "odd", "", &bad[i], now, 1),
		                 TA_ERR_INPUT);
		row.t = bad[i];
		assert_int_equal(ta_store_throttle_row_put(f->st, "odd", "", &row, 1),
		                 TA_ERR_INPUT);
	}
	assert_int_equal(ta_store_throttle_put(f->st, "odd", "", &t, -1, 1), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_put(f->st, "odd", "", &t, TA_STORE_TIME_MAX + 1, 1),
	                 TA_ERR_INPUT);
	row.t = t;
	row.updated = -1;
	assert_int_equal(ta_store_throttle_row_put(f->st, "odd", "", &row, 1), TA_ERR_INPUT);
	row.updated = now;
	row.capped = 2;
	assert_int_equal(ta_store_throttle_row_put(f->st, "odd", "", &row, 1), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_get(f->st, "odd", "", &got), TA_OK);
	assert_int_equal(got.failures + got.lockouts, 0);
	/* the largest: stored, ranked and kept (locked until 9999) */
	far.lockouts = INT32_MAX;
	assert_int_equal(ta_store_throttle_put(f->st, "far", "", &far, TA_STORE_TIME_MAX, 1),
	                 TA_OK);
	ta_store_set_throttle_cap(f->st, 1);
	assert_int_equal(ta_store_throttle_put(f->st, "new", "", &t, now, 1), TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_get(f->st, "far", "", &got), TA_OK);
	assert_int_equal(got.locked_until, TA_STORE_TIME_MAX);
	assert_int_equal(got.lockouts, INT32_MAX);
	ta_store_set_throttle_cap(f->st, 0);
}

/* ---- transactions --------------------------------------------------------- */

static void test_transactions(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row row = otp_row(1), got;

	/* commit and rollback without begin are no-ops */
	assert_int_equal(ta_store_commit(f->st), TA_OK);
	ta_store_rollback(f->st);
	ta_store_rollback(NULL);
	assert_int_equal(ta_store_begin(f->st), TA_OK);
	assert_int_equal(ta_store_otp_put(f->st, "gone", "", &row, 0), TA_OK);
	ta_store_rollback(f->st);
	assert_int_equal(ta_store_otp_get(f->st, "gone", "", &got), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_begin(f->st), TA_OK);
	assert_int_equal(ta_store_otp_put(f->st, "kept", "", &row, 0), TA_OK);
	assert_int_equal(ta_store_otp_advance(f->st, "kept", "", 2), TA_OK);
	assert_int_equal(ta_store_commit(f->st), TA_OK);
	assert_int_equal(ta_store_otp_get(f->st, "kept", "", &got), TA_OK);
	assert_int_equal(got.next, 2);
	assert_int_equal(ta_store_commit(f->st), TA_OK); /* again: nothing open */
	assert_int_equal(ta_store_schema(f->st), TA_STORE_SCHEMA);
}

/*
 * A session the server ended while the handle was idle (the server
 * restarted, an administrator ended it): the next call runs on a new one,
 * it does not fail once with UNAVAILABLE while the server is up.
 */
static void test_session_lost(void **state)
{
	struct fx *f = *state;
	struct ta_throttle t = {1, 0, 0}, got;
	uint8_t hash[TA_SHA256_LEN];
	struct ta_token_row row;

	if (engine->sever == NULL)
		skip();
	assert_int_equal(ta_store_throttle_put(f->st, "u", "", &t, 1, 0), TA_OK);
	engine->sever();
	assert_int_equal(ta_store_throttle_get(f->st, "u", "", &got), TA_OK);
	assert_int_equal(got.failures, 1);
	/* and a write, the first call after it */
	engine->sever();
	row = token_row("abc123", "u", "");
	hash_of("tka_session_lost", hash);
	assert_int_equal(ta_store_token_insert(f->st, hash, &row), TA_OK);
}

/* ---- bad inputs next to good ones ----------------------------------------- */

static int never(void *arg, const struct ta_token_row *row)
{
	(void)arg;
	(void)row;
	return TA_OK;
}

static void test_bad_inputs(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row row = otp_row(1), got;
	struct ta_throttle t = {1, 0, 0};
	struct ta_token_row tok = token_row("ccccccccccc1", "x", "");
	char user[TA_MAX_USER + 2], tenant[TA_MAX_TENANT + 2];
	uint8_t h[TA_SHA256_LEN];
	int has = 0;

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0'; /* TA_MAX_USER + 1 bytes: one too many */
	memset(tenant, 't', sizeof(tenant) - 1);
	tenant[sizeof(tenant) - 1] = '\0';
	assert_int_equal(ta_store_otp_put(f->st, user, "", &row, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_otp_put(f->st, "u", tenant, &row, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_has_credential(f->st, user, "", &has), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_put(f->st, "u", tenant, &t, 1, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_get(f->st, user, "", &t), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_list(f->st, user, never, NULL), TA_ERR_INPUT);
	/* exactly at the limits is fine */
	user[TA_MAX_USER] = '\0';
	tenant[TA_MAX_TENANT] = '\0';
	assert_int_equal(ta_store_otp_put(f->st, user, tenant, &row, 0), TA_OK);
	assert_int_equal(ta_store_otp_get(f->st, user, tenant, &got), TA_OK);
	assert_int_equal(ta_store_has_credential(f->st, user, tenant, &has), TA_OK);
	assert_int_equal(has, 1);
	/* NULL where refused, next to where it means "all" */
	assert_int_equal(ta_store_otp_get(f->st, NULL, "", &got), TA_ERR_INPUT);
	assert_int_equal(ta_store_otp_get(f->st, "u", NULL, &got), TA_ERR_INPUT);
	assert_int_equal(ta_store_otp_advance(f->st, "u", NULL, 5), TA_ERR_INPUT);
	assert_int_equal(ta_store_otp_delete(f->st, NULL, ""), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_put(f->st, "u", NULL, &t, 1, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_clear(f->st, NULL, NULL, NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_clear(f->st, "u", NULL, NULL), TA_OK);
	assert_int_equal(ta_store_token_revoke_user(f->st, NULL, NULL, 1, NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_revoke_user(f->st, "u", NULL, 1, NULL), TA_OK);
	assert_int_equal(ta_store_token_revoke_id(f->st, NULL, 1), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_revoke_id(f->st, "0123456789abcdef0", 1), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_list(f->st, NULL, NULL, NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_otp_list(f->st, NULL, NULL, NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_list(NULL, NULL, never, NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_has_credential(f->st, "u", "", NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_begin(NULL), TA_ERR_INPUT);
	assert_string_equal(ta_store_errmsg(NULL), "no store");
	/* rows: no sealed secret, or an impossible length */
	row.sealed_len = 0;
	assert_int_equal(ta_store_otp_put(f->st, "z", "", &row, 0), TA_ERR_INPUT);
	row.sealed_len = sizeof(row.sealed) + 1;
	assert_int_equal(ta_store_otp_put(f->st, "z", "", &row, 0), TA_ERR_INPUT);
	hash_of("bad-inputs", h);
	assert_int_equal(ta_store_token_insert(f->st, NULL, &tok), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_insert(f->st, h, NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_find(f->st, NULL, 0, &tok), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_insert(f->st, h, &tok), TA_OK);
	/* and nothing of the refused ones was written */
	assert_int_equal(ta_store_otp_get(f->st, "z", "", &got), TA_ERR_NOT_FOUND);
}

/* ---- the copy path (tokenauth store copy) ------------------------------------ */

/* Run SQL on the store behind the API (a damaged or hostile row). */
static void raw_exec(struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;

	if (strcmp(engine->name, "postgresql") == 0) {
		pg_exec(sql);
		return;
	}
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

struct dump {
	int n;
	uint8_t hash[TA_SHA256_LEN];
	struct ta_token_row row;
	char user[TA_MAX_USER + 1];
	struct ta_throttle_row thr;
};

static int dump_token(void *arg, const uint8_t hash[TA_SHA256_LEN], const struct ta_token_row *row)
{
	struct dump *d = arg;

	memcpy(d->hash, hash, TA_SHA256_LEN);
	d->row = *row;
	d->row.params = NULL;
	d->n++;
	return TA_OK;
}

static int dump_throttle(void *arg, const char *user, const char *tenant,
                         const struct ta_throttle_row *t)
{
	struct dump *d = arg;

	(void)tenant;
	snprintf(d->user, sizeof(d->user), "%s", user);
	d->thr = *t;
	d->n++;
	return TA_OK;
}

static void test_copy_tokens(void **state)
{
	struct fx *f = *state;
	struct ta_token_row row = token_row("ddddddddddd1", "alice", "t"), got;
	struct ta_store_count n;
	struct dump d;
	uint8_t h1[TA_SHA256_LEN], h2[TA_SHA256_LEN];

	hash_of("copy-one", h1);
	hash_of("copy-two", h2);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
	assert_true(n.tokens == 0 && n.otp == 0 && n.throttle == 0);
	/* every column as given, the revocation time too */
	row.revoked = 4242;
	row.expires = 9999;
	row.kind = TA_TOKEN_KIND_IMPORTED;
	row.params = "{\"k\":\"v\"}";
	snprintf(row.label, sizeof(row.label), "%s", "phone <mail>");
	row.last_used = 5555;
	assert_int_equal(ta_store_token_put(f->st, h1, &row, 0), TA_OK);
	assert_int_equal(ta_store_token_find(f->st, h1, 1, &got), TA_OK);
	assert_int_equal(got.revoked, 4242);
	assert_int_equal(got.expires, 9999);
	assert_int_equal(got.kind, TA_TOKEN_KIND_IMPORTED);
	assert_string_equal(got.params, "{\"k\":\"v\"}");
	assert_string_equal(got.label, "phone <mail>"); /* schema 4 columns travel too */
	assert_int_equal(got.last_used, 5555);
	free(got.params);
	/* the same hash, or the same id: refused without replace, replaced with it */
	assert_int_equal(ta_store_token_put(f->st, h1, &row, 0), TA_ERR_EXISTS);
	row.params = NULL;
	row.revoked = 0;
	row.created = 7;
	assert_int_equal(ta_store_token_put(f->st, h2, &row, 0), TA_ERR_EXISTS);
	assert_int_equal(ta_store_token_put(f->st, h2, &row, 1), TA_OK); /* same id, new hash */
	assert_int_equal(ta_store_token_find(f->st, h1, 0, &got), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_token_find(f->st, h2, 1, &got), TA_OK);
	assert_int_equal(got.created, 7);
	assert_null(got.params);
	/* the dump carries the hash */
	memset(&d, 0, sizeof(d));
	assert_int_equal(ta_store_token_dump(f->st, dump_token, &d), TA_OK);
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.hash, h2, TA_SHA256_LEN);
	assert_string_equal(d.row.id, "ddddddddddd1");
	assert_string_equal(d.row.label, "phone <mail>");
	assert_int_equal(d.row.last_used, 5555);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
	assert_int_equal(n.tokens, 1);
	/* bad inputs, as token_insert */
	assert_int_equal(ta_store_token_put(f->st, NULL, &row, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_put(f->st, h1, NULL, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_token_dump(f->st, NULL, NULL), TA_ERR_INPUT);
	assert_int_equal(ta_store_count_rows(f->st, NULL), TA_ERR_INPUT);
	/* a row our records cannot hold whole is damage, never cut short */
	raw_exec(f, "UPDATE tokens SET \"user\"='"
	            "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
	            "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
	            "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu'");
	memset(&d, 0, sizeof(d));
	assert_int_equal(ta_store_token_dump(f->st, dump_token, &d), TA_ERR_CORRUPT);
	assert_int_equal(d.n, 0);
}

static void test_copy_otp_throttle(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row row = otp_row((uint64_t)INT64_MAX), got;
	struct ta_throttle_row t = {{5, 2, 1900000000}, 1800000000, 0}, t2;
	struct ta_store_count n;
	struct dump d;

	/* an advanced counter past TA_OTP_COUNTER_MAX is kept; past INT64_MAX refused */
	assert_int_equal(ta_store_otp_copy(f->st, "u", "", &row, 0), TA_OK);
	assert_int_equal(ta_store_otp_copy(f->st, "u", "", &row, 0), TA_ERR_EXISTS);
	assert_int_equal(ta_store_otp_get(f->st, "u", "", &got), TA_OK);
	assert_true(got.next == (uint64_t)INT64_MAX);
	assert_memory_equal(got.sealed, row.sealed, row.sealed_len);
	row.next = (uint64_t)INT64_MAX + 1;
	assert_int_equal(ta_store_otp_copy(f->st, "v", "", &row, 0), TA_ERR_INPUT);
	/* throttle rows as given: no expiry (updated is long past), no cap */
	ta_store_set_throttle_cap(f->st, 1);
	assert_int_equal(ta_store_throttle_row_put(f->st, "u", "", &t, 0), TA_OK);
	t2 = t;
	t2.updated = 5;
	t2.t.locked_until = 0;
	t2.capped = 1;
	assert_int_equal(ta_store_throttle_row_put(f->st, "w", "x", &t2, 0), TA_OK);
	assert_int_equal(ta_store_throttle_row_put(f->st, "w", "x", &t2, 0), TA_ERR_EXISTS);
	t2.t.failures = 1;
	assert_int_equal(ta_store_throttle_row_put(f->st, "w", "x", &t2, 1), TA_OK);
	memset(&d, 0, sizeof(d));
	assert_int_equal(ta_store_throttle_dump(f->st, dump_throttle, &d), TA_OK);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.user, "w"); /* ordered by user */
	assert_int_equal(d.thr.t.failures, 1);
	assert_int_equal(d.thr.updated, 5);
	assert_int_equal(d.thr.capped, 1); /* as given */
	{
		struct ta_throttle g;
		assert_int_equal(ta_store_throttle_get(f->st, "u", "", &g), TA_OK);
		assert_int_equal(g.failures, 5);
		assert_int_equal(g.lockouts, 2);
		assert_int_equal(g.locked_until, 1900000000);
	}
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
	assert_true(n.tokens == 0 && n.otp == 1 && n.throttle == 2);
	assert_int_equal(ta_store_throttle_row_put(f->st, "u", NULL, &t, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_row_put(f->st, "u", "", NULL, 0), TA_ERR_INPUT);
	assert_int_equal(ta_store_throttle_dump(f->st, NULL, NULL), TA_ERR_INPUT);
}

/* A read transaction sees one snapshot: another handle's commit stays unseen. */
static void test_copy_snapshot(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row row = otp_row(1);
	struct ta_store_count n;
	ta_store *other = NULL;
	char err[512];

	assert_int_equal(ta_store_otp_put(f->st, "before", "", &row, 0), TA_OK);
	assert_int_equal(ta_store_begin_read(f->st), TA_OK);
	assert_int_equal(ta_store_open(f->path, 0, &other, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_store_otp_put(other, "after", "", &row, 0), TA_OK);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
	assert_int_equal(n.otp, 1);
	ta_store_rollback(f->st);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
	assert_int_equal(n.otp, 2);
	ta_store_close(other);
	assert_int_equal(ta_store_begin_read(NULL), TA_ERR_INPUT);
}

/*
 * A copy's source snapshot may idle past the 5 s idle-in-transaction limit
 * while the destination is written (a database engine's only; SQLite has
 * no such limit).
 */
static void test_copy_snapshot_idles(void **state)
{
	struct fx *f = *state;
	struct ta_store_count n;

	if (engine->files)
		skip();
	assert_int_equal(ta_store_begin_read(f->st), TA_OK);
	sleep(6);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
	ta_store_rollback(f->st);
	/* a write transaction keeps the limit */
	assert_int_equal(ta_store_begin(f->st), TA_OK);
	sleep(6);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_ERR_UNAVAILABLE);
	ta_store_rollback(f->st);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
}

/* One store by identity, by name or through a link; a missing one is no twin. */
static void test_copy_same(void **state)
{
	struct fx *f = *state;
	char err[512], link[200], missing[200], other[200];
	int same = 7;

	if (!engine->files)
		skip();
	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	snprintf(missing, sizeof(missing), "%s/missing.db", f->dir);
	snprintf(other, sizeof(other), "%s/db/../db/store.db", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(ta_store_same(f->path, f->path, &same, err, sizeof(err)), TA_OK);
	assert_int_equal(same, 1);
	assert_int_equal(ta_store_same(f->path, other, &same, err, sizeof(err)), TA_OK);
	assert_int_equal(same, 1);
	assert_int_equal(ta_store_same(link, f->path, &same, err, sizeof(err)), TA_OK);
	assert_int_equal(same, 1);
	assert_int_equal(ta_store_same(f->path, missing, &same, err, sizeof(err)), TA_OK);
	assert_int_equal(same, 0);
	assert_int_equal(ta_store_same(f->path, "postgresql:/x", &same, err, sizeof(err)), TA_OK);
	assert_int_equal(same, 0);
	assert_int_equal(ta_store_same(NULL, f->path, &same, err, sizeof(err)), TA_ERR_INPUT);
}

/* ---- the pool --------------------------------------------------------------- */

static void test_pool_reuse(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row row = otp_row(1), got;
	ta_store *a = NULL, *b = NULL, *c = NULL;
	char err[512];

	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_store_open_shared(f->path, &b, err, sizeof(err)), TA_OK);
	assert_ptr_not_equal(a, b); /* handed out exclusively */
	ta_store_set_throttle_cap(a, 1);
	/* a transaction left open is rolled back on release, never kept */
	assert_int_equal(ta_store_begin(a), TA_OK);
	assert_int_equal(ta_store_otp_put(a, "uncommitted", "", &row, 0), TA_OK);
	ta_store_release(a);
	assert_int_equal(ta_store_open_shared(f->path, &c, err, sizeof(err)), TA_OK);
	assert_ptr_equal(c, a); /* the same handle, reused */
	assert_int_equal(ta_store_otp_get(c, "uncommitted", "", &got), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_begin(c), TA_OK); /* no transaction left over */
	ta_store_rollback(c);
	{ /* the cap is back to TA_THROTTLE_MAX */
		struct ta_throttle t = {1, 0, 0};
		assert_int_equal(ta_store_throttle_put(c, "a", "", &t, 1, 1), TA_OK);
		assert_int_equal(ta_store_throttle_put(c, "b", "", &t, 1, 1), TA_OK);
	}
	ta_store_release(c);
	ta_store_release(b);
	ta_store_release(NULL);
	/* more releases than the pool keeps: the rest are closed */
	{
		ta_store *many[12];
		for (int i = 0; i < 12; i++)
			assert_int_equal(ta_store_open_shared(f->path, &many[i], err, sizeof(err)),
			                 TA_OK);
		for (int i = 0; i < 12; i++)
			ta_store_release(many[i]);
	}
}

/* Fold a SQLite store's WAL into its file, so the file alone holds its rows. */
static void checkpoint(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
}

static void test_pool_replaced_file(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row row = otp_row(1), got;
	ta_store *a = NULL, *other = NULL;
	char err[512], path2[200];

	if (strcmp(engine->name, "sqlite") != 0)
		skip();
	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
	ta_store_release(a);
	/* another store, with a row the first lacks, renamed over the path */
	snprintf(path2, sizeof(path2), "%s/db/other.db", f->dir);
	assert_int_equal(ta_store_open(path2, 1, &other, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_store_otp_put(other, "only-in-other", "", &row, 0), TA_OK);
	ta_store_close(other);
	checkpoint(path2); /* a SQLite file renamed without its WAL */
	checkpoint(f->path);
	assert_int_equal(rename(path2, f->path), 0);
	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_store_otp_get(a, "only-in-other", "", &got), TA_OK);
	ta_store_release(a);
	/* gone altogether: like a fresh open */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_ERR_NOT_FOUND);
	assert_null(a);
}

/* Reuse answers every mode exactly as a fresh open does. */
static void test_pool_mode_checks(void **state)
{
	static const mode_t modes[] = {0644, 0640, 0620, 0602, 0600};
	struct fx *f = *state;
	ta_store *a = NULL, *fresh = NULL;
	char err[512], err2[512];

	if (!engine->files)
		skip();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		int want, got;
		assert_int_equal(chmod(f->path, 0600), 0);
		assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
		ta_store_release(a);
		a = NULL;
		assert_int_equal(chmod(f->path, modes[i]), 0);
		want = ta_store_open(f->path, 0, &fresh, err2, sizeof(err2));
		ta_store_close(fresh);
		fresh = NULL;
		got = ta_store_open_shared(f->path, &a, err, sizeof(err));
		assert_int_equal(got, want);
		if (want != TA_OK)
			assert_string_equal(err, err2);
		ta_store_release(a);
		a = NULL;
	}
	/* group or others may never write it */
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
	ta_store_release(a);
	assert_int_equal(chmod(f->path, 0620), 0);
	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "writable by group or others"));
	/* and the folder is checked on every reuse too */
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
	ta_store_release(a);
	{
		char dbdir[128];
		snprintf(dbdir, sizeof(dbdir), "%s/db", f->dir);
		assert_int_equal(chmod(dbdir, 0777), 0);
		assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)),
		                 TA_ERR_INSECURE);
		assert_non_null(strstr(err, "folder"));
		assert_int_equal(chmod(dbdir, 0700), 0);
	}
}

/*
 * helper-53 F3: a copy's source is opened read-only.  It reads what the
 * store holds, refuses every write (nothing of it changes, not even in
 * SQLite's journal mode), and an older schema is refused, not migrated.
 */
static void test_open_readonly(void **state)
{
	struct fx *f = *state;
	struct ta_otp_row o = otp_row(1), got;
	struct ta_throttle t = {1, 0, 0};
	ta_store *ro = NULL;
	char err[512];

	assert_int_equal(ta_store_otp_put(f->st, "alice", "", &o, 0), TA_OK);
	assert_int_equal(ta_store_open(f->path, TA_STORE_OPEN_READONLY, &ro, err, sizeof(err)),
	                 TA_OK);
	assert_int_equal(ta_store_otp_get(ro, "alice", "", &got), TA_OK);
	assert_int_not_equal(ta_store_otp_put(ro, "bob", "", &o, 0), TA_OK);
	assert_int_not_equal(ta_store_throttle_put(ro, "bob", "", &t, 1800000000, 1), TA_OK);
	ta_store_rollback(ro);
	ta_store_close(ro);
	assert_int_equal(ta_store_otp_get(f->st, "bob", "", &got), TA_ERR_NOT_FOUND);
	if (strcmp(engine->name, "postgresql") == 0) {
		pg_exec("UPDATE tokenauth_schema SET version=4");
	} else {
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=4", NULL, NULL, NULL),
		                 SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(ta_store_open(f->path, TA_STORE_OPEN_READONLY, &ro, err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_non_null(strstr(err, "older"));
	assert_null(ro);
}

/* A newer program upgraded the store while a handle sat in the pool. */
static void test_pool_newer_schema(void **state)
{
	struct fx *f = *state;
	ta_store *a = NULL;
	sqlite3 *db = NULL;
	char err[512];

	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
	ta_store_release(a);
	if (strcmp(engine->name, "postgresql") == 0) {
		pg_exec("UPDATE tokenauth_schema SET version=99");
	} else {
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL),
		                 SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_ERR_CORRUPT);
	assert_non_null(strstr(err, "newer"));
	/* and a fresh open refuses it too */
	assert_int_equal(ta_store_open(f->path, 0, &a, err, sizeof(err)), TA_ERR_CORRUPT);
	assert_non_null(strstr(err, "newer"));
}

static void test_pool_fork(void **state)
{
	struct fx *f = *state;
	ta_store *a = NULL, *again = NULL;
	char err[512];
	int status = 0;
	pid_t pid;

	assert_int_equal(ta_store_open_shared(f->path, &a, err, sizeof(err)), TA_OK);
	ta_store_release(a);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ta_store *c = NULL;
		struct ta_throttle t = {1, 0, 0};
		int ok = ta_store_open_shared(f->path, &c, err, sizeof(err)) == TA_OK && c != a &&
		         ta_store_throttle_put(c, "child", "", &t, 1, 0) == TA_OK;
		ta_store_release(c);
		_exit(ok ? 0 : 1); /* the parent's handles are left as they are */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the parent still has its own, and sees the child's write */
	assert_int_equal(ta_store_open_shared(f->path, &again, err, sizeof(err)), TA_OK);
	assert_ptr_equal(again, a);
	{
		struct ta_throttle t;
		assert_int_equal(ta_store_throttle_get(again, "child", "", &t), TA_OK);
		assert_int_equal(t.failures, 1);
	}
	/* a handle the child took from before the fork is forgotten, not pooled */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		ta_store *c = NULL;
		ta_store_release(again);
		_exit(ta_store_open_shared(f->path, &c, err, sizeof(err)) == TA_OK && c != again
		          ? 0
		          : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ta_store_release(again);
}

/* ---- the user's lock ------------------------------------------------------ */

/* A lock to take: user NULL is ta_store_begin (the store's). */
struct lockname {
	const char *user, *tenant;
};

struct waiter {
	ta_store *st;
	struct lockname l;
	int r;
	double secs;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int begin_as(ta_store *st, struct lockname l)
{
	return l.user ? ta_store_begin_user(st, l.user, l.tenant) : ta_store_begin(st);
}

static void *wait_begin(void *arg)
{
	struct waiter *w = arg;
	double t0 = mono();

	if ((w->r = begin_as(w->st, w->l)) == TA_OK)
		w->r = ta_store_commit(w->st);
	w->secs = mono() - t0;
	return NULL;
}

/*
 * held by one session, then asked for by another: a lock that is not the
 * same is granted at once (a wait would end in lock_timeout, 5 s, and
 * UNAVAILABLE); one that is the same waits until the holder commits.
 */
static void lock_pair(ta_store *a, ta_store *b, struct lockname held, struct lockname asked,
                      int same)
{
	struct waiter w = {b, asked, -1, 0};
	pthread_t th;

	assert_int_equal(begin_as(a, held), TA_OK);
	if (!same) {
		wait_begin(&w);
		ta_store_commit(a);
		assert_int_equal(w.r, TA_OK);
		assert_true(w.secs < 4.0);
		return;
	}
	assert_int_equal(pthread_create(&th, NULL, wait_begin, &w), 0);
	usleep(400000);
	assert_int_equal(ta_store_commit(a), TA_OK);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.r, TA_OK);
	assert_true(w.secs >= 0.3); /* it waited for the commit */
}

static void test_user_locks(void **state)
{
	struct fx *f = *state;
	const struct lockname ab_c = {"ab", "c"}, a_bc = {"a", "bc"}, alice = {"alice", ""},
	                      bob = {"bob", ""}, alice_t = {"alice", "t"}, store = {NULL, NULL};
	struct ta_throttle t = {1, 0, 0}, got;
	ta_store *b = NULL;
	char err[512];

	assert_int_equal(ta_store_begin_user(f->st, "alice", NULL), TA_ERR_INPUT);
	/* a transaction of the user's writes and rolls back as any other */
	assert_int_equal(ta_store_begin_user(f->st, "alice", ""), TA_OK);
	assert_int_equal(ta_store_throttle_put(f->st, "alice", "", &t, 1, 0), TA_OK);
	ta_store_rollback(f->st);
	assert_int_equal(ta_store_throttle_get(f->st, "alice", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	if (engine->files)
		skip(); /* SQLite: one writer at a time, whoever it writes for */
	assert_int_equal(ta_store_open(f->path, 0, &b, err, sizeof(err)), TA_OK);
	lock_pair(f->st, b, alice, bob, 0);
	lock_pair(f->st, b, ab_c, a_bc, 0); /* the names are length-prefixed */
	lock_pair(f->st, b, alice, alice_t, 0);
	lock_pair(f->st, b, alice, alice, 1);
	lock_pair(f->st, b, ab_c, ab_c, 1);
	/* the store's lock (migration, copy, import) waits for every user's,
	 * and every user's for it */
	lock_pair(f->st, b, alice, store, 1);
	lock_pair(f->st, b, store, bob, 1);
	ta_store_close(b);
}

/* ---- schema 4: labels, coarse last use, portal sessions ------------------- */

static int label_of(void *arg, const struct ta_token_row *row)
{
	snprintf(arg, 128, "%s|%lld", row->label, (long long)row->last_used);
	return 0;
}

static void test_label_last_used(void **state)
{
	struct fx *f = *state;
	struct ta_token_row row = token_row("aaaaaaaaaaa1", "alice", ""), got;
	uint8_t h[TA_SHA256_LEN];
	char seen[128] = "";

	hash_of("token-one", h);
	snprintf(row.label, sizeof(row.label), "%s", "<b>laptop</b> \"mail\"");
	assert_int_equal(ta_store_token_insert(f->st, h, &row), TA_OK);
	assert_int_equal(ta_store_token_find(f->st, h, 0, &got), TA_OK);
	assert_string_equal(got.label, "<b>laptop</b> \"mail\"");
	assert_int_equal(got.last_used, 0);
	/* the first use writes; another within the hour writes nothing */
	assert_int_equal(ta_store_token_touch(f->st, "aaaaaaaaaaa1", 10000), TA_OK);
	assert_int_equal(ta_store_token_touch(f->st, "aaaaaaaaaaa1", 10000 + TA_LAST_USED_STEP - 1),
	                 TA_OK);
	assert_int_equal(ta_store_token_find(f->st, h, 0, &got), TA_OK);
	assert_int_equal(got.last_used, 10000);
	assert_int_equal(ta_store_token_touch(f->st, "aaaaaaaaaaa1", 10000 + TA_LAST_USED_STEP), TA_OK);
	assert_int_equal(ta_store_token_list(f->st, "alice", label_of, seen), TA_OK);
	assert_string_equal(seen, "<b>laptop</b> \"mail\"|13600");
	/* a label longer than TA_MAX_LABEL (the grammar is the admin layer's) */
	row = token_row("aaaaaaaaaaa2", "alice", "");
	memset(row.label, 'x', sizeof(row.label)); /* no NUL within TA_MAX_LABEL + 1 */
	hash_of("token-two", h);
	assert_int_equal(ta_store_token_insert(f->st, h, &row), TA_ERR_INPUT);
}

static void test_sessions(void **state)
{
	struct fx *f = *state;
	struct ta_session_row row;
	struct ta_store_count n;
	uint8_t a[TA_SHA256_LEN], b[TA_SHA256_LEN];
	unsigned gone = 0;

	hash_of("session-a", a);
	hash_of("session-b", b);
	assert_int_equal(ta_store_session_get(f->st, a, &row), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_session_put(f->st, a, "alice", "", 1000), TA_OK);
	assert_int_equal(ta_store_session_put(f->st, a, "bob", "", 1000), TA_ERR_EXISTS);
	assert_int_equal(ta_store_session_put(f->st, b, "bob", "t1", 2000), TA_OK);
	assert_int_equal(ta_store_session_get(f->st, a, &row), TA_OK);
	assert_string_equal(row.user, "alice");
	assert_string_equal(row.tenant, "");
	assert_int_equal(row.created, 1000);
	assert_int_equal(row.seen, 1000);
	assert_int_equal(ta_store_session_touch(f->st, a, 1500), TA_OK);
	assert_int_equal(ta_store_session_get(f->st, a, &row), TA_OK);
	assert_int_equal(row.seen, 1500);
	assert_int_equal(ta_store_count_rows(f->st, &n), TA_OK);
	assert_int_equal(n.sessions, 2);
	/* purge by idle (seen before) or by age (created before) */
	assert_int_equal(ta_store_session_purge(f->st, 1600, 0, &gone), TA_OK);
	assert_int_equal(gone, 1);
	assert_int_equal(ta_store_session_get(f->st, a, &row), TA_ERR_NOT_FOUND);
	assert_int_equal(ta_store_session_purge(f->st, 0, 2001, &gone), TA_OK);
	assert_int_equal(gone, 1);
	assert_int_equal(ta_store_session_put(f->st, a, "alice", "", 3000), TA_OK);
	assert_int_equal(ta_store_session_delete(f->st, a), TA_OK);
	assert_int_equal(ta_store_session_get(f->st, a, &row), TA_ERR_NOT_FOUND);
	{
		char longname[TA_MAX_USER + 2];
		memset(longname, 'u', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		assert_int_equal(ta_store_session_put(f->st, a, longname, "", 3000), TA_ERR_INPUT);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_tokens),
	    T(test_has_credential),
	    T(test_otp),
	    T(test_otp_bounds),
	    T(test_throttle),
	    T(test_throttle_cap),
	    T(test_throttle_cap_keeps_enrolled),
	    T(test_throttle_cap_order),
	    T(test_throttle_cap_streak_outlasts_old_locks),
	    T(test_throttle_cap_fresh_streak_stays),
	    T(test_throttle_cap_doubling_from_lock_end),
	    T(test_throttle_bounds),
	    T(test_throttle_cap_idle_swept),
	    T(test_throttle_enrolment_uncaps),
	    T(test_transactions),
	    T(test_user_locks),
	    T(test_session_lost),
	    T(test_bad_inputs),
	    T(test_copy_tokens),
	    T(test_copy_otp_throttle),
	    T(test_copy_snapshot),
	    T(test_copy_snapshot_idles),
	    T(test_copy_same),
	    T(test_pool_reuse),
	    T(test_pool_replaced_file),
	    T(test_pool_mode_checks),
	    T(test_pool_newer_schema),
	    T(test_open_readonly),
	    T(test_pool_fork),
	    T(test_label_last_used),
	    T(test_sessions),
	};
	int failed = 0;

	for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		char name[64];
		const char *env;
		engine = &engines[i];
		snprintf(name, sizeof(name), "store conformance: %s", engine->name);
		if (engine->needs_env != NULL &&
		    ((env = getenv(engine->needs_env)) == NULL || *env == '\0')) {
			printf("[  SKIPPED ] %s (%s not set; make check-pg runs it)\n", name,
			       engine->needs_env);
			continue;
		}
		failed += cmocka_run_group_tests_name(name, tests, NULL, NULL);
	}
	return failed;
}
