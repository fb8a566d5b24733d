/*
 * setuid_su.c - a su-shaped setuid-root PAM host for tests/attacks/rlimit.sh:
 * authenticates the fixed user "alice" with the code given as argv[1] (what
 * su reads from the tty).  The PAM folder is compiled in, so the caller
 * controls nothing but its environment, limits and signal dispositions.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *code;

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)arg;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(code);
	*resp = r;
	return PAM_SUCCESS;
}

static void no_delay(int s, unsigned d, void *a)
{
	(void)s;
	(void)d;
	(void)a;
}

int main(int argc, char **argv)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *h = NULL;
	int r;

	if (argc < 2)
		return 2;
	code = argv[1];
	if (pam_start_confdir("ta-su", "alice", &c, TA_CONFDIR, &h) != PAM_SUCCESS)
		return 1;
	pam_set_item(h, PAM_FAIL_DELAY, (const void *)no_delay);
	r = pam_authenticate(h, 0);
	printf("%d\n", r);
	pam_end(h, r);
	return 0;
}
