/*
 * test_lazy.c - libpq and libcurl loaded on first use (common/lazy.c).
 *
 * This file compiles lazy.c itself, with sonames that name no library:
 * the loader must answer TA_ERR_CONFIG (never "unavailable", which a
 * PAM stack may skip) with the loader's reason, and every function must
 * fail the way the library fails for a bad handle, never crash.  The last
 * test fills the table from libcurl itself, to check that each option
 * type reaches libcurl intact (curl_easy_setopt is variadic and forwarded
 * by the type in the option's number).
 */
#define TA_LIBPQ_SONAME   "libtokenauth-no-such-pq.so.5"
#define TA_LIBCURL_SONAME "libtokenauth-no-such-curl.so.4"
#include "../../common/lazy.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <dlfcn.h>

static void test_missing_libpq_named(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(ta_lazy_pq(err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "cannot load libtokenauth-no-such-pq.so.5"));
	/* a small buffer gets a cut, terminated reason */
	assert_int_equal(ta_lazy_pq(err, 8), TA_ERR_CONFIG);
	assert_int_equal(strlen(err), 7);
}

static void test_missing_libpq_fails_closed(void **state)
{
	const char *const kw[] = {"dbname", NULL}, *const val[] = {"x", NULL};
	char *msg = (char *)"untouched";

	(void)state;
	assert_null(PQconnectdbParams(kw, val, 0));
	assert_int_equal(PQstatus(NULL), CONNECTION_BAD);
	assert_int_equal(PQtransactionStatus(NULL), PQTRANS_UNKNOWN);
	assert_int_equal(PQresultStatus(NULL), PGRES_FATAL_ERROR);
	assert_string_equal(PQerrorMessage(NULL), "libpq is not loaded");
	assert_null(PQconninfoParse("dbname=x", &msg));
	assert_null(msg);
	assert_int_equal(PQsendQueryParams(NULL, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0), 0);
	assert_int_equal(PQsocket(NULL), -1);
	assert_null(PQgetResult(NULL));
	assert_int_equal(PQgetisnull(NULL, 0, 0), 1);
	PQclear(NULL);
	PQfinish(NULL);
}

static void test_missing_libcurl_fails_closed(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(ta_lazy_curl(err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "cannot load libtokenauth-no-such-curl.so.4"));
	assert_int_equal(curl_global_init(CURL_GLOBAL_SSL), CURLE_FAILED_INIT);
	assert_null(curl_easy_init());
	assert_int_equal(curl_easy_setopt(NULL, CURLOPT_TIMEOUT_MS, 1L), CURLE_FAILED_INIT);
	assert_int_equal(curl_easy_perform(NULL), CURLE_FAILED_INIT);
	assert_null(curl_url());
	assert_null(curl_slist_append(NULL, "x"));
	assert_string_equal(curl_easy_strerror(CURLE_OK), "libcurl is not loaded");
	curl_easy_cleanup(NULL);
	curl_slist_free_all(NULL);
}

/* libcurl itself, as the real loader finds it: each option type through
 * the variadic forwarding, read back where libcurl can tell. */
static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void test_setopt_forwards_every_type(void **state)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	CURL *(*init)(void);
	void (*cleanup)(CURL *);
	CURL *c;
	char *url = NULL;
	void *p;

	(void)state;
	assert_non_null(h);
	/* the real loader's table, filled from this handle */
	assert_true(find(&curl_lib, h, "curl_easy_setopt", &curl_fn.curl_easy_setopt,
	                 sizeof(curl_fn.curl_easy_setopt)));
	assert_true(find(&curl_lib, h, "curl_easy_getinfo", &curl_fn.curl_easy_getinfo,
	                 sizeof(curl_fn.curl_easy_getinfo)));
	curl_lib.ok = 1;
	p = dlsym(h, "curl_easy_init");
	memcpy(&init, &p, sizeof(p));
	p = dlsym(h, "curl_easy_cleanup");
	memcpy(&cleanup, &p, sizeof(p));
	assert_non_null((c = init()));
	assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1500L), CURLE_OK); /* long */
	assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, "http://127.0.0.1:1/lazy"),
	                 CURLE_OK);                                                   /* pointer */
	assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink), CURLE_OK); /* function */
	assert_int_equal(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)4096),
	                 CURLE_OK); /* off_t */
	/* a long out of range is refused by libcurl, so it arrived as a long */
	assert_int_equal(curl_easy_setopt(c, CURLOPT_SSLVERSION, 999L),
	                 CURLE_BAD_FUNCTION_ARGUMENT);
	assert_int_equal(curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url), CURLE_OK);
	assert_non_null(url);
	assert_string_equal(url, "http://127.0.0.1:1/lazy");
	cleanup(c);
	curl_lib.ok = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_missing_libpq_named),
	    cmocka_unit_test(test_missing_libpq_fails_closed),
	    cmocka_unit_test(test_missing_libcurl_fails_closed),
	    cmocka_unit_test(test_setopt_forwards_every_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
