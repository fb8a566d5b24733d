/* test_portal.c - the portal's pure parts (cmocka): the HTML encoder, the
 * form and cookie parsers, the CSRF check and the trusted-proxy match;
 * good and bad inputs side by side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "portal_parse.h"

static char *enc(const char *s)
{
	struct td_buf b;

	td_buf_init(&b, 4096);
	td_buf_text(&b, s);
	return td_buf_take(&b);
}

static void test_html_escape(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"laptop mail", "laptop mail"},
	    {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
	    {"\" onmouseover=\"x", "&quot; onmouseover=&quot;x"},
	    {"a'b&c", "a&#39;b&amp;c"},
	    {"&amp;", "&amp;amp;"},
	    {"tab\there", "tab\there"},
	    {"nl\nx\x7f", "nl\xef\xbf\xbdx\xef\xbf\xbd"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"", ""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *o = enc(v[i].in);
		assert_non_null(o);
		assert_string_equal(o, v[i].out);
		free(o);
	}
}

static void test_buf_cap(void **state)
{
	struct td_buf b;

	(void)state;
	td_buf_init(&b, 8);
	td_buf_put(&b, "1234567");
	td_buf_put(&b, "8"); /* past the cap: the whole page is refused */
	assert_null(td_buf_take(&b));
}

static void test_form(void **state)
{
	const char *body = "user=alice&password=p%40ss+word%21&empty=&flag&label=%3Cb%3E";
	char out[32];

	(void)state;
	assert_int_equal(td_form_get(body, strlen(body), "user", out, sizeof(out)), 5);
	assert_string_equal(out, "alice");
	assert_int_equal(td_form_get(body, strlen(body), "password", out, sizeof(out)), 10);
	assert_string_equal(out, "p@ss word!");
	assert_int_equal(td_form_get(body, strlen(body), "empty", out, sizeof(out)), 0);
	assert_int_equal(td_form_get(body, strlen(body), "flag", out, sizeof(out)), 0);
	assert_int_equal(td_form_get(body, strlen(body), "label", out, sizeof(out)), 3);
	assert_string_equal(out, "<b>");
	assert_int_equal(td_form_get(body, strlen(body), "missing", out, sizeof(out)), -1);
	assert_int_equal(td_form_get(body, strlen(body), "use", out, sizeof(out)), -1); /* no prefix */
	/* malformed: short or bad escapes, a decoded NUL or control, too long */
	assert_int_equal(td_form_get("a=%4", 4, "a", out, sizeof(out)), -2);
	assert_int_equal(td_form_get("a=%", 3, "a", out, sizeof(out)), -2);
	assert_int_equal(td_form_get("a=%zz", 5, "a", out, sizeof(out)), -2);
	assert_int_equal(td_form_get("a=x%00y", 7, "a", out, sizeof(out)), -2);
	assert_int_equal(td_form_get("a=x%01y", 7, "a", out, sizeof(out)), -2);
	assert_int_equal(td_form_get("a=0123456789", 12, "a", out, 5), -2);
	/* the length bounds the scan: nothing past len is read */
	assert_int_equal(td_form_get("a=1&b=2", 3, "b", out, sizeof(out)), -1);
	/* the first of two wins */
	assert_int_equal(td_form_get("a=1&a=2", 7, "a", out, sizeof(out)), 1);
	assert_string_equal(out, "1");
}

static void test_cookie(void **state)
{
	char out[80];

	(void)state;
	assert_int_equal(td_cookie_get("a=1; __Host-tokenauth=abc; b=2", "__Host-tokenauth", out,
	                               sizeof(out)),
	                 3);
	assert_string_equal(out, "abc");
	assert_int_equal(td_cookie_get("__Host-tokenauth=xyz", "__Host-tokenauth", out, sizeof(out)),
	                 3);
	assert_int_equal(td_cookie_get("x__Host-tokenauth=1", "__Host-tokenauth", out, sizeof(out)),
	                 -1);
	assert_int_equal(td_cookie_get(NULL, "__Host-tokenauth", out, sizeof(out)), -1);
	assert_int_equal(td_cookie_get("", "__Host-tokenauth", out, sizeof(out)), -1);
	/* two of ours (a sibling host's cookie shadowing): refused */
	assert_int_equal(td_cookie_get("__Host-tokenauth=a; __Host-tokenauth=b", "__Host-tokenauth",
	                               out, sizeof(out)),
	                 -2);
	assert_int_equal(td_cookie_get("__Host-tokenauth=0123456789", "__Host-tokenauth", out, 5), -2);
}

static void test_csrf(void **state)
{
	const char *sid = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char t[TD_CSRF_LEN + 1], t2[TD_CSRF_LEN + 1];

	(void)state;
	assert_int_equal(td_csrf_token(sid, t), 0);
	assert_int_equal(strlen(t), TD_CSRF_LEN);
	assert_true(td_csrf_ok(sid, t));
	assert_int_equal(td_csrf_token("ffff", t2), 0);
	assert_string_not_equal(t, t2); /* per session */
	assert_false(td_csrf_ok(sid, t2));
	assert_false(td_csrf_ok(sid, ""));
	assert_false(td_csrf_ok(sid, NULL));
	t[5] ^= 1;
	assert_false(td_csrf_ok(sid, t));
	assert_false(td_csrf_ok(sid, sid)); /* the session id itself is not the token */
}

static void test_proxies(void **state)
{
	char err[128] = "";

	(void)state;
	assert_int_equal(td_addr_listed("127.0.0.1", "127.0.0.1", err, sizeof(err)), 1);
	assert_int_equal(td_addr_listed("127.0.0.1", "127.0.0.2", err, sizeof(err)), 0);
	assert_int_equal(td_addr_listed("10.0.0.0/8, ::1", "10.200.3.4", err, sizeof(err)), 1);
	assert_int_equal(td_addr_listed("10.0.0.0/8, ::1", "11.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(td_addr_listed("10.0.0.0/8 ::1", "::1", err, sizeof(err)), 1);
	assert_int_equal(td_addr_listed("2001:db8::/32", "2001:db8:1::5", err, sizeof(err)), 1);
	assert_int_equal(td_addr_listed("192.168.1.0/25", "192.168.1.200", err, sizeof(err)), 0);
	assert_int_equal(td_addr_listed("0.0.0.0/0", "::1", err, sizeof(err)), 0); /* family */
	assert_int_equal(td_addr_listed("127.0.0.1", "", err, sizeof(err)), 0);
	assert_int_equal(td_addr_listed("127.0.0.1/33", "127.0.0.1", err, sizeof(err)), -1);
	assert_int_equal(td_addr_listed("localhost", "127.0.0.1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "localhost"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html_escape), cmocka_unit_test(test_buf_cap),
	    cmocka_unit_test(test_form),        cmocka_unit_test(test_cookie),
	    cmocka_unit_test(test_csrf),        cmocka_unit_test(test_proxies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
