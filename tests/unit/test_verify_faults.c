/*
 * test_verify_faults.c - a charged check whose commit fails.  Linked with
 * -Wl,--wrap=ta_store_commit,--wrap=ta_store_begin_user and SQLite's
 * sqlite3_step and sqlite3_exec (Makefile, WRAP_test_verify_faults) so
 * that a commit, a begin or a ROLLBACK fails on demand, where SQLite
 * would fail them only at the edge of memory or disk.
 *
 * What must hold: whatever the code, right or wrong, the answer is the
 * one a wrong code gets, the attempt is counted, and a right code stays
 * unspent; also when another login locks the user between the rollback
 * and the charge written again, when the store is busy for a while, and
 * when SQLite ends the transaction itself as the code is spent.
 */
#include "helpers.h"

#include "admin.h"
#include "ctx_int.h"
#include "otp.h"
#include "store.h"
#include "token.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>

int __real_sqlite3_step(sqlite3_stmt *q);
int __wrap_sqlite3_step(sqlite3_stmt *q);
int __real_sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                        void *arg, char **errmsg);
int __wrap_sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                        void *arg, char **errmsg);
int __real_ta_store_commit(ta_store *st);
int __wrap_ta_store_commit(ta_store *st);
int __real_ta_store_begin_user(ta_store *st, const char *user, const char *tenant);
int __wrap_ta_store_begin_user(ta_store *st, const char *user, const char *tenant);

static struct {
	int fail_commits;   /* commits to fail (rolled back, as SQLite does) */
	int lock_between;   /* after a failed commit, another login locks the user */
	int busy_begins;    /* begins after a failed commit to answer "busy" */
	int after_failure;  /* a commit has failed: busy_begins applies */
	int fail_rollback;  /* every ROLLBACK fails (no memory) */
	int full_at_spend;  /* spending a code fails and SQLite ends the transaction */
	int throttle_writes; /* statements run that write the throttle table */
	int64_t now;
} fault;

int __wrap_sqlite3_step(sqlite3_stmt *q)
{
	const char *sql = sqlite3_sql(q);

	if (fault.fail_rollback && strcmp(sql, "ROLLBACK") == 0)
		return SQLITE_NOMEM;
	if (fault.full_at_spend && strncmp(sql, "UPDATE otp SET next", 19) == 0) {
		/* as SQLite does on some out-of-memory and I/O errors */
		assert_int_equal(__real_sqlite3_exec(sqlite3_db_handle(q), "ROLLBACK", NULL, NULL,
		                                     NULL),
		                 SQLITE_OK);
		return SQLITE_FULL;
	}
	if (strncmp(sql, "INSERT INTO throttle", 20) == 0 ||
	    strncmp(sql, "DELETE FROM throttle", 20) == 0)
		fault.throttle_writes++;
	return __real_sqlite3_step(q);
}

int __wrap_sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
                        void *arg, char **errmsg)
{
	if (fault.fail_rollback && strcmp(sql, "ROLLBACK") == 0)
		return SQLITE_NOMEM;
	return __real_sqlite3_exec(db, sql, cb, arg, errmsg);
}

int __wrap_ta_store_commit(ta_store *st)
{
	if (fault.fail_commits == 0)
		return __real_ta_store_commit(st);
	fault.fail_commits--;
	ta_store_rollback(st);
	fault.after_failure = 1;
	if (fault.lock_between) {
		struct ta_throttle t = {0, 1, fault.now + 600};
		fault.lock_between = 0;
		assert_int_equal(__real_ta_store_begin_user(st, "alice", ""), TA_OK);
		assert_int_equal(ta_store_throttle_put(st, "alice", "", &t, fault.now, 0), TA_OK);
		assert_int_equal(__real_ta_store_commit(st), TA_OK);
	}
	return TA_ERR_UNAVAILABLE;
}

int __wrap_ta_store_begin_user(ta_store *st, const char *user, const char *tenant)
{
	if (fault.after_failure && fault.busy_begins > 0) {
		fault.busy_begins--;
		return TA_ERR_UNAVAILABLE; /* SQLITE_BUSY after the busy timeout */
	}
	return __real_ta_store_begin_user(st, user, tenant);
}

static const char *sec = "12345678901234567890";

static void right_code(char *buf)
{
	uint32_t v = 0;
	assert_int_equal(ta_otp_code((const uint8_t *)sec, strlen(sec), TA_HASH_SHA1, 6,
	                             (uint64_t)fault.now / 30, &v),
	                 TA_OK);
	snprintf(buf, 16, "%06u", (unsigned)v);
}

/* A wrong code of the same shape (the right one plus one, mod 10^6). */
static void wrong_code(char *buf)
{
	right_code(buf);
	snprintf(buf, 16, "%06lu", (strtoul(buf, NULL, 10) + 1) % 1000000);
}

/* alice, enrolled for TOTP at a fixed time; right and wrong: codes of
 * that time step (either may be NULL). */
static struct env *setup_codes(char *right, char *wrong)
{
	struct env *e = env_init();
	struct ta_otp_params p = {TA_OTP_TOTP, TA_HASH_SHA1, 6, 30};
	uint8_t out[TA_OTP_MAX_SECRET];
	size_t n = 0;

	memset(&fault, 0, sizeof(fault));
	set(e, "max_failures", "5");
	set(e, "lockout", "600");
	env_reopen(e);
	assert_int_equal(ta_otp_enroll(e->ctx, "alice", NULL, &p, (const uint8_t *)sec,
	                               strlen(sec), 0, 0, out, &n),
	                 TA_OK);
	fault.now = 1234567890;
	ta_ctx_set_time(e->ctx, fault.now);
	if (right != NULL)
		right_code(right);
	if (wrong != NULL)
		wrong_code(wrong);
	return e;
}

static struct env *setup(void)
{
	return setup_codes(NULL, NULL);
}

static unsigned failures_of(struct env *e, const char *user, int64_t *locked_until)
{
	struct ta_throttle t;
	ta_store *st = NULL;
	assert_int_equal(ta_ctx_store(e->ctx, &st), TA_OK);
	assert_int_equal(ta_store_throttle_get(st, user, "", &t), TA_OK);
	*locked_until = t.locked_until;
	return t.failures;
}

static unsigned failures(struct env *e)
{
	int64_t until = 0;
	return failures_of(e, "alice", &until);
}

static void test_failed_commit_answers_as_wrong(void **state)
{
	char right[16], wrong[16];
	struct env *e = setup_codes(right, wrong);
	(void)state;
	fault.fail_commits = 1;
	assert_int_equal(check(e, "alice", NULL, right), TA_ERR_REJECTED);
	assert_int_equal(failures(e), 1); /* counted, as a wrong code is */
	fault.fail_commits = 1;
	assert_int_equal(check(e, "alice", NULL, wrong), TA_ERR_REJECTED);
	assert_int_equal(failures(e), 2);
	/* nothing was spent: the right code still opens, once */
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	assert_int_equal(failures(e), 0);
	assert_int_equal(check(e, "alice", NULL, right), TA_ERR_REPLAY);
	env_free(e);
}

/* The rollback let go of the lock and another login locked the user. */
static void test_locked_between_is_counted(void **state)
{
	char right[16], wrong[16];
	struct env *e = setup_codes(right, wrong);
	unsigned n = 0;
	(void)state;
	fault.fail_commits = 1;
	fault.lock_between = 1;
	assert_int_equal(check(e, "alice", NULL, right), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, wrong), TA_ERR_LOCKED);
	assert_int_equal(check(e, "alice", NULL, right), TA_ERR_LOCKED);
	assert_int_equal(ta_throttle_unlock(e->ctx, "alice", NULL, &n), TA_OK);
	fault.fail_commits = 1;
	fault.lock_between = 1;
	assert_int_equal(check(e, "alice", NULL, wrong), TA_ERR_REJECTED);
	assert_int_equal(ta_throttle_unlock(e->ctx, "alice", NULL, &n), TA_OK);
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	env_free(e);
}

/* A busy store is tried again; one that stays busy refuses every code
 * alike, as a service error (TA_ERR_INTERNAL), never "unavailable": a PAM
 * stack with authinfo_unavail=ignore would skip that (outside review). */
static void test_busy_recharge(void **state)
{
	char right[16], wrong[16];
	struct env *e = setup_codes(right, wrong);
	(void)state;
	fault.fail_commits = 1;
	fault.busy_begins = 2;
	assert_int_equal(check(e, "alice", NULL, right), TA_ERR_REJECTED);
	assert_int_equal(fault.busy_begins, 0);
	assert_int_equal(failures(e), 1);
	for (int w = 0; w < 2; w++) {
		fault.after_failure = 0;
		fault.fail_commits = 1;
		fault.busy_begins = 3;
		assert_int_equal(check(e, "alice", NULL, w ? wrong : right), TA_ERR_INTERNAL);
		assert_int_equal(fault.busy_begins, 0);
		assert_int_equal(failures(e), 1); /* nothing could be written */
	}
	fault.after_failure = 0;
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	env_free(e);
}

/*
 * SQLite ends the check's transaction by itself as a right code is spent
 * (disk full, no memory): the charge is not written on its own outside
 * the transaction and the user's lock, and the attempt is counted once,
 * on its own, answered as a wrong code is; the code stays unspent.
 */
static void test_rolled_back_inside_check(void **state)
{
	char right[16], wrong[16];
	struct env *e = setup_codes(right, wrong);
	(void)state;
	fault.full_at_spend = 1;
	assert_int_equal(check(e, "alice", NULL, right), TA_ERR_REJECTED);
	assert_int_equal(failures(e), 1);
	assert_int_equal(check(e, "alice", NULL, wrong), TA_ERR_REJECTED);
	assert_int_equal(failures(e), 2);
	fault.full_at_spend = 0;
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	assert_int_equal(failures(e), 0);
	env_free(e);
}

/*
 * A right code writes the charge a wrong code writes, and then lifts it,
 * in the same commit: whatever pages a wrong code's commit writes, a
 * right code's writes too (test_cut_commit_spares_no_wrong_code).
 */
static void test_success_writes_the_charge_too(void **state)
{
	char right[16], wrong[16];
	struct env *e = setup_codes(right, wrong);
	(void)state;
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	assert_int_equal(fault.throttle_writes, 3); /* old rows swept, the charge, lifted */
	assert_int_equal(failures(e), 0);
	fault.now += 30; /* the next time step: a fresh code */
	ta_ctx_set_time(e->ctx, fault.now);
	right_code(right);
	wrong_code(wrong);
	fault.throttle_writes = 0;
	assert_int_equal(check(e, "alice", NULL, wrong), TA_ERR_REJECTED);
	assert_int_equal(fault.throttle_writes, 2); /* old rows swept, the charge */
	assert_int_equal(failures(e), 1);
	fault.throttle_writes = 0;
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	assert_int_equal(fault.throttle_writes, 3); /* the same, then the streak deleted */
	assert_int_equal(failures(e), 0);
	env_free(e);
}

/*
 * A VFS over the default one whose write-ahead log cannot grow past
 * wal_limit bytes (0: no limit), as a file-size limit (RLIMIT_FSIZE) or a
 * full disk cuts a commit short between two of its frames, but with no
 * limit the process could see (verify.c, commit_may_be_cut).
 */
static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	sqlite3_int64 wal_limit;
} cut;

struct cut_file {
	sqlite3_file base;
	int wal;
	sqlite3_file *real; /* follows this struct */
};

#define REAL(f) (((struct cut_file *)(f))->real)

static int cut_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}
static int cut_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int cut_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (((struct cut_file *)f)->wal && cut.wal_limit > 0 && o + n > cut.wal_limit)
		return SQLITE_FULL;
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int cut_truncate(sqlite3_file *f, sqlite3_int64 n)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), n);
}
static int cut_sync(sqlite3_file *f, int fl)
{
	return REAL(f)->pMethods->xSync(REAL(f), fl);
}
static int cut_size(sqlite3_file *f, sqlite3_int64 *n)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), n);
}
static int cut_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int cut_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int cut_reserved(sqlite3_file *f, int *r)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r);
}
static int cut_fcntl(sqlite3_file *f, int op, void *a)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int cut_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int cut_dev(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int cut_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}
static int cut_shm_lock(sqlite3_file *f, int off, int n, int fl)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, fl);
}
static void cut_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int cut_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int cut_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
	return REAL(f)->pMethods->xFetch(REAL(f), o, n, p);
}
static int cut_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods cut_io = {
    3,           cut_close,    cut_read,     cut_write,     cut_truncate,     cut_sync,
    cut_size,    cut_lock,     cut_unlock,   cut_reserved,  cut_fcntl,        cut_sector,
    cut_dev,     cut_shm_map,  cut_shm_lock, cut_shm_barrier, cut_shm_unmap,  cut_fetch,
    cut_unfetch,
};

static int cut_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct cut_file *c = (struct cut_file *)f;
	int r;

	(void)v;
	c->real = (sqlite3_file *)(c + 1);
	c->wal = (flags & SQLITE_OPEN_WAL) != 0;
	r = cut.real->xOpen(cut.real, name, c->real, flags, out);
	f->pMethods = r == SQLITE_OK && c->real->pMethods != NULL ? &cut_io : NULL;
	return r;
}

static void cut_install(void)
{
	cut.real = sqlite3_vfs_find(NULL);
	assert_non_null(cut.real);
	cut.vfs = *cut.real;
	cut.vfs.zName = "cut";
	cut.vfs.szOsFile = (int)sizeof(struct cut_file) + cut.real->szOsFile;
	cut.vfs.xOpen = cut_open;
	cut.vfs.pAppData = NULL;
	assert_int_equal(sqlite3_vfs_register(&cut.vfs, 1), SQLITE_OK);
}

static sqlite3_int64 wal_size(struct env *e)
{
	char path[sizeof(e->store) + 8];
	struct stat sb;
	snprintf(path, sizeof(path), "%s-wal", e->store);
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

/* One code under a log cut k bytes past its end, on a fresh store (after
 * one wrong code when streak): the answer, and whether it was counted. */
static int cut_try(int want_right, int streak, sqlite3_int64 k, int *counted)
{
	char right[16], wrong[16];
	struct env *e = setup_codes(right, wrong);
	int64_t until = 0;
	unsigned before;
	int r;

	if (streak) {
		fault.now += 30;
		ta_ctx_set_time(e->ctx, fault.now);
		assert_int_equal(check(e, "alice", NULL, "000000"), TA_ERR_REJECTED);
		right_code(right);
		wrong_code(wrong);
	}
	before = failures(e);
	cut.wal_limit = wal_size(e) + k;
	r = check(e, "alice", NULL, want_right ? right : wrong);
	cut.wal_limit = 0;
	*counted = failures_of(e, "alice", &until) > before || until > fault.now;
	env_free(e);
	return r;
}

/*
 * A commit cut short between two of its frames.  Until issue 10's last
 * attack round a wrong code's charge was two new pages and a right code's
 * spent counter one: a cut between them failed every wrong code uncounted
 * ("unavailable") and let the right one in.  Whatever the cut, a right
 * code gets in only where a wrong one is counted.
 */
static void test_cut_commit_spares_no_wrong_code(void **state)
{
	int cut_short = 0;
	(void)state;
	for (int streak = 0; streak < 2; streak++)
		for (sqlite3_int64 k = 0; k < 5 * 4120; k += 515) {
			int right_counted = 0, wrong_counted = 0;
			int rr = cut_try(1, streak, k, &right_counted);
			int rw = cut_try(0, streak, k, &wrong_counted);
			if (rw == TA_ERR_INTERNAL)
				cut_short++;
			if (rr == TA_OK && !wrong_counted)
				fail_msg("cut %lld bytes past the log's end (streak %d): the right code "
				         "logs in, a wrong one is not counted (%d)",
				         (long long)k, streak, rw);
			assert_true(rw == TA_ERR_REJECTED ? wrong_counted : rw == TA_ERR_INTERNAL);
			assert_true(rr == TA_OK || rr == TA_ERR_REJECTED || rr == TA_ERR_INTERNAL);
		}
	assert_true(cut_short > 0); /* the cut did fall inside some commits */
}

static int revoked_of(void *arg, const struct ta_token_row *row)
{
	*(int64_t *)arg = row->revoked;
	return 0;
}

/*
 * The snapshot of a check cannot be ended (its ROLLBACK fails): the
 * context keeps its handle, so no later call may read that old snapshot
 * (a revocation written since would go unseen): not a list (an admin or
 * portal call), not a check.  The stuck handle is given up and the next
 * call opens afresh.
 */
static void test_stuck_snapshot_is_not_reused(void **state)
{
	struct env *e = setup();
	char tok[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1];
	int64_t exp = 0;
	int st = 0;
	pid_t kid;
	(void)state;
	assert_int_equal(ta_token_issue(e->ctx, "alice", NULL, 0, NULL, tok, id, &exp), TA_OK);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	fault.fail_rollback = 1;
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK); /* its snapshot stays open */
	fault.fail_rollback = 0;
	if ((kid = fork()) == 0) { /* the CLI, in another process: revoke */
		ta_ctx *other = NULL;
		int ok = ta_ctx_new(e->cfg, NULL, NULL, &other) == TA_OK &&
		         ta_token_revoke(other, id) == TA_OK;
		ta_ctx_free(other);
		_exit(ok ? 0 : 1);
	}
	assert_true(kid > 0);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	{
		int64_t revoked = 0;
		assert_int_equal(ta_token_list(e->ctx, "alice", revoked_of, &revoked), TA_OK);
		assert_true(revoked != 0); /* the list sees the revocation */
	}
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_REVOKED);
	env_free(e);
}

/* A backend after the local one that vouches for every user and code,
 * as a remote endpoint may. */
static int vouch(ta_ctx *ctx, void **state, struct ta_check *c)
{
	(void)ctx;
	(void)state;
	(void)c;
	return TA_OK;
}

static const struct ta_backend vouching = {"vouching", TA_BACKEND_FOREIGN_USERS, vouch, NULL};

/*
 * The charge written because the local store did not know the code (a
 * user it does not know, or one without OTP) is lifted when a later
 * backend accepts it, as "charged first, lifted on success" is: before
 * stop 20's attack round a success left a failure behind each time, and
 * with max_failures = 1 locked the user it had just let in.
 */
static void test_later_backend_lifts_the_charge(void **state)
{
	struct env *e = setup();
	int64_t until = 0;
	(void)state;
	set(e, "max_failures", "1");
	env_reopen(e);
	ta_ctx_set_time(e->ctx, fault.now);
	e->ctx->backends[e->ctx->nbackends++] = &vouching;
	e->ctx->backend_flags |= vouching.flags;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(check(e, "carol", NULL, "123456"), TA_OK); /* not enrolled here */
		assert_int_equal(failures_of(e, "carol", &until), 0);
		assert_int_equal(until, 0);
	}
	/* alice is enrolled, so the code is charged before the local check; a
	 * commit that fails there is a wrong code's answer, counted: the later
	 * backend is not asked */
	fault.fail_commits = 1;
	assert_int_equal(check(e, "alice", NULL, "123456"), TA_ERR_REJECTED);
	assert_true(failures_of(e, "alice", &until) == 0 && until > fault.now); /* locked */
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failed_commit_answers_as_wrong),
	    cmocka_unit_test(test_locked_between_is_counted),
	    cmocka_unit_test(test_busy_recharge),
	    cmocka_unit_test(test_stuck_snapshot_is_not_reused),
	    cmocka_unit_test(test_rolled_back_inside_check),
	    cmocka_unit_test(test_success_writes_the_charge_too),
	    cmocka_unit_test(test_cut_commit_spares_no_wrong_code),
	    cmocka_unit_test(test_later_backend_lifts_the_charge),
	};
	cut_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
