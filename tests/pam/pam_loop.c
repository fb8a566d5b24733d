/*
 * pam_loop.c - many pam_authenticate calls, for valgrind.
 *
 * Usage: pam_loop SERVICE USER COUNT TOKEN [new]
 * Even calls answer TOKEN, odd calls a wrong credential, so both the
 * success and the failure paths run COUNT/2 times each.  By default every
 * call runs on one PAM handle (the cached context); with "new" each call
 * gets its own pam_start .. pam_end, so the per-handle state is built and
 * freed COUNT times.  Exits 0 when every call returned what it should.
 */
#include <security/pam_appl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pamtest_util.h"

static int parse_count(const char *s, unsigned long *out)
{
	char *end = NULL;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out > 0 && *out <= 10000000;
}

/* A handle answering with rec; NULL (after a message) on failure. */
static pam_handle_t *start(const char *service, const char *user, struct conv_rec *rec)
{
	struct pam_conv conv = {rec_conv, rec};
	pam_handle_t *ph = NULL;
	int r = pam_start(service, user, &conv, &ph);

	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %d\n", r);
		return NULL;
	}
	set_delay_hook(ph); /* record the fail delay instead of sleeping */
	return ph;
}

int main(int argc, char **argv)
{
	struct conv_rec rec;
	pam_handle_t *ph = NULL;
	unsigned long count, ok = 0, refused = 0, unexpected = 0;
	int fresh = argc == 6 && strcmp(argv[5], "new") == 0;

	if ((argc != 5 && !fresh) || !parse_count(argv[3], &count)) {
		fprintf(stderr, "usage: pam_loop SERVICE USER COUNT TOKEN [new]\n");
		return 2;
	}
	conv_rec_reset(&rec, argv[4]);
	for (unsigned long i = 0; i < count; i++) {
		int want = i % 2 ? PAM_AUTH_ERR : PAM_SUCCESS, r;
		if (ph == NULL && (ph = start(argv[1], argv[2], &rec)) == NULL)
			return 1;
		rec.answer = i % 2 ? "tka_wrong" : argv[4];
		r = pam_authenticate(ph, 0);
		ok += r == PAM_SUCCESS;
		refused += r == PAM_AUTH_ERR;
		unexpected += r != want;
		if (fresh) {
			pam_end(ph, r);
			ph = NULL;
		}
	}
	if (ph != NULL)
		pam_end(ph, PAM_SUCCESS);
	printf("pam_loop: %lu calls on %s: %lu accepted, %lu refused, %lu unexpected\n", count,
	       fresh ? "a new handle each" : "one handle", ok, refused, unexpected);
	return unexpected == 0 ? 0 : 1;
}
