/*
 * pam_tokenauth.c - the PAM front-end of tokenauth (SPEC §4).
 *
 * The module only translates between libpam and the core: it reads the
 * PAM words into a config, asks for the credential with one no-echo
 * prompt (or reuses PAM_AUTHTOK), hands user, credential, service and
 * remote host to ta_verify(), and maps the verdict to a PAM code in one
 * function, pam_code().
 *
 * Threads: the module keeps no global or static mutable state.  What it
 * caches (config and verification context) hangs off the PAM handle
 * through pam_set_data(), and a PAM handle is used by one thread at a time,
 * which is exactly the contract of a ta_ctx.
 *
 * Exports only pam_sm_authenticate and pam_sm_setcred (pam_tokenauth.map).
 */
#include "config.h"
#include "crypto.h"
#include "ta.h"
#include "verify.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define TA_PAM_EXPORT __attribute__((visibility("default")))

/* Key of the per-handle cache in pam_set_data(). */
#define STATE_KEY "pam_tokenauth_state"

/* Delay libpam applies after a failed pam_authenticate, in microseconds. */
#define FAIL_DELAY_US 2000000u

/* Largest PAM line we cache a context for (bytes of all words). */
#define MAX_WORDS_LEN 65536

/*
 * What one PAM handle keeps between pam_authenticate calls: the config and
 * the context built from it (store and key open lazily, once), the PAM
 * words they came from, and the process that opened them.
 */
struct state {
	ta_config *cfg;
	ta_ctx *ctx;
	pid_t pid;
	size_t words_len;
	char words[]; /* argv, each word NUL-terminated, back to back */
};

/*
 * The one translation from the core's error space to PAM (SPEC §4).
 * nullok turns "user has no credential" into PAM_IGNORE, never success.
 * A user name the core cannot take (too long, control characters, empty
 * part before '@') cannot have a credential either: PAM_USER_UNKNOWN.
 */
static int pam_code(int err, int nullok)
{
	switch (err) {
	case TA_OK: return PAM_SUCCESS;
	case TA_ERR_REJECTED:
	case TA_ERR_EXPIRED:
	case TA_ERR_REVOKED:
	case TA_ERR_REPLAY:
	case TA_ERR_TENANT:
	case TA_ERR_LOCKED: return PAM_AUTH_ERR;
	case TA_ERR_NO_CREDENTIAL: return nullok ? PAM_IGNORE : PAM_USER_UNKNOWN;
	case TA_ERR_INPUT: return PAM_USER_UNKNOWN;
	case TA_ERR_UNAVAILABLE:
	case TA_ERR_INSECURE:
	case TA_ERR_CORRUPT:
	case TA_ERR_NOT_FOUND:
		/* In a setuid host (su, sudo) the caller can make the store or the
		 * network fail (limits, a full descriptor table, stopping another
		 * instance that holds the store's lock): there an outage is a
		 * service error, which authinfo_unavail=ignore does not skip. */
		return ta_global_privileged() ? PAM_SERVICE_ERR : PAM_AUTHINFO_UNAVAIL;
	case TA_ERR_NOMEM: return PAM_BUF_ERR;
	/* TA_ERR_CONFIG, _UNSUPPORTED, _INTERNAL, anything new */
	default: return PAM_SERVICE_ERR;
	}
}

/* Log callback for the core: one line to the host's syslog via libpam. */
static void log_to_pam(void *arg, int level, const char *msg)
{
	pam_syslog((const pam_handle_t *)arg, level, "%s", msg);
}

static void state_free(struct state *st)
{
	if (st == NULL)
		return;
	ta_ctx_free(st->ctx); /* closes the store, wipes the key */
	ta_config_free(st->cfg);
	free(st);
}

/* pam_set_data() cleanup: runs on pam_end() or when the entry is replaced. */
static void state_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	state_free(data);
}

/* Bytes needed to store argv back to back; 0 when too large to cache. */
static size_t words_size(int argc, const char **argv)
{
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		n += strnlen(argv[i], MAX_WORDS_LEN) + 1;
		if (n > MAX_WORDS_LEN)
			return 0;
	}
	return n;
}

/* A new, empty state remembering argv.  NULL on allocation failure. */
static struct state *state_new(int argc, const char **argv)
{
	size_t len = words_size(argc, argv), off = 0;
	struct state *st = calloc(1, sizeof(*st) + len);

	if (st == NULL)
		return NULL;
	for (int i = 0; i < argc && len > 0; i++) {
		size_t n = strlen(argv[i]) + 1;
		memcpy(st->words + off, argv[i], n);
		off += n;
	}
	st->words_len = len;
	st->pid = ta_getpid();
	return st;
}

/*
 * Can st serve this call?  Only when it came from the same words (two
 * stacked lines of this module may differ) and the same process: a child
 * forked by the host must not share the parent's SQLite connection.
 */
static int state_matches(const struct state *st, int argc, const char **argv)
{
	size_t off = 0;

	if (st->pid != ta_getpid() || words_size(argc, argv) != st->words_len)
		return 0;
	if (argc > 0 && st->words_len == 0) /* too long to have been cached */
		return 0;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (memcmp(st->words + off, argv[i], n) != 0)
			return 0;
		off += n;
	}
	return 1;
}

/*
 * Find or build the config and context for this handle.  On success *out
 * is either owned by the handle (freed at pam_end) or, when libpam would
 * not keep it, by the caller (*owned = 1: state_free() it).  A bad config
 * is logged with the core's message, which names the key, file and line.
 */
static int get_state(pam_handle_t *pamh, int argc, const char **argv, struct state **out,
                     int *owned)
{
	const void *data = NULL;
	struct state *st = NULL;
	char err[512] = "";
	int r, pr = PAM_BUF_ERR;

	*out = NULL;
	*owned = 0;
	if (pam_get_data(pamh, STATE_KEY, &data) == PAM_SUCCESS && data != NULL &&
	    state_matches(data, argc, argv)) {
		*out = (struct state *)(uintptr_t)data;
		return PAM_SUCCESS;
	}
	if ((st = state_new(argc, argv)) == NULL)
		goto out;
	r = ta_config_from_words(argc, argv, &st->cfg, err, sizeof(err));
	if (r == TA_OK)
		r = ta_ctx_new(st->cfg, log_to_pam, pamh, &st->ctx);
	if (r != TA_OK) {
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", err[0] ? err : ta_strerror(r));
		pr = pam_code(r, 0);
		goto out;
	}
	/* Replacing an older entry runs its cleanup, which frees it.  If the
	 * handle cannot keep it, this call still works, just uncached. */
	*owned = pam_set_data(pamh, STATE_KEY, st, state_cleanup) != PAM_SUCCESS;
	*out = st;
	st = NULL;
	pr = PAM_SUCCESS;
out:
	state_free(st);
	return pr;
}

/*
 * The credential an earlier module in the stack collected, or NULL when
 * there is none (or it is empty).  Borrowed from libpam.
 */
static const char *first_pass(pam_handle_t *pamh)
{
	const void *item = NULL;

	if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || item == NULL ||
	    ((const char *)item)[0] == '\0')
		return NULL;
	return item;
}

/*
 * Ask once, without echo, and publish the answer as PAM_AUTHTOK for later
 * modules unless an earlier module already set one.  On success *typed is malloc'd and must go
 * through ta_wipe_free().  Returns PAM_SUCCESS, PAM_CONV_ERR or PAM_BUF_ERR.
 */
static int ask(pam_handle_t *pamh, const char *prompt, char **typed)
{
	char *resp = NULL;
	int r;

	*typed = NULL;
	r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt);
	if (r != PAM_SUCCESS || resp == NULL) {
		ta_wipe_free(resp);
		pam_syslog(pamh, LOG_ERR, "conversation failed: %s",
		           pam_strerror(pamh, r == PAM_SUCCESS ? PAM_CONV_ERR : r));
		return r == PAM_BUF_ERR ? PAM_BUF_ERR : PAM_CONV_ERR;
	}
	/* Publish the answer only where no earlier module did: in a 2FA stack
	 * after pam_unix, later modules (keyrings) want the password, not a
	 * one-time code. */
	if (first_pass(pamh) == NULL && pam_set_item(pamh, PAM_AUTHTOK, resp) != PAM_SUCCESS)
		pam_syslog(pamh, LOG_WARNING, "cannot set PAM_AUTHTOK for later modules");
	*typed = resp;
	return PAM_SUCCESS;
}

/* A debug line (never a credential) when the debug option is on. */
static void debug(pam_handle_t *pamh, const struct state *st, const char *msg)
{
	if (ta_config_flag(st->cfg, "debug"))
		pam_syslog(pamh, LOG_DEBUG, "%s", msg);
}

/*
 * One check through the core, with the service and remote host for logs.
 * flags: TA_REQ_STACKED for an earlier module's password (try_first_pass).
 */
static int check(pam_handle_t *pamh, struct state *st, const char *user, const char *cred,
                 unsigned flags)
{
	const void *svc = NULL, *rhost = NULL;
	struct ta_request req;

	if (pam_get_item(pamh, PAM_SERVICE, &svc) != PAM_SUCCESS)
		svc = NULL;
	if (pam_get_item(pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	memset(&req, 0, sizeof(req));
	req.user = user;
	req.tenant = NULL; /* PAM carries none: tenant_from_user or tenant= */
	req.credential = cred;
	/* The core rejects anything longer than TA_MAX_CREDENTIAL, or
	 * TA_MAX_JWT for a JWT with verify=jwt. */
	req.credential_len = strnlen(cred, TA_MAX_JWT + 1);
	req.service = svc;
	req.rhost = rhost;
	req.flags = flags;
	return ta_verify(st->ctx, &req, NULL);
}

/*
 * Did the core check a stacked credential in full (every backend, counted)?
 * Only when it has our shape: an issued token with a valid checksum, or 6
 * to 8 digits (ta_credential_own_shape, the rule TA_REQ_STACKED applies).
 */
static int stacked_checked_in_full(const char *cred)
{
	return ta_credential_own_shape(cred, strnlen(cred, TA_MAX_CREDENTIAL + 1));
}

/* Are a and b the same credential?  Constant time in their content. */
static int same_credential(const char *a, const char *b)
{
	size_t la = strnlen(a, TA_MAX_JWT + 1), lb = strnlen(b, TA_MAX_JWT + 1);

	return la == lb && ta_ct_eq(a, b, la);
}

/*
 * try_first_pass: after a failed first pass, is the prompt worth it?  Yes
 * for a verdict on that credential; no when the account is locked or the
 * store cannot be read, which a second credential cannot change.
 */
static int worth_asking(int err)
{
	return (ta_err_is_rejection(err) && err != TA_ERR_LOCKED) || err == TA_ERR_NO_CREDENTIAL;
}

/*
 * Get the credential (PAM_AUTHTOK and/or one prompt) and check it.
 * Returns a PAM code; *err receives the core's verdict when one was made.
 *
 * use_first_pass: the administrator says the earlier module's password is
 * ours, so it is checked as typed.  try_first_pass: it probably is not (a
 * Unix password), so the core gets it as TA_REQ_STACKED: unless it has our
 * shape it stays on this host and a refusal is not counted.  The answer to
 * the prompt that follows is checked normally, unless it is the same
 * string: then the stacked verdict stands (a string of our shape was
 * checked in full; any other is still the earlier module's password and
 * is refused unchecked, uncounted, never sent).
 */
static int authenticate(pam_handle_t *pamh, struct state *st, const char *user, int *err)
{
	int use_first = ta_config_flag(st->cfg, "use_first_pass");
	int try_first = ta_config_flag(st->cfg, "try_first_pass");
	const char *prompt = ta_config_str(st->cfg, "prompt"), *cred = NULL;
	char *typed = NULL;
	int pr = PAM_SUCCESS;

	if (use_first || try_first)
		cred = first_pass(pamh);
	if (cred != NULL) {
		debug(pamh, st, "checking the credential of an earlier module");
		*err = check(pamh, st, user, cred, use_first ? 0 : TA_REQ_STACKED);
		if (use_first || !worth_asking(*err))
			goto out;
	} else if (use_first) {
		pam_syslog(pamh, LOG_NOTICE,
		           "use_first_pass: no credential from an earlier module");
		*err = TA_ERR_REJECTED;
		goto out;
	}
	if ((pr = ask(pamh, prompt ? prompt : "Token: ", &typed)) != PAM_SUCCESS)
		goto out;
	/* The same string again is still the earlier module's password: an
	 * echoing client (saslauthd, an IMAP server answering every prompt
	 * with the password) or a user retyping a mistyped Unix password would
	 * otherwise send it to the remote endpoints and count it, on every
	 * failed Unix login and on every login of a user pam_unix does not
	 * know (LDAP/SSSD, whose line comes after ours in common-auth). */
	if (cred != NULL && same_credential(cred, typed)) {
		if (stacked_checked_in_full(cred)) {
			debug(pamh, st, "the answer is the earlier module's credential: already checked");
		} else {
			debug(pamh, st, "the answer repeats the earlier module's password: not checked");
			*err = TA_ERR_REJECTED;
		}
		goto out;
	}
	*err = check(pamh, st, user, typed, 0);
out:
	ta_wipe_free(typed);
	return pr;
}

/*
 * nullok: is there anything to ask for?  Returns TA_OK to go on, or the
 * core's error (TA_ERR_NO_CREDENTIAL, a store error) to stop before any
 * prompt.
 */
/*
 * The account's own name when the system's user database gives user
 * another one (a case-insensitive directory: "ALICE" is alice; SSSD or
 * winbind: "alice@DOMAIN" or "DOMAIN\\alice" is alice), copied into buf;
 * *out NULL when the names agree or there is no such account.  TA_OK, or
 * TA_ERR_INTERNAL when the user database could not be asked (no memory, a
 * directory that is down, a full descriptor table): an unanswered lookup
 * is never "no second name", or nullok would ignore a name it cannot rule
 * out.
 */
static int account_alias_of(const char *user, char *buf, size_t cap, const char **out)
{
	struct passwd pw, *res = NULL;
	size_t len = 16384;
	char *mem = NULL;
	int e = ENOMEM;

	*out = NULL;
	for (;;) {
		char *grown = realloc(mem, len);
		if (grown == NULL) {
			e = ENOMEM;
			break;
		}
		mem = grown;
		e = getpwnam_r(user, &pw, mem, len, &res);
		if (e != ERANGE || len >= (1u << 20))
			break;
		len *= 2;
	}
	/* Only 0 with no entry is "no such name": glibc answers a name no
	 * source has that way, and passes on the source's errno for a source
	 * that is down, where nss-pam-ldapd and SSSD leave ENOENT (the C
	 * libraries that answer "not found" with ENOENT, ESRCH, EBADF or EPERM
	 * as POSIX allows are not glibc). */
#ifdef __GLIBC__
	if (res == NULL && e != 0) {
#else
	if (res == NULL && e != 0 && e != ENOENT && e != ESRCH && e != EBADF && e != EPERM) {
#endif
		free(mem);
		return TA_ERR_INTERNAL;
	}
	if (res != NULL && res->pw_name != NULL && strcmp(res->pw_name, user) != 0 &&
	    strlen(res->pw_name) < cap) {
		memcpy(buf, res->pw_name, strlen(res->pw_name) + 1);
		*out = buf;
	}
	free(mem);
	return TA_OK;
}

static int nullok_precheck(pam_handle_t *pamh, struct state *st, const char *user)
{
	char alias[TA_MAX_USER + TA_MAX_TENANT + 2];
	const char *acct = NULL;
	int r = ta_user_known(st->ctx, user, NULL), ar;

	/* The name as typed has no credential, but it may be another name of
	 * an account that has one: ignoring it would let "ALICE" skip alice's
	 * second factor wherever the user database folds case or accepts a
	 * qualified name, and the next module would log in as alice. */
	if (r == TA_ERR_NO_CREDENTIAL &&
	    (ar = account_alias_of(user, alias, sizeof(alias), &acct)) != TA_OK) {
		pam_syslog(pamh, LOG_ERR,
		           "nullok: the user database could not be asked for this name: refused, "
		           "not ignored");
		return ar;
	}
	if (r == TA_ERR_NO_CREDENTIAL && acct != NULL &&
	    (ar = ta_user_known(st->ctx, acct, NULL)) != TA_ERR_NO_CREDENTIAL &&
	    ar != TA_ERR_INPUT) {
		pam_syslog(pamh, LOG_NOTICE,
		           "nullok: the user database gives this name to an account whose own "
		           "name has a credential: refused, not ignored");
		return ar == TA_OK ? TA_ERR_REJECTED : ar;
	}
	if (r == TA_ERR_NO_CREDENTIAL)
		debug(pamh, st, "nullok: user has no credential: PAM_IGNORE");
	else if (r == TA_ERR_INPUT)
		pam_syslog(pamh, LOG_NOTICE, "refused: invalid user name");
	else if (r != TA_OK)
		pam_syslog(pamh, LOG_ERR, "nullok check failed: %s", ta_strerror(r));
	return r;
}

TA_PAM_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct state *st = NULL;
	const char *user = NULL;
	int nullok = 0, owned = 0, err = TA_OK, pr;

	(void)flags; /* PAM_SILENT: the module never sends messages anyway */
	if ((pr = get_state(pamh, argc, argv, &st, &owned)) != PAM_SUCCESS)
		goto out;
	nullok = ta_config_flag(st->cfg, "nullok");
	if ((pr = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS || user == NULL) {
		pr = pr == PAM_CONV_AGAIN ? PAM_INCOMPLETE
		     : pr == PAM_SUCCESS  ? PAM_USER_UNKNOWN
		                          : pr;
		goto out;
	}
	if (nullok && (err = nullok_precheck(pamh, st, user)) != TA_OK) {
		pr = pam_code(err, nullok);
		goto out;
	}
	if ((pr = authenticate(pamh, st, user, &err)) != PAM_SUCCESS)
		goto out;
	pr = pam_code(err, nullok);
out:
	if (pr != PAM_SUCCESS && pr != PAM_IGNORE && pr != PAM_INCOMPLETE)
		(void)pam_fail_delay(pamh, FAIL_DELAY_US);
	if (owned)
		state_free(st);
	return pr;
}

/* Nothing to establish: tokens carry no credentials beyond the login. */
TA_PAM_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
