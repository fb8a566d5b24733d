/*
 * pam_retry.c - one PAM handle, several pam_authenticate calls, the way
 * util-linux login retries (tests/attacks/pam.sh).
 *
 * Usage: pam_retry CONFDIR SERVICE USER ANSWER [ANSWER ...]
 *
 * Opens one handle with pam_start_confdir() (the real libpam reading the
 * service file CONFDIR/SERVICE, no wrapper), then calls pam_authenticate
 * once per ANSWER on that same handle, the conversation answering every
 * no-echo prompt of call N with ANSWER N.  USER and each ANSWER may carry
 * the escapes \r \n \t \\ and \xHH, so a test can type control bytes; an
 * ANSWER of exactly "%CONVERR" makes that call's conversation fail, as a
 * client that hangs up at the prompt.
 * Failure delays are recorded, not slept.  Prints one line per call:
 *
 *   attempt N: PAM_NAME prompts=K
 *
 * and exits 0 when every call ran (whatever it returned), 2 on usage
 * errors, 1 when the handle could not be made.
 */
#include <security/pam_appl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pamtest_util.h"

#define MAX_ANSWER 4096

/* Decode the escapes into out (cap bytes); 0 on success, -1 if malformed. */
static int unescape(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		char c = *in;
		if (c == '\\') {
			char hex[3] = {0, 0, 0};
			switch (*++in) {
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case '\\': c = '\\'; break;
			case 'x':
				if (in[1] == '\0' || in[2] == '\0')
					return -1;
				hex[0] = in[1];
				hex[1] = in[2];
				c = (char)strtoul(hex, NULL, 16);
				if (c == '\0')
					return -1; /* a C string cannot carry it */
				in += 2;
				break;
			default: return -1;
			}
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static const char *code_name(int r)
{
	switch (r) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_CONV_ERR: return "PAM_CONV_ERR";
	case PAM_MAXTRIES: return "PAM_MAXTRIES";
	case PAM_IGNORE: return "PAM_IGNORE";
	case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
	case PAM_BUF_ERR: return "PAM_BUF_ERR";
	default: return "PAM_OTHER";
	}
}

int main(int argc, char **argv)
{
	static char user[MAX_ANSWER], answer[MAX_ANSWER];
	struct conv_rec rec;
	struct pam_conv conv = {rec_conv, &rec};
	pam_handle_t *ph = NULL;
	int r;

	if (argc < 5) {
		fprintf(stderr, "usage: pam_retry CONFDIR SERVICE USER ANSWER [ANSWER ...]\n");
		return 2;
	}
	if (unescape(argv[3], user, sizeof(user)) != 0) {
		fprintf(stderr, "pam_retry: bad escape in USER\n");
		return 2;
	}
	conv_rec_reset(&rec, NULL);
	if ((r = pam_start_confdir(argv[2], user, &conv, argv[1], &ph)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_retry: pam_start_confdir: %d\n", r);
		return 1;
	}
	set_delay_hook(ph);
	for (int i = 4; i < argc; i++) {
		if (unescape(argv[i], answer, sizeof(answer)) != 0) {
			fprintf(stderr, "pam_retry: bad escape in ANSWER %d\n", i - 3);
			pam_end(ph, PAM_SUCCESS);
			return 2;
		}
		conv_rec_reset(&rec, strcmp(argv[i], "%CONVERR") == 0 ? NULL : answer);
		r = pam_authenticate(ph, 0);
		printf("attempt %d: %s prompts=%d\n", i - 3, code_name(r), rec.echo_off);
		fflush(stdout);
	}
	memset(answer, 0, sizeof(answer));
	pam_end(ph, PAM_SUCCESS);
	return 0;
}
