/*
 * setuid_pam.c - a host shaped like sudo, for tests/attacks/setuid.sh.
 *
 * Installed setuid root in a private folder and run by an unprivileged
 * user with a hostile environment and umask: pam_start on a service file
 * in that folder (pam_tokenauth.so with verify=remote), pam_authenticate
 * with a conversation that answers a fixed token, then a report of the
 * result and of what is left of the hostile environment.
 *
 * Every path is compiled in (-DTA_CONFDIR, -DTA_SERVICE): a setuid-root
 * program that took its PAM configuration from its caller would itself be
 * a way to root.  The caller chooses only what the attack needs: the
 * environment and the umask.
 */
#include <security/pam_appl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TA_CONFDIR
#error "build with -DTA_CONFDIR=\"/path/to/pam.d\""
#endif
#ifndef TA_SERVICE
#define TA_SERVICE "ta-setuid"
#endif
#define TOKEN "ta-setuid-test-token-0123456789abcdef"

static const char *const watched[] = {
    "SSLKEYLOGFILE", "http_proxy",       "HTTPS_PROXY", "ALL_PROXY",     "NO_PROXY",
    "OPENSSL_CONF",  "SSL_CERT_FILE",    "TMPDIR",      "SQLITE_TMPDIR", "PGHOST",
    "PGPASSFILE",    "CURL_SSL_BACKEND", "CURL_HOME",
};

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)arg;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(TOKEN);
		else
			fprintf(stderr, "pam: %s\n", msg[i]->msg);
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* No failure delay: the test runs the harness several times. */
static void no_delay(int status, unsigned delay, void *arg)
{
	(void)status;
	(void)delay;
	(void)arg;
}

int main(void)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *h = NULL;
	int r;

	r = pam_start_confdir(TA_SERVICE, "alice", &c, TA_CONFDIR, &h);
	if (r != PAM_SUCCESS) {
		printf("pam_start: %d\n", r);
		return 1;
	}
	pam_set_item(h, PAM_FAIL_DELAY, (const void *)no_delay);
	r = pam_authenticate(h, 0);
	printf("pam_authenticate: %d (%s)\n", r, pam_strerror(h, r));
	pam_end(h, r);
	printf("euid: %u\n", (unsigned)geteuid());
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		printf("env %s: %s\n", watched[i], getenv(watched[i]) ? "set" : "unset");
	return 0;
}
