/*
 * pg_helpers.h - for the unit tests that run against a private
 * PostgreSQL cluster: TA_TEST_PG_DSN_FILE names its DSN file.
 */
#ifndef TA_TEST_PG_HELPERS_H
#define TA_TEST_PG_HELPERS_H

#include <libpq-fe.h>

/* sql on a connection of its own, answered with want: its one value, or -1 */
static long long pg_test_exec(const char *sql, ExecStatusType want)
{
	char dsn[1024];
	FILE *fp = fopen(getenv("TA_TEST_PG_DSN_FILE"), "r");
	PGconn *c;
	PGresult *res;
	long long v = -1;

	assert_non_null(fp);
	assert_non_null(fgets(dsn, sizeof(dsn), fp));
	fclose(fp);
	dsn[strcspn(dsn, "\n")] = '\0';
	c = PQconnectdb(dsn);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	res = PQexec(c, sql);
	assert_int_equal(PQresultStatus(res), want);
	if (want == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return v;
}

#endif
