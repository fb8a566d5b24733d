/*
 * test_remote_gate.c - the input gate and the remote backend against a
 * lying endpoint in this process: control bytes in credentials, answers
 * left over on a kept-alive connection (issue 9, defect 1), lockout of
 * users only the remote knows (defect 6), revocation winning over the
 * offline cache (defect 7), try_first_pass passwords kept home, and the
 * bounded throttle table.
 */
#include "helpers.h"
#include "config_int.h"
#include "ctx_int.h"
#include "store.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

/* ---- a kudo endpoint on 127.0.0.1 with scripted answers ------------------ */

enum { ANSWER_403, ANSWER_YES, ANSWER_403_THEN_SMUGGLED };

struct fake {
	int lfd, port;
	pthread_t th;
	volatile int mode, requests, stop;
	char last_token[600];
};

static const char yes_body[] = "{\"userAccount\":\"alice\",\"tenantSpaceId\":\"\"}";

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;
	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

static void answer(struct fake *f, int fd)
{
	char resp[512];

	if (f->mode == ANSWER_YES) {
		snprintf(resp, sizeof(resp),
		         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		         strlen(yes_body), yes_body);
		send_all(fd, resp);
		return;
	}
	send_all(fd, "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}");
	if (f->mode == ANSWER_403_THEN_SMUGGLED) {
		/* an answer to a request nobody sent, arriving a little later */
		usleep(30000);
		snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		         strlen(yes_body), yes_body);
		send_all(fd, resp);
	}
}

static void serve_conn(struct fake *f, int fd)
{
	char buf[8192];
	size_t have = 0;

	for (;;) {
		char *end;
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			return;
		have += (size_t)n;
		buf[have] = '\0';
		while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			char *tok = strstr(buf, "x-api-token: ");
			size_t used = (size_t)(end + 4 - buf);
			f->requests++;
			f->last_token[0] = '\0';
			if (tok != NULL && tok < end) {
				char *eol = strstr(tok, "\r\n");
				snprintf(f->last_token, sizeof(f->last_token), "%.*s",
				         (int)(eol - tok - 13), tok + 13);
			}
			answer(f, fd);
			memmove(buf, buf + used, have - used + 1);
			have -= used;
		}
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	while (!f->stop) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve_conn(f, fd);
		close(fd);
	}
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int one = 1;

	memset(f, 0, sizeof(*f));
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	f->stop = 1;
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_cancel(f->th);
	pthread_join(f->th, NULL);
}

static struct env *remote_env(struct fake *f, const char *url)
{
	struct env *e = env_init();
	char u[128];

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/%s", f->port, url);
	set(e, "verify", "remote");
	set(e, "profile", "kudo");
	set(e, "url", u);
	set(e, "timeout_ms", "1000");
	env_reopen(e);
	return e;
}

static int verify_flags(struct env *e, const char *cred, unsigned flags)
{
	struct ta_request req = {"alice", NULL, cred, strlen(cred), "unit", NULL, flags};
	return ta_verify(e->ctx, &req, NULL);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_gate_refuses_control_bytes(void **state)
{
	static const char *const bad[] = {
	    "x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", "tok en", "tok\ten", "tok\x7f",
	    "tok\xc3\xa9", "",
	};
	struct fake f;
	struct env *e;
	char nul[] = "abc\0def";
	(void)state;
	fake_start(&f);
	f.mode = ANSWER_YES;
	e = remote_env(&f, "verify");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(verify_flags(e, bad[i], 0), TA_ERR_REJECTED);
		assert_null(strstr(e->lastlog, "healthz"));
	}
	{
		struct ta_request req = {"alice", NULL, nul, 7, "unit", NULL, 0};
		assert_int_equal(ta_verify(e->ctx, &req, NULL), TA_ERR_REJECTED);
	}
	assert_int_equal(f.requests, 0); /* nothing refused reached the endpoint */
	assert_true(ta_credential_ok("tka_abc-._~+/=", 14));
	assert_int_equal(verify_flags(e, "good-token-1234567", 0), TA_OK);
	assert_int_equal(f.requests, 1);
	env_free(e);
	fake_stop(&f);
}

static void test_gate_names(void **state)
{
	(void)state;
	assert_true(ta_name_ok("alice", 256));
	assert_true(ta_name_ok("zo\xc3\xab", 256));               /* U+00EB */
	assert_true(ta_name_ok("\xe6\x97\xa5\xe6\x9c\xac", 256)); /* CJK */
	assert_false(ta_name_ok("", 256));
	assert_false(ta_name_ok("a\nb", 256));
	assert_false(ta_name_ok("a\x7f", 256));
	assert_false(ta_name_ok("a\xc2\x85", 256));         /* U+0085 NEL, a C1 control */
	assert_false(ta_name_ok("a\xc0\xaf", 256));         /* overlong '/' */
	assert_false(ta_name_ok("a\xed\xa0\x80", 256));     /* surrogate */
	assert_false(ta_name_ok("a\xe6\x97", 256));         /* truncated */
	assert_false(ta_name_ok("a\xf4\x90\x80\x80", 256)); /* beyond U+10FFFF */
	assert_false(ta_name_ok("abcdef", 5));
	assert_false(ta_name_ok("alice ", 256)); /* a second throttle row for alice */
	assert_false(ta_name_ok(" alice", 256));
	assert_true(ta_name_ok("alice smith", 256));
}

/* Defect 1's second half: a reused connection with bytes waiting is not read. */
static void test_leftover_answer_not_read(void **state)
{
	struct fake f;
	struct env *e;
	(void)state;
	fake_start(&f);
	f.mode = ANSWER_403_THEN_SMUGGLED;
	e = remote_env(&f, "verify");
	assert_int_equal(verify_flags(e, "wrong-token-aaaaaaaa", 0), TA_ERR_REJECTED);
	usleep(150000); /* the smuggled answer is now waiting on the kept-alive socket */
	f.mode = ANSWER_403;
	assert_int_equal(verify_flags(e, "wrong-token-bbbbbbbb", 0), TA_ERR_REJECTED);
	assert_string_equal(f.last_token, "wrong-token-bbbbbbbb"); /* it asked anew */
	env_free(e);
	fake_stop(&f);
}

/*
 * An option of the recipe that libcurl refuses (an older libcurl, a TLS
 * library without pinning, no memory for a string) stops the request: no
 * transfer with libcurl's default in its place, and a configuration
 * error, never an outage a stack could skip.  A pin longer than libcurl
 * takes (CURL_MAX_INPUT_LENGTH, 8 MB) stands in for them here.
 */
static void test_refused_option_no_transfer(void **state)
{
	const size_t len = 9u << 20;
	ta_config *cfg;
	struct fake f;
	struct env *e;
	char *pin = malloc(len + 1), *was;
	(void)state;
	assert_non_null(pin);
	memset(pin, 'a', len);
	pin[len] = '\0';
	fake_start(&f);
	e = remote_env(&f, "verify");
	cfg = (ta_config *)(uintptr_t)e->ctx->cfg;
	was = cfg->pinned_pubkey;
	cfg->pinned_pubkey = pin;
	assert_int_equal(verify_flags(e, "wrong-token-aaaaaaaa", 0), TA_ERR_CONFIG);
	assert_int_equal(f.requests, 0);
	cfg->pinned_pubkey = was;
	assert_int_equal(verify_flags(e, "wrong-token-bbbbbbbb", 0), TA_ERR_REJECTED);
	assert_int_equal(f.requests, 1);
	env_free(e);
	fake_stop(&f);
	free(pin);
}

/* Defect 6: a user only the remote knows is locked out too. */
static void test_remote_only_user_locked(void **state)
{
	struct fake f;
	struct env *e;
	int before;
	(void)state;
	fake_start(&f);
	f.mode = ANSWER_403;
	e = remote_env(&f, "verify");
	set(e, "max_failures", "3");
	env_reopen(e);
	for (int i = 0; i < 3; i++)
		assert_int_equal(verify_flags(e, "123456", 0), TA_ERR_REJECTED);
	before = f.requests;
	f.mode = ANSWER_YES;
	assert_int_equal(verify_flags(e, "123457", 0), TA_ERR_LOCKED);
	assert_int_equal(f.requests, before); /* locked: the endpoint is not asked */
	env_free(e);
	fake_stop(&f);
}

/* Defect 7: a refusal evicts the cached success; grace cannot bring it back. */
static void test_rejection_evicts_grace(void **state)
{
	struct fake f;
	struct env *e;
	(void)state;
	fake_start(&f);
	f.mode = ANSWER_YES;
	e = remote_env(&f, "verify");
	set(e, "offline_grace", "3600");
	env_reopen(e);
	assert_int_equal(verify_flags(e, "revoked-token-123456", 0), TA_OK);
	f.mode = ANSWER_403; /* revoked at the source */
	assert_int_equal(verify_flags(e, "revoked-token-123456", 0), TA_ERR_REJECTED);
	fake_stop(&f); /* and now the endpoint is down */
	assert_int_equal(verify_flags(e, "revoked-token-123456", 0), TA_ERR_UNAVAILABLE);
	env_free(e);
}

/* A refusal seen by one service evicts the success cached by every other. */
static void test_revocation_every_service(void **state)
{
	struct fake f;
	struct env *e;
	const char *tok = "revoked-token-654321x";
	struct ta_request sudo = {"alice", NULL, tok, strlen(tok), "sudo", NULL, 0},
	                  sshd = {"alice", NULL, tok, strlen(tok), "sshd", NULL, 0};
	(void)state;
	fake_start(&f);
	f.mode = ANSWER_YES;
	e = remote_env(&f, "verify");
	set(e, "offline_grace", "86400");
	env_reopen(e);
	assert_int_equal(ta_verify(e->ctx, &sudo, NULL), TA_OK);
	f.mode = ANSWER_403;
	assert_int_equal(ta_verify(e->ctx, &sshd, NULL), TA_ERR_REJECTED);
	fake_stop(&f);
	assert_int_equal(ta_verify(e->ctx, &sshd, NULL), TA_ERR_UNAVAILABLE);
	assert_int_equal(ta_verify(e->ctx, &sudo, NULL), TA_ERR_UNAVAILABLE);
	env_free(e);
}

/* try_first_pass: another module's password stays home and is not counted. */
static void test_stacked_password_kept_home(void **state)
{
	struct fake f;
	struct env *e;
	(void)state;
	fake_start(&f);
	f.mode = ANSWER_403;
	e = remote_env(&f, "verify");
	set(e, "max_failures", "2");
	env_reopen(e);
	for (int i = 0; i < 5; i++)
		assert_int_equal(verify_flags(e, "my-unix-Passw0rd!", TA_REQ_STACKED),
		                 TA_ERR_REJECTED);
	assert_int_equal(f.requests, 0);
	/* a stacked OTP-shaped code is ours: asked and counted */
	assert_int_equal(verify_flags(e, "123456", TA_REQ_STACKED), TA_ERR_REJECTED);
	assert_int_equal(f.requests, 1);
	f.mode = ANSWER_YES;
	assert_int_equal(verify_flags(e, "good-token-1234567", 0), TA_OK); /* not locked */
	env_free(e);
	fake_stop(&f);
}

/* The throttle table is bounded; a full table of lockouts forgets none. */
static void test_throttle_table_bounded(void **state)
{
	struct env *e = env_init();
	ta_store *st = NULL;
	struct ta_throttle t = {1, 0, 0}, locked = {0, 1, 0}, got;
	char err[256], name[32];
	int64_t now = 1700000000;
	(void)state;
	assert_int_equal(ta_store_open(e->store, 0, &st, err, sizeof(err)), TA_OK);
	ta_store_set_throttle_cap(st, 4);
	locked.locked_until = now + 600;
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "locked%d", i);
		assert_int_equal(ta_store_throttle_put(st, name, "", &locked, now, 1), TA_OK);
	}
	/* full of lockouts: a new row is refused, the locked rows stay */
	assert_int_equal(ta_store_throttle_put(st, "new", "", &t, now, 1), TA_ERR_EXISTS);
	assert_int_equal(ta_store_throttle_get(st, "locked0", "", &got), TA_OK);
	assert_int_equal(got.locked_until, now + 600);
	/* an existing row can still be updated */
	assert_int_equal(ta_store_throttle_put(st, "locked1", "", &locked, now, 1), TA_OK);
	/* once the lockouts end and a day passes, the rows expire and make room */
	assert_int_equal(ta_store_throttle_put(st, "new", "", &t, now + TA_THROTTLE_IDLE + 700, 1),
	                 TA_OK);
	assert_int_equal(ta_store_throttle_get(st, "new", "", &got), TA_OK);
	assert_int_equal(got.failures, 1);
	/* at the cap with unlocked rows, the oldest unlocked row gives way */
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(ta_store_throttle_put(
		                     st, name, "", &t,
		                     now + TA_THROTTLE_IDLE + 800 + i * TA_THROTTLE_EVICT_AGE, 1),
		                 TA_OK);
	}
	/* which went: "new" and the two oldest, each once its hour was up */
	assert_int_equal(ta_store_throttle_get(st, "new", "", &got), TA_OK);
	assert_int_equal(got.failures, 0);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(ta_store_throttle_get(st, name, "", &got), TA_OK);
		assert_int_equal(got.failures, i < 2 ? 0 : 1);
	}
	/* an enrolled user is never refused a row, full table or not */
	ta_store_set_throttle_cap(st, 1);
	assert_int_equal(ta_store_throttle_put(st, "enrolled", "", &locked, now + TA_THROTTLE_IDLE + 900, 0),
	                 TA_OK);
	ta_store_close(st);
	env_free(e);
}

/* A table full of lockouts refuses a guessable code unchecked: fail closed. */
static void test_full_table_fails_closed(void **state)
{
	struct fake f;
	struct env *e;
	ta_store *st = NULL;
	struct ta_throttle locked = {0, 1, 0};
	char name[32];
	int before;
	(void)state;
	fake_start(&f);
	f.mode = ANSWER_403;
	e = remote_env(&f, "verify");
	assert_int_equal(ta_ctx_store(e->ctx, &st), TA_OK);
	ta_store_set_throttle_cap(st, 3);
	locked.locked_until = (int64_t)time(NULL) + 600;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "filler%d", i);
		assert_int_equal(ta_store_throttle_put(st, name, "", &locked, (int64_t)time(NULL), 1),
		                 TA_OK);
	}
	before = f.requests;
	for (int i = 0; i < 10; i++)
		assert_int_equal(verify_flags(e, "123456", 0), TA_ERR_INTERNAL);
	assert_int_equal(f.requests, before); /* the victim's codes were never checked */
	env_free(e);
	fake_stop(&f);
}

/*
 * helper-53 F1, as an attacker runs it (defaults: 5 failures lock, for 300 s
 * doubled per lockout): 20 made-up names fill a table capped at 20, each
 * locked five times (25 failures), then kept with one failure every 23 h
 * for 14 days; a remote-only user with no row tries a code every 10
 * minutes, and a success deletes the row again.  On schema 6 (the doubled
 * wait counted from the last write) every one of the 2,016 tries was
 * refused unchecked; counted from the lockout's end, about one in nine is:
 * those in the day after a lockout and in the hour after a failure.
 */
static void test_full_table_upkeep(void **state)
{
	struct env *e = env_init();
	ta_store *st = NULL;
	const int64_t t0 = 1800000000, step = 600, upkeep = 23 * 3600;
	int64_t now = t0, last[20];
	unsigned refused = 0, tries = 0;
	char name[32];
	(void)state;
	assert_int_equal(ta_ctx_store(e->ctx, &st), TA_OK);
	ta_store_set_throttle_cap(st, 20);
	for (unsigned l = 0; l < 5; l++) { /* five lockouts each */
		ta_ctx_set_time(e->ctx, now);
		for (int i = 0; i < 20; i++) {
			snprintf(name, sizeof(name), "held%d", i);
			for (int k = 0; k < 5; k++)
				assert_int_equal(ta_throttle_fail(e->ctx, name, ""), TA_OK);
			last[i] = now;
		}
		now += (int64_t)ta_lockout_secs(300, l) + 1;
	}
	for (int64_t end = now + 14 * 86400; now < end; now += step) {
		ta_ctx_set_time(e->ctx, now);
		for (int i = 0; i < 20; i++) {
			if (now - last[i] < upkeep)
				continue;
			snprintf(name, sizeof(name), "held%d", i);
			(void)ta_throttle_fail(e->ctx, name, ""); /* refused once it lost its row */
			last[i] = now;
		}
		tries++;
		if (ta_throttle_fail(e->ctx, "newcomer", "") == TA_ERR_EXISTS)
			refused++;
		else
			assert_int_equal(ta_store_throttle_clear(st, "newcomer", "", NULL), TA_OK);
	}
	print_message("newcomer refused %u of %u tries\n", refused, tries);
	assert_int_equal(tries, 2016);
	/* the day after the lockouts (144 tries: the doubling holds), then the
	 * hour after each round of upkeep (6 tries a round, 13 rounds) and
	 * the day after the lockout that every fifth round starts: 222 here */
	assert_true(refused >= 144);
	assert_true(refused <= 2016 / 8);
	env_free(e);
}

/*
 * helper-54 F3: a row at the largest lockout count a row may hold (a
 * migrated or copied one) locked again went past it, and every later
 * failure was refused unwritten.  The counts saturate.
 */
static void test_counts_saturate(void **state)
{
	struct env *e = env_init();
	ta_store *st = NULL;
	struct ta_throttle t = {4, INT32_MAX, 0}, got;
	const int64_t now = 1800000000;
	(void)state;
	assert_int_equal(ta_ctx_store(e->ctx, &st), TA_OK);
	assert_int_equal(ta_store_throttle_put(st, "max", "", &t, now, 1), TA_OK);
	ta_ctx_set_time(e->ctx, now + 1);
	assert_int_equal(ta_throttle_fail(e->ctx, "max", ""), TA_OK);
	assert_int_equal(ta_store_throttle_get(st, "max", "", &got), TA_OK);
	assert_int_equal(got.lockouts, INT32_MAX);
	assert_true(got.locked_until > now + 1); /* locked, and written */
	env_free(e);
}

/* A crafted name cannot forge a field of the outcome line. */
static void test_log_fields_quoted(void **state)
{
	struct env *e = env_init();
	char buf[TA_LOGQ_MAX];
	(void)state;
	assert_string_equal(ta_logq("alice", buf, sizeof(buf)), "alice");
	assert_string_equal(ta_logq("x outcome=success", buf, sizeof(buf)),
	                    "\"x outcome=success\"");
	assert_string_equal(ta_logq("a\"b\\", buf, sizeof(buf)), "\"a\\\"b\\\\\"");
	{
		struct ta_request req = {"x reason=success user=root", NULL, "wrong-token-123456",
		                         18, "unit", NULL, 0};
		assert_int_not_equal(ta_verify(e->ctx, &req, NULL), TA_OK);
		assert_non_null(strstr(e->lastlog, "user=\"x reason=success user=root\""));
	}
	env_free(e);
}

/* tenant_from_user: one principal has one name. */
static void test_one_name_per_principal(void **state)
{
	struct env *e = env_init();
	char id[16];
	int64_t exp;
	char tok[64];
	(void)state;
	set(e, "tenant_from_user", "yes");
	set(e, "tenant", "acme");
	env_reopen(e);
	assert_int_equal(ta_token_issue(e->ctx, "alice", "acme", 0, NULL, tok, id, &exp), TA_OK);
	assert_int_equal(check(e, "alice", NULL, tok), TA_OK);
	assert_int_equal(check(e, "alice@acme", NULL, tok), TA_ERR_INPUT);
	assert_int_equal(check(e, "alice@x@acme", NULL, tok), TA_ERR_INPUT);
	assert_int_equal(check(e, "alice", "acme", tok), TA_OK); /* explicit tenant: no name rule */
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gate_refuses_control_bytes),
	    cmocka_unit_test(test_gate_names),
	    cmocka_unit_test(test_leftover_answer_not_read),
	    cmocka_unit_test(test_refused_option_no_transfer),
	    cmocka_unit_test(test_remote_only_user_locked),
	    cmocka_unit_test(test_rejection_evicts_grace),
	    cmocka_unit_test(test_revocation_every_service),
	    cmocka_unit_test(test_stacked_password_kept_home),
	    cmocka_unit_test(test_throttle_table_bounded),
	    cmocka_unit_test(test_full_table_fails_closed),
	    cmocka_unit_test(test_full_table_upkeep),
	    cmocka_unit_test(test_counts_saturate),
	    cmocka_unit_test(test_log_fields_quoted),
	    cmocka_unit_test(test_one_name_per_principal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
