/* test_verify.c - the verdicts: tokens, OTP, modes, tenants, lockout, availability. */
#include "helpers.h"

#include <sys/wait.h>
#include "otp.h"
#include "token.h"

#include <sys/stat.h>

static void issue(struct env *e, const char *user, const char *tenant, uint64_t ttl, char *tok)
{
	char id[TA_TOKEN_ID_LEN + 1];
	int64_t exp = 0;
	assert_int_equal(ta_token_issue(e->ctx, user, tenant, ttl, NULL, tok, id, &exp), TA_OK);
}

static void test_token_valid_wrong_unknown(void **state)
{
	struct env *e = env_init();
	char tok[TA_TOKEN_LEN + 1], typo[TA_TOKEN_LEN + 1];
	struct ta_outcome out;
	struct ta_request req = {"alice", NULL, NULL, 0, "unit", NULL, 0};
	(void)state;
	issue(e, "alice", NULL, 3600, tok);
	req.credential = tok;
	req.credential_len = strlen(tok);
	assert_int_equal(ta_verify(e->ctx, &req, &out), TA_OK);
	assert_string_equal(out.method, "token");
	assert_int_equal(strlen(out.token_id), 12);
	/* the log line never carries the token */
	assert_null(strstr(e->lastlog, tok));
	assert_null(strstr(e->lastlog, tok + 4));
	memcpy(typo, tok, sizeof(tok));
	typo[20] = typo[20] == 'A' ? 'B' : 'A';
	assert_int_equal(check(e, "alice", NULL, typo), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, "not-a-token-at-all"), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, ""), TA_ERR_REJECTED);
	assert_int_equal(check(e, "nobody", NULL, "whatever"), TA_ERR_NO_CREDENTIAL);
	/* someone else's valid token */
	assert_int_equal(check(e, "bob", NULL, tok), TA_ERR_TENANT);
	assert_int_equal(check(e, "", NULL, tok), TA_ERR_INPUT);
	assert_int_equal(check(e, "al\nice", NULL, tok), TA_ERR_INPUT);
	env_free(e);
}

static void test_expiry_and_revocation(void **state)
{
	struct env *e = env_init();
	char tok[TA_TOKEN_LEN + 1], tok2[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1];
	int64_t exp = 0;
	unsigned n = 0;
	(void)state;
	ta_ctx_set_time(e->ctx, 1000000);
	assert_int_equal(ta_token_issue(e->ctx, "alice", NULL, 60, NULL, tok, id, &exp), TA_OK);
	assert_int_equal(exp, 1000060);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	ta_ctx_set_time(e->ctx, 1000059);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	ta_ctx_set_time(e->ctx, 1000060);
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_EXPIRED);
	ta_ctx_set_time(e->ctx, 0);
	/* never-expiring token, revoked by id */
	assert_int_equal(ta_token_issue(e->ctx, "alice", NULL, 0, NULL, tok2, id, &exp), TA_OK);
	assert_int_equal(exp, 0);
	assert_int_equal(check(e, "alice", NULL, tok2), TA_OK);
	assert_int_equal(ta_token_revoke(e->ctx, id), TA_OK);
	assert_int_equal(check(e, "alice", NULL, tok2), TA_ERR_REVOKED);
	assert_int_equal(ta_token_revoke(e->ctx, id), TA_OK); /* already revoked: fine */
	assert_int_equal(ta_token_revoke(e->ctx, "ffffffffffff"), TA_ERR_NOT_FOUND);
	/* revoke all of a user */
	issue(e, "bob", "t1", 3600, tok);
	issue(e, "bob", "t2", 3600, tok2);
	assert_int_equal(ta_token_revoke_user(e->ctx, "bob", "t1", &n), TA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(check(e, "bob", "t1", tok), TA_ERR_REVOKED);
	assert_int_equal(check(e, "bob", "t2", tok2), TA_OK);
	assert_int_equal(ta_token_revoke_user(e->ctx, "bob", NULL, &n), TA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(check(e, "bob", "t2", tok2), TA_ERR_REVOKED);
	env_free(e);
}

/*
 * A long-lived context (tokenauthd, a SASL host) checks on one handle for
 * its whole life.  The reads of a check share one snapshot; none may
 * outlive the check: a revocation written by another process (the CLI)
 * between two checks is seen by the second, also when the handle came
 * from the pool with its snapshot open, and the log can be checkpointed
 * between checks (no read transaction left behind).
 */
static void test_no_snapshot_outlives_a_check(void **state)
{
	struct env *e = env_init();
	char tok[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1];
	int64_t exp = 0;
	(void)state;
	for (int round = 0; round < 2; round++) {
		int st = 0;
		pid_t kid;
		assert_int_equal(ta_token_issue(e->ctx, "alice", NULL, 0, NULL, tok, id, &exp), TA_OK);
		env_reopen(e); /* a context whose handle is the pooled one */
		assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
		assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
		if ((kid = fork()) == 0) { /* another process: revoke, checkpoint */
			ta_ctx *other = NULL;
			char sql[256];
			int ok = ta_ctx_new(e->cfg, NULL, NULL, &other) == TA_OK &&
			         (round == 0 ? ta_token_revoke(other, id)
			                     : ta_token_issue(other, "bob", NULL, 0, NULL, tok, id,
			                                      &exp)) == TA_OK;
			ta_ctx_free(other);
			if (round == 1) { /* hand the new token over */
				FILE *f;
				snprintf(sql, sizeof(sql), "%s/tok", e->dir);
				ok = ok && (f = fopen(sql, "w")) != NULL && fputs(tok, f) >= 0 &&
				     fclose(f) == 0;
			}
			snprintf(sql, sizeof(sql),
			         "sqlite3 '%s' 'PRAGMA busy_timeout=0; PRAGMA wal_checkpoint(TRUNCATE)' "
			         "| grep -qx '0|0|0'",
			         e->store);
			if (!ok)
				_exit(2);
			_exit(system(sql) == 0 ? 0 : 3);
		}
		assert_true(kid > 0);
		assert_int_equal(waitpid(kid, &st, 0), kid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		if (round == 0) {
			assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_REVOKED);
		} else { /* issued meanwhile */
			char path[160], bob[TA_TOKEN_LEN + 1] = "";
			FILE *f;
			snprintf(path, sizeof(path), "%s/tok", e->dir);
			assert_non_null(f = fopen(path, "r"));
			assert_non_null(fgets(bob, sizeof(bob), f));
			fclose(f);
			assert_int_equal(check(e, "bob", NULL, bob), TA_OK);
		}
	}
	env_free(e);
}

static void test_tenants(void **state)
{
	struct env *e = env_init();
	char tok[TA_TOKEN_LEN + 1];
	struct ta_outcome out;
	(void)state;
	issue(e, "alice", "acme", 3600, tok);
	/* tenant from the protocol */
	assert_int_equal(check(e, "alice", "acme", tok), TA_OK);
	/* bound to acme: any other tenant is a mismatch */
	assert_int_equal(check(e, "alice", "other", tok), TA_ERR_TENANT);
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_TENANT);
	/* tenant from the config */
	set(e, "tenant", "acme");
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	/* user@tenant */
	set(e, "tenant", "");
	assert_int_equal(check(e, "alice@acme", NULL, tok), TA_ERR_TENANT);
	set(e, "tenant_from_user", "yes");
	{
		struct ta_request req = {"alice@acme", NULL, tok, strlen(tok), "unit", NULL, 0};
		assert_int_equal(ta_verify(e->ctx, &req, &out), TA_OK);
		assert_string_equal(out.user, "alice");
		assert_string_equal(out.tenant, "acme");
	}
	/* the explicit tenant wins over user@tenant */
	assert_int_equal(check(e, "alice@acme", "other", tok), TA_ERR_TENANT);
	assert_int_equal(check(e, "@acme", NULL, tok), TA_ERR_INPUT);
	env_free(e);
}

static void test_lockout_and_unlock(void **state)
{
	struct env *e = env_init();
	char tok[TA_TOKEN_LEN + 1];
	unsigned n = 0;
	(void)state;
	set(e, "max_failures", "3");
	set(e, "lockout", "100");
	issue(e, "alice", NULL, 0, tok);
	ta_ctx_set_time(e->ctx, 5000);
	/* failures below the limit are cleared by a success */
	assert_int_equal(check(e, "alice", NULL, "wrong-1"), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, "wrong-2"), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	assert_int_equal(check(e, "alice", NULL, "wrong-1"), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, "wrong-2"), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, "wrong-3"), TA_ERR_REJECTED);
	/* now locked: even the right token fails, without being checked */
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_LOCKED);
	ta_ctx_set_time(e->ctx, 5099);
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_LOCKED);
	ta_ctx_set_time(e->ctx, 5100);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	/* the second lockout doubles: 3 failures after the first lockout ended... */
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(e, "alice", NULL, "wrong"), TA_ERR_REJECTED);
	/* ...the success above reset it, so this is again 100 s */
	ta_ctx_set_time(e->ctx, 5199);
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_LOCKED);
	ta_ctx_set_time(e->ctx, 5200);
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(e, "alice", NULL, "wrong"), TA_ERR_REJECTED);
	/* repeated without a success in between: 200 s */
	ta_ctx_set_time(e->ctx, 5399);
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_LOCKED);
	/* unlock clears it at once */
	assert_int_equal(ta_throttle_unlock(e->ctx, "alice", "", &n), TA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	/* another user is not affected by alice's lock; unknown users leave no rows */
	assert_int_equal(check(e, "ghost", NULL, "x"), TA_ERR_NO_CREDENTIAL);
	assert_int_equal(ta_throttle_unlock(e->ctx, "ghost", NULL, &n), TA_OK);
	assert_int_equal(n, 0);
	env_free(e);
}

static void enroll(struct env *e, const char *user, ta_otp_type type, const char *secret)
{
	struct ta_otp_params p = {type, TA_HASH_SHA1, 6, 30};
	uint8_t out[TA_OTP_MAX_SECRET];
	size_t n = 0;
	assert_int_equal(ta_otp_enroll(e->ctx, user, NULL, &p, (const uint8_t *)secret,
	                               strlen(secret), 0, 0, out, &n),
	                 TA_OK);
	assert_int_equal(n, strlen(secret));
}

static void code_at(const char *secret, uint64_t counter, char *buf)
{
	uint32_t c = 0;
	assert_int_equal(
	    ta_otp_code((const uint8_t *)secret, strlen(secret), TA_HASH_SHA1, 6, counter, &c),
	    TA_OK);
	snprintf(buf, 16, "%06u", c);
}

static void test_otp_once_and_modes(void **state)
{
	struct env *e = env_init();
	const char *sec = "12345678901234567890";
	char code[16], tok[TA_TOKEN_LEN + 1];
	(void)state;
	enroll(e, "alice", TA_OTP_TOTP, sec);
	ta_ctx_set_time(e->ctx, 1234567890);
	code_at(sec, 1234567890 / 30, code);
	assert_int_equal(check(e, "alice", NULL, code), TA_OK);
	assert_int_equal(check(e, "alice", NULL, code), TA_ERR_REPLAY);
	/* the previous step's code is older than the accepted one: replay */
	code_at(sec, 1234567890 / 30 - 1, code);
	assert_int_equal(check(e, "alice", NULL, code), TA_ERR_REPLAY);
	/* the next step is fine */
	ta_ctx_set_time(e->ctx, 1234567890 + 30);
	code_at(sec, 1234567890 / 30 + 1, code);
	assert_int_equal(check(e, "alice", NULL, code), TA_OK);
	assert_int_equal(check(e, "alice", NULL, "000000"), TA_ERR_REJECTED);
	/* mode=token: a code is tried as a token and fails */
	issue(e, "alice", NULL, 0, tok);
	set(e, "mode", "token");
	ta_ctx_set_time(e->ctx, 1234567890 + 60);
	code_at(sec, 1234567890 / 30 + 2, code);
	assert_int_equal(check(e, "alice", NULL, code), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	/* mode=otp: tokens are not accepted; users without OTP have no credential */
	set(e, "mode", "otp");
	assert_int_equal(check(e, "alice", NULL, tok), TA_ERR_REJECTED);
	assert_int_equal(check(e, "alice", NULL, code), TA_OK);
	issue(e, "tokenonly", NULL, 0, tok);
	assert_int_equal(check(e, "tokenonly", NULL, "123456"), TA_ERR_NO_CREDENTIAL);
	assert_int_equal(ta_user_known(e->ctx, "tokenonly", NULL), TA_ERR_NO_CREDENTIAL);
	set(e, "mode", "any");
	assert_int_equal(ta_user_known(e->ctx, "tokenonly", NULL), TA_OK);
	assert_int_equal(ta_user_known(e->ctx, "nobody", NULL), TA_ERR_NO_CREDENTIAL);
	env_free(e);
}

/*
 * A right code clears the charge made for it and the streak before it, in
 * the transaction that spends the code: failures never pile up across
 * successes (they would lock alice after her third good login).
 */
static void test_otp_success_clears_streak(void **state)
{
	struct env *e = env_init();
	const char *sec = "12345678901234567890";
	char code[16];
	unsigned n = 9;
	(void)state;
	set(e, "max_failures", "3");
	set(e, "lockout", "100");
	enroll(e, "alice", TA_OTP_TOTP, sec);
	for (int round = 0; round < 4; round++) {
		int64_t t = 1234567890 + 30 * round;
		ta_ctx_set_time(e->ctx, t);
		assert_int_equal(check(e, "alice", NULL, "000000"), TA_ERR_REJECTED);
		assert_int_equal(check(e, "alice", NULL, "000001"), TA_ERR_REJECTED);
		code_at(sec, (uint64_t)t / 30, code);
		assert_int_equal(check(e, "alice", NULL, code), TA_OK);
	}
	/* nothing left to unlock: the last success cleared the row */
	assert_int_equal(ta_throttle_unlock(e->ctx, "alice", NULL, &n), TA_OK);
	assert_int_equal(n, 0);
	env_free(e);
}

/*
 * Guesses sent at the same moment (parallel sessions) each read the row
 * before any of them locked it; the lockout written under the write lock
 * still decides, so no more than max_failures codes are ever checked.
 */
static void test_parallel_guesses_stop_at_the_limit(void **state)
{
	enum { KIDS = 12 };
	struct env *e = env_init();
	const char *sec = "12345678901234567890";
	int gate[2], results[2], checked = 0, locked = 0;
	pid_t kids[KIDS];
	(void)state;
	set(e, "max_failures", "3");
	set(e, "lockout", "600");
	enroll(e, "hank", TA_OTP_HOTP, sec);
	assert_int_equal(check(e, "hank", NULL, "000000"), TA_ERR_REJECTED);
	assert_int_equal(check(e, "hank", NULL, "000001"), TA_ERR_REJECTED);
	assert_int_equal(pipe(gate), 0);
	assert_int_equal(pipe(results), 0);
	for (int i = 0; i < KIDS; i++) {
		if ((kids[i] = fork()) == 0) {
			ta_ctx *ctx = NULL;
			char g, code[16];
			int r;
			close(gate[1]);
			snprintf(code, sizeof(code), "1%05d", i);
			if (ta_ctx_new(e->cfg, NULL, NULL, &ctx) != TA_OK)
				_exit(2);
			struct ta_request req = {"hank", NULL, code, 6, "unit", NULL, 0};
			if (read(gate[0], &g, 1) != 0) /* EOF: all released at once */
				_exit(2);
			r = ta_verify(ctx, &req, NULL);
			g = r == TA_ERR_LOCKED ? 'L' : r == TA_ERR_REJECTED ? 'R' : '?';
			_exit(write(results[1], &g, 1) == 1 ? 0 : 2);
		}
		assert_true(kids[i] > 0);
	}
	close(gate[0]);
	close(gate[1]); /* go */
	close(results[1]);
	for (int i = 0; i < KIDS; i++) {
		int st = 0;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (char g; read(results[0], &g, 1) == 1;) {
		checked += g == 'R';
		locked += g == 'L';
	}
	close(results[0]);
	assert_int_equal(checked + locked, KIDS);
	assert_int_equal(checked, 1); /* the third failure: it locks */
	env_free(e);
}

static void test_hotp_counter(void **state)
{
	struct env *e = env_init();
	const char *sec = "12345678901234567890";
	(void)state;
	enroll(e, "h", TA_OTP_HOTP, sec);
	assert_int_equal(check(e, "h", NULL, "287082"), TA_OK); /* counter 1 */
	assert_int_equal(check(e, "h", NULL, "287082"), TA_ERR_REPLAY);
	assert_int_equal(check(e, "h", NULL, "755224"), TA_ERR_REJECTED); /* counter 0, skipped */
	assert_int_equal(check(e, "h", NULL, "359152"), TA_OK);           /* counter 2 */
	env_free(e);
}

static void test_otp_secret_bound_to_user_and_key(void **state)
{
	struct env *e = env_init();
	const char *sec = "12345678901234567890";
	char code[16];
	FILE *f;
	(void)state;
	enroll(e, "alice", TA_OTP_HOTP, sec);
	code_at(sec, 0, code);
	/* a different master key cannot decrypt the secret: unavailable, not "wrong code" */
	unlink(e->key);
	f = fopen(e->key, "w");
	assert_non_null(f);
	fputs("0000000000000000000000000000000000000000000000000000000000000000\n", f);
	fclose(f);
	chmod(e->key, 0600);
	env_reopen(e);
	assert_int_equal(check(e, "alice", NULL, code), TA_ERR_CORRUPT);
	/* a missing key file: unavailable */
	unlink(e->key);
	env_reopen(e);
	assert_int_equal(check(e, "alice", NULL, code), TA_ERR_UNAVAILABLE);
	assert_non_null(strstr(e->lastlog, "refused"));
	env_free(e);
}

static void test_store_unavailable(void **state)
{
	struct env *e = env_new(); /* no init: no store */
	(void)state;
	assert_int_equal(check(e, "alice", NULL, "anything-at-all"), TA_ERR_UNAVAILABLE);
	env_free(e);
	e = env_init();
	chmod(e->store, 0666);
	env_reopen(e);
	assert_int_equal(check(e, "alice", NULL, "anything-at-all"), TA_ERR_INSECURE);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_valid_wrong_unknown),
	    cmocka_unit_test(test_expiry_and_revocation),
	    cmocka_unit_test(test_no_snapshot_outlives_a_check),
	    cmocka_unit_test(test_tenants),
	    cmocka_unit_test(test_lockout_and_unlock),
	    cmocka_unit_test(test_otp_once_and_modes),
	    cmocka_unit_test(test_otp_success_clears_streak),
	    cmocka_unit_test(test_parallel_guesses_stop_at_the_limit),
	    cmocka_unit_test(test_hotp_counter),
	    cmocka_unit_test(test_otp_secret_bound_to_user_and_key),
	    cmocka_unit_test(test_store_unavailable),
	};
	return cmocka_run_group_tests_name("verify", tests, NULL, NULL);
}
