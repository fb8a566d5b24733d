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

/* A busy store is tried again; one that stays busy refuses every code alike. */
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
		assert_int_equal(check(e, "alice", NULL, w ? wrong : right), TA_ERR_UNAVAILABLE);
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
 * A right code with no streak before it writes nothing to the throttle
 * table (its charge is never written, not written and lifted); one after
 * a wrong code lifts that streak in the same commit.
 */
static void test_success_writes_no_charge(void **state)
{
	char right[16], wrong[16];
	struct env *e = setup_codes(right, wrong);
	(void)state;
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	assert_int_equal(fault.throttle_writes, 0);
	assert_int_equal(failures(e), 0);
	fault.now += 30; /* the next time step: a fresh code */
	ta_ctx_set_time(e->ctx, fault.now);
	right_code(right);
	wrong_code(wrong);
	assert_int_equal(check(e, "alice", NULL, wrong), TA_ERR_REJECTED);
	assert_int_equal(failures(e), 1);
	fault.throttle_writes = 0;
	assert_int_equal(check(e, "alice", NULL, right), TA_OK);
	assert_int_equal(fault.throttle_writes, 1); /* the streak, deleted */
	assert_int_equal(failures(e), 0);
	env_free(e);
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
	    cmocka_unit_test(test_success_writes_no_charge),
	    cmocka_unit_test(test_later_backend_lifts_the_charge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
