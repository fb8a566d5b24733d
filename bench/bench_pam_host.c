/*
 * bench_pam_host.c - a PAM host's view of a login: a new handle per login
 * (pam_start, pam_authenticate, pam_end) in a process that links libpam
 * and nothing of tokenauth, as sshd or Apache's mod_authnz_pam do, so the
 * modules are loaded and unloaded exactly as libpam does it in such a
 * host (see pam_handle.sh, the "host" table).
 *
 *   bench_pam_host SERVICE USER CREDENTIAL_FILE SECONDS [MODULE.so]
 *       logins of USER with the first line of CREDENTIAL_FILE as the
 *       answer to every prompt, for SECONDS; with MODULE.so, that module is
 *       loaded first and kept (as a host that has used it keeps it), to
 *       show what its being there costs the transactions of other modules.
 *       Prints "logins=N per_second=R"; exits 1 when a login fails.
 */
#include <security/pam_appl.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char answer[512];

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)msg;
	(void)arg;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if ((r[i].resp = strdup(answer)) == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	*resp = r;
	return PAM_SUCCESS;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int login(const char *service, const char *user)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *h = NULL;
	int r = pam_start(service, user, &c, &h);

	if (r == PAM_SUCCESS)
		r = pam_authenticate(h, 0);
	if (h != NULL)
		pam_end(h, r);
	return r;
}

int main(int argc, char **argv)
{
	FILE *f = NULL;
	unsigned long n = 0;
	double budget, t0, el;
	char *end = NULL;

	if (argc != 5 && argc != 6) {
		fprintf(stderr,
		        "usage: bench_pam_host SERVICE USER CREDENTIAL_FILE SECONDS [MODULE.so]\n");
		return 2;
	}
	budget = strtod(argv[4], &end);
	if (end == argv[4] || *end != '\0' || budget <= 0 || budget > 3600) {
		fprintf(stderr, "bench_pam_host: SECONDS: expected 0 < s <= 3600\n");
		return 2;
	}
	if ((f = fopen(argv[3], "r")) == NULL || fgets(answer, sizeof(answer), f) == NULL) {
		fprintf(stderr, "bench_pam_host: cannot read %s\n", argv[3]);
		if (f != NULL)
			fclose(f);
		return 1;
	}
	fclose(f);
	answer[strcspn(answer, "\n")] = '\0';
	if (argc == 6 && dlopen(argv[5], RTLD_NOW | RTLD_NODELETE) == NULL) {
		fprintf(stderr, "bench_pam_host: cannot load %s: %s\n", argv[5], dlerror());
		return 1;
	}
	/* one login untimed: the first opens what later ones reuse */
	if (login(argv[1], argv[2]) != PAM_SUCCESS) {
		fprintf(stderr, "bench_pam_host: %s: the first login failed\n", argv[1]);
		return 1;
	}
	t0 = now();
	do {
		for (int i = 0; i < 200; i++, n++)
			if (login(argv[1], argv[2]) != PAM_SUCCESS) {
				fprintf(stderr, "bench_pam_host: %s: login %lu failed\n", argv[1],
				        n + 1);
				return 1;
			}
		el = now() - t0;
	} while (el < budget);
	printf("logins=%lu per_second=%.1f\n", n, (double)n / el);
	return 0;
}
