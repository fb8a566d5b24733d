/*
 * test_limits.c - tokenauthd's per-client table (tokenauthd/limits.c) with
 * tiny sizes: a table whose every slot holds a locked-out client refuses a
 * newcomer (TD_LIMIT_RATE with a retry time) instead of crashing (issue 9,
 * defect 3: NULL dereference in td_limits_take), and never evicts a locked
 * client to make room, so no lockout is washed away.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tokenauthd.h"

/* limits.c logs lockouts; the test has no logger. */
void td_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static void lock_client(td_limits *l, const char *c)
{
	for (int i = 0; i < 5; i++)
		td_limits_fail(l, c);
}

static void test_full_of_locked_refuses(void **state)
{
	char name[16];
	unsigned retry = 0;
	td_limits *l = td_limits_new_sized(8, 8);
	(void)state;
	assert_non_null(l);
	td_limits_configure(l, 0, 5, 300);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "10.0.0.%d", i);
		assert_int_equal(td_limits_take(l, name, &retry), TD_LIMIT_OK);
		lock_client(l, name);
		assert_int_equal(td_limits_take(l, name, &retry), TD_LIMIT_LOCKED);
		assert_true(retry >= 300);
	}
	/* the 9th client: no slot; refused with a retry, not a crash */
	retry = 0;
	assert_int_equal(td_limits_take(l, "10.0.0.100", &retry), TD_LIMIT_RATE);
	assert_true(retry >= 1 && retry <= 301);
	td_limits_fail(l, "10.0.0.100"); /* no room to count: must not crash */
	td_limits_ok(l, "10.0.0.100");
	assert_int_equal(td_limits_take(l, "10.0.0.100", &retry), TD_LIMIT_RATE);
	/* many newcomers later, every locked client is still locked */
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(td_limits_take(l, name, &retry), TD_LIMIT_RATE);
		td_limits_fail(l, name);
		td_limits_ok(l, name);
	}
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "10.0.0.%d", i);
		td_limits_ok(l, name); /* a success does not lift a running lock */
		assert_int_equal(td_limits_take(l, name, &retry), TD_LIMIT_LOCKED);
	}
	td_limits_free(l);
}

static void test_unlocked_slot_is_reused(void **state)
{
	unsigned retry = 0;
	td_limits *l = td_limits_new_sized(4, 4);
	(void)state;
	assert_non_null(l);
	td_limits_configure(l, 0, 5, 300);
	lock_client(l, "a");
	lock_client(l, "b");
	lock_client(l, "c");
	assert_int_equal(td_limits_take(l, "d", &retry), TD_LIMIT_OK);
	td_limits_fail(l, "d");
	/* e takes d's slot (the only unlocked one); a, b, c stay locked */
	assert_int_equal(td_limits_take(l, "e", &retry), TD_LIMIT_OK);
	assert_int_equal(td_limits_take(l, "a", &retry), TD_LIMIT_LOCKED);
	assert_int_equal(td_limits_take(l, "b", &retry), TD_LIMIT_LOCKED);
	assert_int_equal(td_limits_take(l, "c", &retry), TD_LIMIT_LOCKED);
	/* lock e: now the table is full of locked clients */
	lock_client(l, "e");
	assert_int_equal(td_limits_take(l, "e", &retry), TD_LIMIT_LOCKED);
	assert_int_equal(td_limits_take(l, "f", &retry), TD_LIMIT_RATE);
	td_limits_free(l);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_null(td_limits_new_sized(0, 1));
	assert_null(td_limits_new_sized(4, 0));
	assert_null(td_limits_new_sized(4, 5));
	td_limits_free(NULL);
	td_limits *l = td_limits_new();
	assert_non_null(l);
	td_limits_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_of_locked_refuses),
	    cmocka_unit_test(test_unlocked_slot_is_reused),
	    cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
