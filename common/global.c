/*
 * global.c - process-wide initialisation of the libraries the core uses
 * (libcurl today), done once per process however often it is asked for.
 *
 * This is the one place that touches process-global library state, so the
 * rules for privileged hosts (setuid sudo/su, daemons) live here too: see
 * SECURITY.md, "The caller's environment".
 */
#include "verify.h"

#include <pthread.h>

#include <curl/curl.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void init(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ta_global_init(void)
{
	pthread_once(&once, init);
	return init_rc == CURLE_OK ? TA_OK : TA_ERR_UNAVAILABLE;
}
