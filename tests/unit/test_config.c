/* test_config.c - one grammar for file, PAM words and options; errors name key and line. */
#include "helpers.h"

#include "config_int.h" /* the parsed backend list */

#include <sys/stat.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ta-cfg-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void test_defaults(void **state)
{
	ta_config *c = ta_config_new();
	(void)state;
	assert_string_equal(ta_config_str(c, "store"), TA_DEFAULT_STORE);
	assert_string_equal(ta_config_str(c, "key_file"), TA_DEFAULT_KEY);
	assert_string_equal(ta_config_str(c, "mode"), "any");
	assert_string_equal(ta_config_str(c, "tenant"), "");
	assert_string_equal(ta_config_str(c, "verify"), "local");
	assert_string_equal(ta_config_str(c, "profile"), "cec");
	assert_string_equal(ta_config_str(c, "prompt"), "Token: ");
	assert_null(ta_config_str(c, "url"));
	assert_int_equal(ta_config_uint(c, "connect_timeout_ms"), 2000);
	assert_int_equal(ta_config_uint(c, "timeout_ms"), 5000);
	assert_int_equal(ta_config_uint(c, "otp_window"), 1);
	assert_int_equal(ta_config_uint(c, "otp_lookahead"), 10);
	assert_int_equal(ta_config_uint(c, "max_failures"), 5);
	assert_int_equal(ta_config_uint(c, "lockout"), 300);
	assert_int_equal(ta_config_uint(c, "socket_mode"), 0660);
	assert_false(ta_config_flag(c, "nullok"));
	assert_false(ta_config_flag(c, "debug"));
	assert_false(ta_config_flag(c, "tenant_from_user"));
	ta_config_free(c);
}

static void test_values_and_errors(void **state)
{
	ta_config *c = ta_config_new();
	char err[256];
	(void)state;
	assert_int_equal(ta_config_set(c, "mode", "otp", err, sizeof(err)), TA_OK);
	assert_string_equal(ta_config_str(c, "mode"), "otp");
	assert_int_equal(ta_config_set(c, "mode", "password", err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "'mode'"));
	assert_int_equal(ta_config_set(c, "lockout", "10m", err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_uint(c, "lockout"), 600);
	assert_int_equal(ta_config_set(c, "lockout", "-1", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "lockout", "5x", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "otp_window", "11", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(
	    ta_config_set(c, "otp_window", "99999999999999999999999", err, sizeof(err)),
	    TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "timeout_ms", "0", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "nullok", "maybe", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "nullok", NULL, err, sizeof(err)), TA_OK);
	assert_true(ta_config_flag(c, "nullok"));
	assert_int_equal(ta_config_set(c, "store", NULL, err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(ta_config_set(c, "store", "relative/path", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "verify", "local,remote", err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_set(c, "verify", "local,local", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "verify", "ldap", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "verify", "", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "url", "https://a/x,https://b/y", err, sizeof(err)),
	                 TA_OK);
	assert_int_equal(ta_config_set(c, "url", "ftp://a", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(
	    ta_config_set(c, "listen", "unix:/run/x.sock,127.0.0.1:8443,[::1]:9", err, sizeof(err)),
	    TA_OK);
	assert_int_equal(ta_config_set(c, "listen", "127.0.0.1:99999", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "socket_mode", "0640", err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_uint(c, "socket_mode"), 0640);
	assert_int_equal(ta_config_set(c, "socket_mode", "0999", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "prompt", "a\nb", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "validate_path", "/api/validate", err, sizeof(err)),
	                 TA_OK);
	/* Only the syntax here: tokenauthd checks the path against its own
	 * route table (tests/tokenauthd/test_parse.c, run.sh). */
	assert_int_equal(ta_config_set(c, "validate_path", "/generate", err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_set(c, "validate_path", "/a?b", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "validate_path", "/a#b", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "validate_path", "api", err, sizeof(err)), TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "validate_path", "/a b", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(ta_config_set(c, "frobnicate", "1", err, sizeof(err)), TA_ERR_CONFIG);
	assert_string_equal(err, "unknown option 'frobnicate'");
	ta_config_free(c);
}

static void test_words(void **state)
{
	ta_config *c = NULL;
	char err[256], cfgword[160];
	const char *path = write_file(
	    "a.conf", "# comment\n\n  mode = token  \ntenant=acme\nmax_failures = 3\n", 0600);
	(void)state;
	snprintf(cfgword, sizeof(cfgword), "config=%s", path);
	{
		const char *argv[] = {cfgword, "tenant=other", "debug", "prompt=Code: "};
		assert_int_equal(ta_config_from_words(4, argv, &c, err, sizeof(err)), TA_OK);
	}
	assert_string_equal(ta_config_str(c, "mode"), "token");   /* from file */
	assert_string_equal(ta_config_str(c, "tenant"), "other"); /* word overrides */
	assert_int_equal(ta_config_uint(c, "max_failures"), 3);
	assert_true(ta_config_flag(c, "debug"));
	assert_string_equal(ta_config_str(c, "prompt"), "Code: ");
	ta_config_free(c);
	{
		const char *argv[] = {cfgword, "bogus=1"};
		assert_int_equal(ta_config_from_words(2, argv, &c, err, sizeof(err)),
		                 TA_ERR_CONFIG);
		assert_null(c);
		assert_non_null(strstr(err, "bogus"));
	}
	{
		const char *argv[] = {"config=/nonexistent/tokenauth.conf"};
		assert_int_equal(ta_config_from_words(1, argv, &c, err, sizeof(err)),
		                 TA_ERR_CONFIG);
		assert_non_null(strstr(err, "does not exist"));
	}
	{
		const char *argv[] = {"=x"};
		assert_int_equal(ta_config_from_words(1, argv, &c, err, sizeof(err)),
		                 TA_ERR_CONFIG);
	}
}

/*
 * ta_config_from_words reuses the last configuration it made only when
 * the words and the file's text are byte for byte the same: a changed
 * file, other words, a file that went missing or turned unsafe are each
 * read afresh, and an error is never taken from the reuse.
 */
static void test_words_reuse(void **state)
{
	ta_config *c = NULL, *d = NULL;
	char err[256], cfgword[160];
	const char *path = write_file("r.conf", "tenant = one\nmax_failures = 3\n", 0600);
	(void)state;
	snprintf(cfgword, sizeof(cfgword), "config=%s", path);
	{
		const char *argv[] = {cfgword};
		assert_int_equal(ta_config_from_words(1, argv, &c, err, sizeof(err)), TA_OK);
		assert_int_equal(ta_config_from_words(1, argv, &d, err, sizeof(err)), TA_OK);
	}
	assert_ptr_not_equal(c, d); /* each caller owns its own copy */
	assert_string_equal(ta_config_str(c, "tenant"), "one");
	assert_string_equal(ta_config_str(d, "tenant"), "one");
	ta_config_free(c);
	assert_string_equal(ta_config_str(d, "tenant"), "one");
	ta_config_free(d);
	{ /* other words: not the reused one */
		const char *argv[] = {cfgword, "tenant=two"};
		assert_int_equal(ta_config_from_words(2, argv, &c, err, sizeof(err)), TA_OK);
		assert_string_equal(ta_config_str(c, "tenant"), "two");
		ta_config_free(c);
	}
	/* the same size, another text, written within the same second */
	path = write_file("r.conf", "tenant = uno\nmax_failures = 4\n", 0600);
	{
		const char *argv[] = {cfgword};
		assert_int_equal(ta_config_from_words(1, argv, &c, err, sizeof(err)), TA_OK);
		assert_string_equal(ta_config_str(c, "tenant"), "uno");
		assert_int_equal(ta_config_uint(c, "max_failures"), 4);
		ta_config_free(c);
		/* turned unsafe: refused, however often it was read before */
		chmod(path, 0666);
		assert_int_equal(ta_config_from_words(1, argv, &c, err, sizeof(err)),
		                 TA_ERR_CONFIG);
		assert_null(c);
		assert_non_null(strstr(err, "writable by group or others"));
		/* gone: refused */
		unlink(path);
		assert_int_equal(ta_config_from_words(1, argv, &c, err, sizeof(err)),
		                 TA_ERR_CONFIG);
		assert_null(c);
	}
	/* a bad word after a good parse of the same file is still an error */
	path = write_file("r.conf", "tenant = one\n", 0600);
	{
		const char *ok[] = {cfgword}, *bad[] = {cfgword, "bogus=1"};
		assert_int_equal(ta_config_from_words(1, ok, &c, err, sizeof(err)), TA_OK);
		ta_config_free(c);
		assert_int_equal(ta_config_from_words(2, bad, &c, err, sizeof(err)),
		                 TA_ERR_CONFIG);
		assert_null(c);
		assert_non_null(strstr(err, "bogus"));
	}
}

static void test_file_errors_name_line(void **state)
{
	ta_config *c = ta_config_new();
	char err[512];
	const char *p;
	(void)state;
	p = write_file("b.conf", "mode = any\n\nwindow = 3\n", 0600);
	assert_int_equal(ta_config_load(c, p, 0, err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "b.conf:3: unknown option 'window'"));
	p = write_file("c.conf", "mode = any\njust words\n", 0600);
	assert_int_equal(ta_config_load(c, p, 0, err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "c.conf:2: expected 'key = value'"));
	p = write_file("d.conf", "otp_window = lots\n", 0600);
	assert_int_equal(ta_config_load(c, p, 0, err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "d.conf:1: option 'otp_window'"));
	p = write_file("q.conf", "prompt = \"Code: \"\ntenant = \"\"\n", 0600);
	assert_int_equal(ta_config_load(c, p, 0, err, sizeof(err)), TA_OK);
	assert_string_equal(ta_config_str(c, "prompt"), "Code: ");
	assert_string_equal(ta_config_str(c, "tenant"), "");
	p = write_file("e.conf", "config = /etc/other\n", 0600);
	assert_int_equal(ta_config_load(c, p, 0, err, sizeof(err)), TA_ERR_CONFIG);
	/* a world-writable config is refused */
	p = write_file("f.conf", "mode = any\n", 0666);
	assert_int_equal(ta_config_load(c, p, 0, err, sizeof(err)), TA_ERR_CONFIG);
	assert_non_null(strstr(err, "writable by group or others"));
	/* missing: error unless missing_ok */
	assert_int_equal(ta_config_load(c, "/nonexistent.conf", 1, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_load(c, "/nonexistent.conf", 0, err, sizeof(err)),
	                 TA_ERR_CONFIG);
	ta_config_free(c);
}

static void test_durations(void **state)
{
	unsigned long long v;
	(void)state;
	assert_int_equal(ta_parse_duration("90", 1000000, &v), TA_OK);
	assert_int_equal(v, 90);
	assert_int_equal(ta_parse_duration("8h", 1000000, &v), TA_OK);
	assert_int_equal(v, 28800);
	assert_int_equal(ta_parse_duration("2w", 10000000, &v), TA_OK);
	assert_int_equal(v, 1209600);
	assert_int_equal(ta_parse_duration("h", 1000000, &v), TA_ERR_INPUT);
	assert_int_equal(ta_parse_duration("", 1000000, &v), TA_ERR_INPUT);
	assert_int_equal(ta_parse_duration(" 5", 1000000, &v), TA_ERR_INPUT);
	assert_int_equal(ta_parse_duration("1y", 1000000, &v), TA_ERR_INPUT);
	assert_int_equal(ta_parse_duration("100d", 86400, &v), TA_ERR_INPUT);
	assert_int_equal(ta_parse_uint("+5", 0, 10, &v), TA_ERR_INPUT);
}

/* verify= is parsed once into pointers into the backend table, in order. */
static void test_backends(void **state)
{
	ta_config *c = ta_config_new();
	char err[256];

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->nbackends, 1); /* the default, through the same setter */
	assert_string_equal(c->backends[0]->name, "local");
	assert_int_equal(c->backend_flags, TA_BACKEND_STORE);
	assert_int_equal(ta_config_set(c, "verify", "remote,local", err, sizeof(err)), TA_OK);
	assert_int_equal(c->nbackends, 2);
	assert_ptr_equal(c->backends[0], &ta_backend_remote);
	assert_ptr_equal(c->backends[1], &ta_backend_local);
	assert_true(c->backend_flags & TA_BACKEND_FOREIGN_USERS);
	assert_true(c->backend_flags & TA_BACKEND_NETWORK);
	/* Refused values name the choices and leave the last good list alone. */
	const char *bad[] = {"local,bogus", "local,", ",local", "remote,remote", "local,,remote",
	                     "Local", "local "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ta_config_set(c, "verify", bad[i], err, sizeof(err)),
		                 TA_ERR_CONFIG);
		assert_non_null(strstr(err, "local, remote and/or jwt"));
		assert_int_equal(c->nbackends, 2);
		assert_ptr_equal(c->backends[0], &ta_backend_remote);
		assert_string_equal(ta_config_str(c, "verify"), "remote,local");
	}
	assert_int_equal(ta_config_set(c, "verify", "local\nremote", err, sizeof(err)),
	                 TA_ERR_CONFIG);
	assert_int_equal(c->nbackends, 2);
	assert_int_equal(ta_config_set(c, "verify", "remote", err, sizeof(err)), TA_OK);
	assert_int_equal(c->nbackends, 1);
	assert_false(c->backend_flags & TA_BACKEND_STORE);
	assert_ptr_equal(ta_backend_find("remote", 6), &ta_backend_remote);
	assert_null(ta_backend_find("remot", 5));
	assert_null(ta_backend_find("", 0));
	ta_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),  cmocka_unit_test(test_values_and_errors),
	    cmocka_unit_test(test_words),     cmocka_unit_test(test_words_reuse),     cmocka_unit_test(test_file_errors_name_line),
	    cmocka_unit_test(test_durations), cmocka_unit_test(test_backends),
	};
	return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
