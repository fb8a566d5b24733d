/*
 * bench_remote.c - checks per second and median latency through the PAM
 * module (one handle, repeated pam_authenticate) for one service, and the
 * endpoint's own time measured with a bare libcurl loop.
 *
 *   bench_remote pam SERVICE USER TOKEN N   -> "checks/s median_us"
 *   bench_remote curl URL CAFILE BODY N     -> "requests/s median_us"
 *
 * Run under pam_wrapper (PAM_WRAPPER=1, PAM_WRAPPER_SERVICE_DIR) by
 * bench/remote.sh.
 */
#include <security/pam_appl.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(double *lat, long n, double total_us)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("%.0f %.0f\n", (double)n / (total_us / 1e6), lat[n / 2]);
	if (getenv("BENCH_DIST"))
		fprintf(stderr, "p90 %.0f p99 %.0f p99.9 %.0f max %.0f\n", lat[n * 9 / 10],
		        lat[n * 99 / 100], lat[n * 999 / 1000], lat[n - 1]);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
			r[i].resp = strdup(arg);
	*resp = r;
	return PAM_SUCCESS;
}

static int bench_pam(const char *service, const char *user, char *token, long n)
{
	struct pam_conv c = {conv, token};
	pam_handle_t *h = NULL;
	double *lat = calloc((size_t)n, sizeof(double)), t0;

	if (lat == NULL || pam_start(service, user, &c, &h) != PAM_SUCCESS)
		return 2;
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		double s = now_us();
		int r = pam_authenticate(h, PAM_SILENT);
		if (r != PAM_SUCCESS) {
			fprintf(stderr, "bench_remote: %s: %s\n", service, pam_strerror(h, r));
			return 1;
		}
		lat[i] = now_us() - s;
	}
	report(lat, n, now_us() - t0);
	pam_end(h, PAM_SUCCESS);
	free(lat);
	return 0;
}

static size_t sink(char *p, size_t s, size_t n, void *a)
{
	(void)p;
	(void)a;
	return s * n;
}

static int bench_curl(const char *url, const char *ca, const char *body, long n)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	double *lat = calloc((size_t)n, sizeof(double)), t0;

	if (h == NULL || lat == NULL)
		return 2;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		double s = now_us();
		if (curl_easy_perform(h) != CURLE_OK)
			return 1;
		lat[i] = now_us() - s;
	}
	report(lat, n, now_us() - t0);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "pam") == 0)
		return bench_pam(argv[2], argv[3], argv[4], strtol(argv[5], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "curl") == 0)
		return bench_curl(argv[2], argv[3], argv[4], strtol(argv[5], NULL, 10));
	fprintf(stderr, "usage: bench_remote pam SERVICE USER TOKEN N | curl URL CAFILE BODY N\n");
	return 2;
}
