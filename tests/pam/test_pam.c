/*
 * test_pam.c - pam_tokenauth.so through the real libpam, under pam_wrapper,
 * driven by libpamtest and cmocka.
 *
 * run.sh prepares the fixture (store, configs, PAM service files, tokens)
 * and runs this program with TA_MOD=path/to/pam_tokenauth.so and:
 *   LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$FIX/svc
 *   PAM_WRAPPER_DEBUGLEVEL=2 (module syslog lines go to stderr, captured here)
 *   TA_FIX=$FIX TA_CLI=path/to/tokenauth
 * Every row of SPEC §4 and every PAM option has a case below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pamtest_util.h"

#define LOG_CAP   65536
#define DELAY_MIN 990000u /* libpam randomises the 2 s request, up to -50% */

static const char *fix, *cli;

/* One pam_authenticate through libpamtest, with everything it showed. */
struct call {
	const char *service, *user, *answer;
	const char *authtok; /* PAM_AUTHTOK for pam_set_items.so, or NULL */
	const char *rhost;
	struct conv_rec rec;
	char log[LOG_CAP]; /* pam_syslog lines (pam_wrapper prints them) */
	char **env;        /* PAM environment after the call */
};

/* ---- fixture helpers ---------------------------------------------------- */

/* Contents of $FIX/name without the trailing newline; never NULL. */
static char *fixture(const char *name)
{
	char path[4096], *buf = calloc(1, 1024);
	FILE *f;
	size_t n;

	assert_non_null(buf);
	snprintf(path, sizeof(path), "%s/%s", fix, name);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("fixture %s: %s", path, strerror(errno));
	n = fread(buf, 1, 1023, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

/* Run a shell command (fixture data only); fails the test on error. */
static void shell(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

/* A code from oathtool, the independent implementation. */
static void oath_code(const char *args, const char *secret_file, char code[16])
{
	char cmd[4096], *secret = fixture(secret_file);
	FILE *p;

	snprintf(cmd, sizeof(cmd), "oathtool %s -b %s", args, secret);
	free(secret);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (fgets(code, 16, p) == NULL)
		fail_msg("oathtool gave no code");
	pclose(p);
	code[strcspn(code, "\n")] = '\0';
	assert_true(strlen(code) >= 6);
}

/* ---- running PAM ---------------------------------------------------------- */

struct capture {
	int fd, saved;
};

static void capture_start(struct capture *cap)
{
	char tmpl[] = "/tmp/ta-pamlog.XXXXXX";

	fflush(stderr);
	cap->fd = mkstemp(tmpl);
	assert_true(cap->fd >= 0);
	unlink(tmpl);
	cap->saved = dup(STDERR_FILENO);
	assert_true(cap->saved >= 0);
	assert_true(dup2(cap->fd, STDERR_FILENO) >= 0);
}

static void capture_end(struct capture *cap, char *buf, size_t bufcap)
{
	ssize_t n;

	fflush(stderr);
	dup2(cap->saved, STDERR_FILENO);
	close(cap->saved);
	lseek(cap->fd, 0, SEEK_SET);
	n = read(cap->fd, buf, bufcap - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(cap->fd);
}

/* A handle with the recording conversation, delay hook and items of c. */
static pam_handle_t *start(struct call *c)
{
	struct pam_conv conv = {rec_conv, &c->rec};
	pam_handle_t *ph = NULL;

	assert_int_equal(pam_start(c->service, c->user, &conv, &ph), PAM_SUCCESS);
	assert_int_equal(set_delay_hook(ph), PAM_SUCCESS);
	if (c->rhost != NULL)
		assert_int_equal(pam_set_item(ph, PAM_RHOST, c->rhost), PAM_SUCCESS);
	if (c->authtok != NULL)
		setenv("PAM_AUTHTOK", c->authtok, 1);
	else
		unsetenv("PAM_AUTHTOK");
	return ph;
}

/*
 * pam_authenticate once through libpamtest; returns its result.  The
 * module's log lines land in c->log, the PAM environment in c->env.
 */
static int run(struct call *c)
{
	struct pam_testcase tc[] = {
	    pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
	    pam_test(PAMTEST_GETENVLIST, PAM_SUCCESS),
	};
	struct capture cap;
	pam_handle_t *ph;
	enum pamtest_err perr;

	conv_rec_reset(&c->rec, c->answer);
	ph = start(c);
	capture_start(&cap);
	perr = _pamtest_conv(c->service, c->user, rec_conv, &c->rec, tc, 2, ph);
	capture_end(&cap, c->log, sizeof(c->log));
	unsetenv("PAM_AUTHTOK");
	assert_true(perr == PAMTEST_ERR_OK || perr == PAMTEST_ERR_CASE);
	c->env = tc[1].case_out.envlist;
	/* Whatever happened, the credential never reaches a log line. */
	if (c->answer != NULL && strlen(c->answer) >= 12)
		assert_null(strstr(c->log, c->answer));
	if (c->authtok != NULL && strlen(c->authtok) >= 12)
		assert_null(strstr(c->log, c->authtok));
	return tc[0].op_rv;
}

static void call_free(struct call *c)
{
	pamtest_free_env(c->env);
	c->env = NULL;
}

/* Exactly one no-echo prompt and no other message (mod_authnz_pam). */
static void assert_one_prompt(const struct call *c)
{
	assert_int_equal(c->rec.echo_off, 1);
	assert_int_equal(c->rec.echo_on, 0);
	assert_int_equal(c->rec.error_msg, 0);
	assert_int_equal(c->rec.text_info, 0);
}

static void assert_no_prompt(const struct call *c)
{
	assert_int_equal(c->rec.echo_off + c->rec.echo_on + c->rec.error_msg + c->rec.text_info, 0);
}

/* A failure asks libpam for the delay (SPEC §2: every failure). */
static void assert_delayed(const struct call *c)
{
	if (c->rec.delay_usec < DELAY_MIN)
		fail_msg("fail delay %u us, want about 2000000", c->rec.delay_usec);
}

static void assert_log(const struct call *c, const char *needle)
{
	if (strstr(c->log, needle) == NULL)
		fail_msg("log lacks \"%s\"; log was:\n%s", needle, c->log);
}

/* One authentication with its own call record; returns the PAM code. */
static int auth(struct call *c, const char *service, const char *user, const char *answer)
{
	memset(c, 0, sizeof(*c));
	c->service = service;
	c->user = user;
	c->answer = answer;
	return run(c);
}

/* ---- SPEC §4 rows ----------------------------------------------------------- */

static void test_token_valid(void **state)
{
	char *tok = fixture("tok.alice");
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "basic", "alice", tok), PAM_SUCCESS);
	assert_one_prompt(&c);
	assert_string_equal(c.rec.prompt, "Token: ");
	assert_int_equal(c.rec.delay_usec, 0);
	call_free(&c);
	free(tok);
}

static void test_token_wrong(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "basic", "bob", "not-a-token-at-all"), PAM_AUTH_ERR);
	assert_one_prompt(&c);
	assert_delayed(&c);
	call_free(&c);
}

/* One character changed: the checksum catches it, still PAM_AUTH_ERR. */
static void test_token_typo(void **state)
{
	char *tok = fixture("tok.bob");
	size_t n = strlen(tok);
	struct call c;

	(void)state;
	tok[n - 5] = tok[n - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(auth(&c, "basic", "bob", tok), PAM_AUTH_ERR);
	assert_delayed(&c);
	call_free(&c);
	free(tok);
}

/* bob's valid token presented for alice. */
static void test_token_other_user(void **state)
{
	char *tok = fixture("tok.bob");
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "debug", "alice2", tok), PAM_AUTH_ERR);
	assert_log(&c, "another user or tenant");
	call_free(&c);
	free(tok);
}

static void test_token_expired(void **state)
{
	char *tok = fixture("tok.exp");
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "debug", "expuser", tok), PAM_AUTH_ERR);
	assert_log(&c, "expired");
	assert_delayed(&c);
	call_free(&c);
	free(tok);
}

static void test_token_revoked(void **state)
{
	char *t1 = fixture("tok.rev1"), *t2 = fixture("tok.rev2");
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "debug", "rev1", t1), PAM_AUTH_ERR); /* revoke ID */
	assert_log(&c, "revoked");
	call_free(&c);
	assert_int_equal(auth(&c, "debug", "rev2", t2), PAM_AUTH_ERR); /* revoke --user */
	assert_log(&c, "revoked");
	call_free(&c);
	free(t1);
	free(t2);
}

/* A TOTP code is good once: a second use is a replay, on a new handle too. */
static void test_totp_once(void **state)
{
	char code[16];
	struct call c;

	(void)state;
	oath_code("--totp", "sec.totp", code);
	assert_int_equal(auth(&c, "debug", "otpuser", code), PAM_SUCCESS);
	assert_one_prompt(&c);
	assert_log(&c, "method=otp");
	call_free(&c);
	assert_int_equal(auth(&c, "debug", "otpuser", code), PAM_AUTH_ERR);
	assert_log(&c, "already used");
	assert_delayed(&c);
	call_free(&c);
}

/* The same, inside one handle (the cached context must not remember codes). */
static void test_totp_replay_same_handle(void **state)
{
	struct pam_testcase tc[] = {
	    pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
	    pam_test(PAMTEST_AUTHENTICATE, PAM_AUTH_ERR),
	};
	char code[16];
	struct call c;
	pam_handle_t *ph;

	(void)state;
	oath_code("--totp", "sec.totp2", code);
	memset(&c, 0, sizeof(c));
	c.service = "basic";
	c.user = "otpuser2";
	conv_rec_reset(&c.rec, code);
	ph = start(&c);
	assert_int_equal(_pamtest_conv("basic", "otpuser2", rec_conv, &c.rec, tc, 2, ph),
	                 PAMTEST_ERR_OK);
	assert_int_equal(c.rec.echo_off, 2);
}

/* HOTP: counter 0 accepted, 0 again refused, 1 accepted. */
static void test_hotp_counter(void **state)
{
	char c0[16], c1[16];
	struct call c;

	(void)state;
	oath_code("--hotp -c 0", "sec.hotp", c0);
	oath_code("--hotp -c 1", "sec.hotp", c1);
	assert_int_equal(auth(&c, "basic", "hotpuser", c0), PAM_SUCCESS);
	call_free(&c);
	assert_int_equal(auth(&c, "basic", "hotpuser", c0), PAM_AUTH_ERR);
	call_free(&c);
	assert_int_equal(auth(&c, "basic", "hotpuser", c1), PAM_SUCCESS);
	call_free(&c);
}

/* max_failures = 3: the 4th try with the right token fails until unlock. */
static void test_lockout(void **state)
{
	char *tok = fixture("tok.locky");
	struct call c;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(auth(&c, "lock", "locky", "wrong-token-here"), PAM_AUTH_ERR);
		call_free(&c);
	}
	assert_int_equal(auth(&c, "lock", "locky", tok), PAM_AUTH_ERR);
	assert_log(&c, "locked");
	assert_delayed(&c);
	call_free(&c);
	shell("%s -c %s/lock.conf unlock --user locky >/dev/null 2>&1", cli, fix);
	assert_int_equal(auth(&c, "lock", "locky", tok), PAM_SUCCESS);
	call_free(&c);
	free(tok);
}

/* tenant=acme on the PAM line; the same token without it is refused. */
static void test_tenant_config(void **state)
{
	char *tok = fixture("tok.dave");
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "tenant", "dave", tok), PAM_SUCCESS);
	assert_log(&c, "tenant=acme");
	call_free(&c);
	assert_int_equal(auth(&c, "basic", "dave", tok), PAM_AUTH_ERR);
	call_free(&c);
	free(tok);
}

/* tenant_from_user: carol@acme -> (carol, acme). */
static void test_tenant_from_user(void **state)
{
	char *tok = fixture("tok.carol");
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "tfu", "carol@acme", tok), PAM_SUCCESS);
	assert_log(&c, "user=carol tenant=acme");
	call_free(&c);
	assert_int_equal(auth(&c, "tfu", "carol@other", tok), PAM_AUTH_ERR);
	call_free(&c);
	/* Without the option the name is taken whole: the token is carol's. */
	assert_int_equal(auth(&c, "basic", "carol@acme", tok), PAM_AUTH_ERR);
	call_free(&c);
	/* ... and nobody is called "carol@acme". */
	assert_int_equal(auth(&c, "basic", "carol@acme", "tka_x"), PAM_USER_UNKNOWN);
	call_free(&c);
	/* "@acme" leaves no user name at all. */
	assert_int_equal(auth(&c, "tfu", "@acme", tok), PAM_USER_UNKNOWN);
	call_free(&c);
	free(tok);
}

static void test_unknown_user(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "basic", "nosuchuser", "tka_whatever"), PAM_USER_UNKNOWN);
	assert_one_prompt(&c); /* same path as a wrong credential */
	assert_delayed(&c);
	call_free(&c);
}

/*
 * pam_sm_authenticate called directly on a libpam handle, for the exact
 * code a module returns (libpam folds an all-PAM_IGNORE stack into
 * PAM_PERM_DENIED).
 */
static int direct(const char *user, const char *answer, int argc, const char **argv,
                  struct conv_rec *rec)
{
	struct pam_conv conv = {rec_conv, rec};
	pam_handle_t *ph = NULL;
	int (*fn)(pam_handle_t *, int, int, const char **);
	void *so = dlopen(getenv("TA_MOD"), RTLD_NOW | RTLD_LOCAL);
	int r;

	if (so == NULL)
		fail_msg("dlopen: %s", dlerror());
	*(void **)&fn = dlsym(so, "pam_sm_authenticate");
	assert_non_null(fn);
	conv_rec_reset(rec, answer);
	assert_int_equal(pam_start("basic", user, &conv, &ph), PAM_SUCCESS);
	r = fn(ph, 0, argc, argv);
	pam_end(ph, r);
	dlclose(so);
	return r;
}

static void test_nullok(void **state)
{
	char *tok = fixture("tok.nulluser"), conf[4200];
	const char *argv[] = {conf, "nullok"};
	struct conv_rec rec;
	struct call c;

	(void)state;
	snprintf(conf, sizeof(conf), "config=%s/ta.conf", fix);
	/* The module's own answer: PAM_IGNORE, without a prompt. */
	assert_int_equal(direct("nosuchuser", "ignored", 2, argv, &rec), PAM_IGNORE);
	assert_int_equal(rec.echo_off + rec.echo_on + rec.error_msg + rec.text_info, 0);
	/* Without nullok the same user is unknown, after the usual prompt. */
	assert_int_equal(direct("nosuchuser", "x", 1, argv, &rec), PAM_USER_UNKNOWN);
	assert_int_equal(rec.echo_off, 1);
	/* Through libpam: alone in the stack, an ignore is not a success ... */
	assert_int_equal(auth(&c, "nullok", "nosuchuser", "ignored"), PAM_PERM_DENIED);
	assert_no_prompt(&c);
	call_free(&c);
	/* ... and it leaves the decision to the next module. */
	assert_int_equal(auth(&c, "nullok_permit", "nosuchuser", "x"), PAM_SUCCESS);
	assert_no_prompt(&c);
	call_free(&c);
	/* nullok changes nothing for enrolled users: success ... */
	assert_int_equal(auth(&c, "nullok", "nulluser", tok), PAM_SUCCESS);
	assert_one_prompt(&c);
	call_free(&c);
	/* ... and a wrong credential is still a failure, never IGNORE. */
	assert_int_equal(auth(&c, "nullok_permit", "nulluser", "wrong-credential"), PAM_AUTH_ERR);
	call_free(&c);
	free(tok);
}

static void test_store_bad_permissions(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "perm", "alice", "tka_whatever"), PAM_AUTHINFO_UNAVAIL);
	assert_log(&c, "store unavailable");
	assert_delayed(&c);
	call_free(&c);
}

/* A damaged store is an error, never "unknown user" (pam-u2f CVE-2020-24612). */
static void test_store_corrupt(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "corrupt", "alice", "tka_whatever"), PAM_AUTHINFO_UNAVAIL);
	call_free(&c);
	assert_int_equal(auth(&c, "corrupt_nullok", "alice", "x"), PAM_AUTHINFO_UNAVAIL);
	call_free(&c);
}

static void test_store_missing(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "nostore", "alice", "tka_whatever"), PAM_AUTHINFO_UNAVAIL);
	call_free(&c);
}

static void test_config_missing(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "noconf", "alice", "x"), PAM_SERVICE_ERR);
	assert_no_prompt(&c);
	/* names the file, or the missing folder on its way (ta_file_check_dir) */
	assert_log(&c, "configuration error: /nonexistent");
	call_free(&c);
}

static void test_config_unknown_option(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "badopt", "alice", "x"), PAM_SERVICE_ERR);
	assert_no_prompt(&c);
	assert_log(&c, "unknown option 'bogus_option'");
	call_free(&c);
}

static void test_config_bad_value(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "badval", "alice", "x"), PAM_SERVICE_ERR);
	assert_log(&c, "max_failures");
	call_free(&c);
	assert_int_equal(auth(&c, "relconf", "alice", "x"), PAM_SERVICE_ERR);
	assert_log(&c, "config");
	call_free(&c);
	assert_int_equal(auth(&c, "badfile", "alice", "x"), PAM_SERVICE_ERR);
	assert_log(&c, "bad.conf:4: unknown option 'bogus'");
	call_free(&c);
}

static void test_conversation_error(void **state)
{
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "basic", "alice", NULL), PAM_CONV_ERR);
	call_free(&c);
}

/* ---- options ------------------------------------------------------------------ */

static void test_prompt_option(void **state)
{
	char *tok = fixture("tok.alice");
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "prompt", "alice", tok), PAM_SUCCESS);
	assert_one_prompt(&c);
	assert_string_equal(c.rec.prompt, "Your code: ");
	call_free(&c);
	free(tok);
}

static int first_pass(struct call *c, const char *service, const char *user, const char *authtok,
                      const char *answer)
{
	memset(c, 0, sizeof(*c));
	c->service = service;
	c->user = user;
	c->authtok = authtok;
	c->answer = answer;
	return run(c);
}

static void test_try_first_pass(void **state)
{
	char *tok = fixture("tok.tryuser");
	struct call c;

	(void)state;
	/* The earlier module's credential is right: no prompt. */
	assert_int_equal(first_pass(&c, "try", "tryuser", tok, NULL), PAM_SUCCESS);
	assert_no_prompt(&c);
	call_free(&c);
	/* It is wrong (a Unix password, say): ask once, accept the answer. */
	assert_int_equal(first_pass(&c, "try", "tryuser", "unix-password", tok), PAM_SUCCESS);
	assert_one_prompt(&c);
	call_free(&c);
	/* There is none: ask once. */
	assert_int_equal(first_pass(&c, "try", "tryuser", NULL, tok), PAM_SUCCESS);
	assert_one_prompt(&c);
	call_free(&c);
	/* Wrong first pass and wrong answer. */
	assert_int_equal(first_pass(&c, "try", "tryuser", "pw", "also-wrong"), PAM_AUTH_ERR);
	assert_one_prompt(&c);
	call_free(&c);
	free(tok);
}

/*
 * try_first_pass with max_failures = 3: the earlier module's password is
 * not ours and does not count, so two wrong answers leave the third login
 * open (counted, the stacked password would have locked it).  The answers
 * to the prompt still count.
 */
static void test_try_first_pass_lockout(void **state)
{
	char *tok = fixture("tok.trylock");
	struct call c;

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(first_pass(&c, "trylock", "trylock", "unix-password", "tka_wrong"),
		                 PAM_AUTH_ERR);
		assert_one_prompt(&c);
		call_free(&c);
	}
	assert_int_equal(first_pass(&c, "trylock", "trylock", "unix-password", tok), PAM_SUCCESS);
	assert_one_prompt(&c);
	call_free(&c);
	/* the same wrong string typed again is one failure, not two */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(first_pass(&c, "trylock", "trylock", "tka_wrong", "tka_wrong"),
		                 PAM_AUTH_ERR);
		call_free(&c);
	}
	assert_int_equal(first_pass(&c, "trylock", "trylock", "unix-password", tok), PAM_SUCCESS);
	call_free(&c);
	/* three counted answers lock */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(first_pass(&c, "trylock", "trylock", "unix-password", "tka_wrong"),
		                 PAM_AUTH_ERR);
		call_free(&c);
	}
	assert_int_equal(first_pass(&c, "trylock", "trylock", "unix-password", tok), PAM_AUTH_ERR);
	assert_log(&c, "locked");
	call_free(&c);
	shell("%s -c %s/ta.conf unlock --user trylock >/dev/null 2>&1", cli, fix);
	free(tok);
}

static void test_use_first_pass(void **state)
{
	char *tok = fixture("tok.useuser");
	struct call c;

	(void)state;
	assert_int_equal(first_pass(&c, "use", "useuser", tok, "never-asked"), PAM_SUCCESS);
	assert_no_prompt(&c);
	call_free(&c);
	assert_int_equal(first_pass(&c, "use", "useuser", "wrong", tok), PAM_AUTH_ERR);
	assert_no_prompt(&c);
	assert_delayed(&c);
	call_free(&c);
	assert_int_equal(first_pass(&c, "use", "useuser", NULL, tok), PAM_AUTH_ERR);
	assert_no_prompt(&c);
	call_free(&c);
	free(tok);
}

/* What the module prompted for is left in PAM_AUTHTOK for later modules. */
static void test_sets_authtok(void **state)
{
	char *tok = fixture("tok.alice"), want[1100];
	struct call c;
	int found = 0;

	(void)state;
	assert_int_equal(auth(&c, "export", "alice", tok), PAM_SUCCESS);
	snprintf(want, sizeof(want), "PAM_AUTHTOK=%s", tok);
	for (size_t i = 0; c.env != NULL && c.env[i] != NULL; i++)
		found |= strcmp(c.env[i], want) == 0;
	assert_true(found);
	call_free(&c);
	free(tok);
}

/* 2FA after pam_unix: the password an earlier module set stays PAM_AUTHTOK. */
static void test_keeps_earlier_authtok(void **state)
{
	char *tok = fixture("tok.alice");
	struct call c;
	int found = 0;

	(void)state;
	assert_int_equal(first_pass(&c, "twofa", "alice", "unix-password", tok), PAM_SUCCESS);
	assert_one_prompt(&c);
	for (size_t i = 0; c.env != NULL && c.env[i] != NULL; i++)
		found |= strcmp(c.env[i], "PAM_AUTHTOK=unix-password") == 0;
	assert_true(found);
	call_free(&c);
	free(tok);
}

/* debug: more detail, still no credential (run() checks every log). */
static void test_debug_logs_no_secret(void **state)
{
	char *tok = fixture("tok.alice");
	struct call c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.service = "debug";
	c.user = "alice";
	c.answer = tok;
	c.rhost = "203.0.113.7";
	assert_int_equal(run(&c), PAM_SUCCESS);
	assert_log(&c, "accepted: service=debug user=alice tenant= rhost=203.0.113.7 method=token");
	call_free(&c);
	c.answer = "tka_thisIsAWrongTokenThatMustNotBeLogged0000000000000";
	assert_int_equal(run(&c), PAM_AUTH_ERR);
	assert_log(&c, "refused: service=debug user=alice");
	call_free(&c);
	free(tok);
}

static void test_mode_otp(void **state)
{
	char *tok = fixture("tok.both"), code[16];
	struct call c;

	(void)state;
	assert_int_equal(auth(&c, "otponly", "both", tok), PAM_AUTH_ERR);
	call_free(&c);
	oath_code("--totp", "sec.both", code);
	assert_int_equal(auth(&c, "otponly", "both", code), PAM_SUCCESS);
	call_free(&c);
	free(tok);
}

static void test_odd_input(void **state)
{
	char longcred[700], longuser[400];
	struct call c;

	(void)state;
	memset(longcred, 'a', sizeof(longcred) - 1);
	longcred[sizeof(longcred) - 1] = '\0';
	memset(longuser, 'u', sizeof(longuser) - 1);
	longuser[sizeof(longuser) - 1] = '\0';
	assert_int_equal(auth(&c, "basic", "oddinput", longcred), PAM_AUTH_ERR);
	call_free(&c);
	assert_int_equal(auth(&c, "basic", "oddinput", ""), PAM_AUTH_ERR);
	call_free(&c);
	assert_int_equal(auth(&c, "basic", longuser, "x"), PAM_USER_UNKNOWN);
	call_free(&c);
	assert_int_equal(auth(&c, "basic", "bad\nname", "x"), PAM_USER_UNKNOWN);
	call_free(&c);
}

static void test_setcred(void **state)
{
	struct pam_testcase tc[] = {pam_test(PAMTEST_SETCRED, PAM_SUCCESS)};
	struct conv_rec rec;

	(void)state;
	conv_rec_reset(&rec, NULL);
	assert_int_equal(_pamtest_conv("basic", "alice", rec_conv, &rec, tc, 1, NULL),
	                 PAMTEST_ERR_OK);
}

/* ---- one handle, several calls; forks; threads ------------------------------- */

/* Repeated calls on one handle reuse the context; results stay right. */
static void test_one_handle_many_calls(void **state)
{
	char *tok = fixture("tok.multi");
	struct call c;
	pam_handle_t *ph;
	const char *answers[] = {tok, "wrong-one", tok, tok};
	const int want[] = {PAM_SUCCESS, PAM_AUTH_ERR, PAM_SUCCESS, PAM_SUCCESS};

	(void)state;
	memset(&c, 0, sizeof(c));
	c.service = "basic";
	c.user = "multi";
	conv_rec_reset(&c.rec, tok);
	ph = start(&c);
	for (size_t i = 0; i < 4; i++) {
		c.rec.answer = answers[i];
		assert_int_equal(pam_authenticate(ph, 0), want[i]);
	}
	assert_int_equal(c.rec.echo_off, 4);
	assert_int_equal(pam_end(ph, PAM_SUCCESS), PAM_SUCCESS);
	free(tok);
}

/* A child forked by the host (sshd does) must not reuse the parent's store. */
static void test_fork_child(void **state)
{
	char *tok = fixture("tok.multi");
	struct call c;
	pam_handle_t *ph;
	pid_t pid;
	int status = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.service = "basic";
	c.user = "multi";
	conv_rec_reset(&c.rec, tok);
	ph = start(&c);
	assert_int_equal(pam_authenticate(ph, 0), PAM_SUCCESS);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r = pam_authenticate(ph, 0);
		pam_end(ph, r | PAM_DATA_SILENT);
		_exit(r == PAM_SUCCESS ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(pam_authenticate(ph, 0), PAM_SUCCESS);
	assert_int_equal(pam_end(ph, PAM_SUCCESS), PAM_SUCCESS);
	free(tok);
}

#define THREADS    8
#define PER_THREAD 25

struct thread_arg {
	const char *tok;
	int ok;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct conv_rec rec;
	struct pam_conv conv = {rec_conv, &rec};
	pam_handle_t *ph = NULL;

	conv_rec_reset(&rec, a->tok);
	if (pam_start("basic", "multi", &conv, &ph) != PAM_SUCCESS)
		return NULL;
	set_delay_hook(ph);
	for (int i = 0; i < PER_THREAD; i++)
		a->ok += pam_authenticate(ph, 0) == PAM_SUCCESS;
	pam_end(ph, PAM_SUCCESS);
	return NULL;
}

/* Threaded host (Apache): one handle per thread, all succeed. */
static void test_threads(void **state)
{
	char *tok = fixture("tok.multi");
	pthread_t th[THREADS];
	struct thread_arg args[THREADS];
	int total = 0;

	(void)state;
	for (int i = 0; i < THREADS; i++) {
		args[i].tok = tok;
		args[i].ok = 0;
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		total += args[i].ok;
	}
	assert_int_equal(total, THREADS * PER_THREAD);
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_valid),
	    cmocka_unit_test(test_token_wrong),
	    cmocka_unit_test(test_token_typo),
	    cmocka_unit_test(test_token_other_user),
	    cmocka_unit_test(test_token_expired),
	    cmocka_unit_test(test_token_revoked),
	    cmocka_unit_test(test_totp_once),
	    cmocka_unit_test(test_totp_replay_same_handle),
	    cmocka_unit_test(test_hotp_counter),
	    cmocka_unit_test(test_lockout),
	    cmocka_unit_test(test_tenant_config),
	    cmocka_unit_test(test_tenant_from_user),
	    cmocka_unit_test(test_unknown_user),
	    cmocka_unit_test(test_nullok),
	    cmocka_unit_test(test_store_bad_permissions),
	    cmocka_unit_test(test_store_corrupt),
	    cmocka_unit_test(test_store_missing),
	    cmocka_unit_test(test_config_missing),
	    cmocka_unit_test(test_config_unknown_option),
	    cmocka_unit_test(test_config_bad_value),
	    cmocka_unit_test(test_conversation_error),
	    cmocka_unit_test(test_prompt_option),
	    cmocka_unit_test(test_try_first_pass),
	    cmocka_unit_test(test_try_first_pass_lockout),
	    cmocka_unit_test(test_use_first_pass),
	    cmocka_unit_test(test_sets_authtok),
	    cmocka_unit_test(test_keeps_earlier_authtok),
	    cmocka_unit_test(test_debug_logs_no_secret),
	    cmocka_unit_test(test_mode_otp),
	    cmocka_unit_test(test_odd_input),
	    cmocka_unit_test(test_setcred),
	    cmocka_unit_test(test_one_handle_many_calls),
	    cmocka_unit_test(test_fork_child),
	    cmocka_unit_test(test_threads),
	};

	fix = getenv("TA_FIX");
	cli = getenv("TA_CLI");
	if (fix == NULL || cli == NULL || getenv("TA_MOD") == NULL) {
		fprintf(stderr,
		        "test_pam: run through tests/pam/run.sh (TA_FIX, TA_CLI, TA_MOD)\n");
		return 2;
	}
	/* pam_wrapper is loaded; helpers we run (oathtool, the CLI) need not. */
	unsetenv("LD_PRELOAD");
	return cmocka_run_group_tests_name("pam_tokenauth", tests, NULL, NULL);
}
