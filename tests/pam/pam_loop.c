/*
 * pam_loop.c - many pam_authenticate calls on one PAM handle, for valgrind.
 *
 * Usage: pam_loop SERVICE USER COUNT TOKEN
 * Even calls answer TOKEN, odd calls a wrong credential, so both the
 * success and the failure paths run COUNT/2 times each through the cached
 * context.  Exits 0 when every call returned what it should.
 */
#include <security/pam_appl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pamtest_util.h"

static int parse_count(const char *s, unsigned long *out)
{
	char *end = NULL;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out > 0 && *out <= 10000000;
}

int main(int argc, char **argv)
{
	struct conv_rec rec;
	struct pam_conv conv = {rec_conv, &rec};
	pam_handle_t *ph = NULL;
	unsigned long count, ok = 0, refused = 0, unexpected = 0;
	int r;

	if (argc != 5 || !parse_count(argv[3], &count)) {
		fprintf(stderr, "usage: pam_loop SERVICE USER COUNT TOKEN\n");
		return 2;
	}
	conv_rec_reset(&rec, argv[4]);
	if ((r = pam_start(argv[1], argv[2], &conv, &ph)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %d\n", r);
		return 1;
	}
	set_delay_hook(ph);
	for (unsigned long i = 0; i < count; i++) {
		int want = i % 2 ? PAM_AUTH_ERR : PAM_SUCCESS;
		rec.answer = i % 2 ? "tka_wrong" : argv[4];
		r = pam_authenticate(ph, 0);
		ok += r == PAM_SUCCESS;
		refused += r == PAM_AUTH_ERR;
		unexpected += r != want;
	}
	pam_end(ph, PAM_SUCCESS);
	printf("pam_loop: %lu calls on one handle: %lu accepted, %lu refused, %lu unexpected\n",
	       count, ok, refused, unexpected);
	return unexpected == 0 ? 0 : 1;
}
