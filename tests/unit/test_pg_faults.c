/*
 * test_pg_faults.c - a PostgreSQL transaction whose COMMIT or ROLLBACK
 * never reaches the server.  Linked with -Wl,--wrap=PQsendQueryParams
 * (Makefile, WRAP_test_pg_faults) so that libpq refuses to send them on
 * demand, as it does when out of memory.
 *
 * What must hold: the transaction that reported failure leaves nothing
 * behind.  The server's transaction must not live on in a connection the
 * handle reuses, where the next transaction's COMMIT would commit the
 * writes of the one that failed, and its locks would be held meanwhile.
 *
 * Needs a server: TA_TEST_PG_DSN_FILE names the DSN file of a private
 * cluster (make check-pg runs this with one); without it, skipped.
 */
#include "helpers.h"

#include "pg_helpers.h"
#include "store.h"

int __real_PQsendQueryParams(PGconn *conn, const char *command, int n, const Oid *types,
                             const char *const *values, const int *lengths, const int *formats,
                             int result_format);
int __wrap_PQsendQueryParams(PGconn *conn, const char *command, int n, const Oid *types,
                             const char *const *values, const int *lengths, const int *formats,
                             int result_format);

static const char *refuse; /* the command libpq is to refuse to send */

int __wrap_PQsendQueryParams(PGconn *conn, const char *command, int n, const Oid *types,
                             const char *const *values, const int *lengths, const int *formats,
                             int result_format)
{
	if (refuse != NULL && strcmp(command, refuse) == 0)
		return 0; /* as libpq does when it cannot build the message */
	return __real_PQsendQueryParams(conn, command, n, types, values, lengths, formats,
	                                result_format);
}

static char path[1100];

static void drop_tables(void)
{
	pg_test_exec("SET client_min_messages=warning; "
	        "DROP TABLE IF EXISTS tokens, otp, throttle, sessions, tokenauth_schema",
	        PGRES_COMMAND_OK);
}

/* sessions of our role inside a transaction that waits for its client */
static long long open_on_server(void)
{
	return pg_test_exec("SELECT count(*) FROM pg_stat_activity WHERE usename = current_user "
	               "AND state LIKE 'idle in transaction%'",
	               PGRES_TUPLES_OK);
}

/* the database left as found: no store (the CLI suite that follows starts without one) */
static int drop_all(void **state)
{
	(void)state;
	drop_tables();
	return 0;
}

static int setup(void **state)
{
	ta_store *st = NULL;
	char err[512];

	(void)state;
	drop_tables();
	assert_int_equal(ta_store_open(path, 1, &st, err, sizeof(err)), TA_OK);
	ta_store_close(st);
	refuse = NULL;
	return 0;
}

static void put(ta_store *st, const char *user, unsigned failures)
{
	const struct ta_throttle t = {.failures = failures};

	assert_int_equal(ta_store_begin_user(st, user, ""), TA_OK);
	assert_int_equal(ta_store_throttle_put(st, user, "", &t, 1000, 0), TA_OK);
}

/* failures of user's throttle row, read through a handle of its own */
static unsigned failures_of(const char *user)
{
	ta_store *st = NULL;
	struct ta_throttle t;
	char err[512];

	assert_int_equal(ta_store_open(path, 0, &st, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_store_begin_read(st), TA_OK);
	assert_int_equal(ta_store_throttle_get(st, user, "", &t), TA_OK);
	ta_store_rollback(st);
	ta_store_close(st);
	return t.failures;
}

/* A COMMIT not sent fails, and its writes never land later. */
static void test_commit_not_sent(void **state)
{
	ta_store *st = NULL;
	char err[512];

	(void)state;
	assert_int_equal(ta_store_open(path, 0, &st, err, sizeof(err)), TA_OK);
	put(st, "alice", 3);
	refuse = "COMMIT";
	assert_int_not_equal(ta_store_commit(st), TA_OK);
	refuse = NULL;
	assert_int_equal(open_on_server(), 0);
	/* the same handle, the next transaction: its own write only */
	put(st, "bob", 1);
	assert_int_equal(ta_store_commit(st), TA_OK);
	assert_int_equal(failures_of("bob"), 1);
	assert_int_equal(failures_of("alice"), 0);
	/* and alice's lock is free: another handle takes it at once */
	put(st, "alice", 5);
	assert_int_equal(ta_store_commit(st), TA_OK);
	assert_int_equal(failures_of("alice"), 5);
	ta_store_close(st);
}

/* A ROLLBACK not sent still ends the transaction, on the server too. */
static void test_rollback_not_sent(void **state)
{
	ta_store *st = NULL, *other = NULL;
	char err[512];

	(void)state;
	assert_int_equal(ta_store_open(path, 0, &st, err, sizeof(err)), TA_OK);
	put(st, "carol", 2);
	refuse = "ROLLBACK";
	ta_store_rollback(st);
	refuse = NULL;
	assert_int_equal(open_on_server(), 0);
	/* carol's lock is not held by a forgotten transaction */
	assert_int_equal(ta_store_open(path, 0, &other, err, sizeof(err)), TA_OK);
	put(other, "carol", 7);
	assert_int_equal(ta_store_commit(other), TA_OK);
	ta_store_close(other);
	put(st, "dave", 1);
	assert_int_equal(ta_store_commit(st), TA_OK);
	assert_int_equal(failures_of("carol"), 7);
	assert_int_equal(failures_of("dave"), 1);
	ta_store_close(st);
}

int main(void)
{
	const char *dsn = getenv("TA_TEST_PG_DSN_FILE");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_commit_not_sent, setup),
	    cmocka_unit_test_setup(test_rollback_not_sent, setup),
	};

	if (dsn == NULL || *dsn == '\0') {
		printf("test_pg_faults: SKIPPED (no TA_TEST_PG_DSN_FILE; make check-pg runs it)\n");
		return 0;
	}
	snprintf(path, sizeof(path), "postgresql:%s", dsn);
	return cmocka_run_group_tests(tests, NULL, drop_all);
}
