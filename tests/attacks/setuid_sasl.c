/*
 * setuid_sasl.c - a setuid host of Cyrus SASL's server side, for
 * tests/attacks/setuid.sh.
 *
 * Installed setuid root in a private folder and run by an unprivileged
 * user with a hostile environment and umask: sasl_server_init with the
 * plugin folder compiled in (-DTA_PLUGDIR, holding a copy of
 * libtokenauth.so), sasl_server_new, sasl_server_start for OAUTHBEARER
 * with a fixed token, the RFC 7628 error round when the server asks for
 * it, then a report of the result and of the environment left.
 *
 * argv[1] picks one of the compiled-in setups: "none" (no tokenauth option
 * at all: the plugin is merely loaded) or "remote" (tokenauth_config names
 * -DTA_REMOTE_CONF, verify = remote).  Nothing else comes from the caller
 * but the environment and the umask.
 */
#include <sasl/sasl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TA_PLUGDIR
#error "build with -DTA_PLUGDIR=\"/path\" -DTA_REMOTE_CONF=\"/path\""
#endif

static const char *conf; /* NULL: no tokenauth option */

static const char *const watched[] = {
    "SSLKEYLOGFILE", "http_proxy",       "HTTPS_PROXY", "ALL_PROXY",     "NO_PROXY",
    "OPENSSL_CONF",  "SSL_CERT_FILE",    "TMPDIR",      "SQLITE_TMPDIR", "PGHOST",
    "PGPASSFILE",    "CURL_SSL_BACKEND", "CURL_HOME",
};

static int getpath_cb(void *context, const char **path)
{
	(void)context;
	*path = TA_PLUGDIR;
	return SASL_OK;
}

static int getopt_cb(void *context, const char *plugin, const char *option, const char **result,
                     unsigned *len)
{
	(void)context;
	(void)plugin;
	if (conf == NULL || strcmp(option, "tokenauth_config") != 0)
		return SASL_FAIL;
	*result = conf;
	if (len)
		*len = (unsigned)strlen(conf);
	return SASL_OK;
}

static int log_cb(void *context, int level, const char *msg)
{
	(void)context;
	if (level <= SASL_LOG_WARN)
		fprintf(stderr, "sasl(%d): %s\n", level, msg);
	return SASL_OK;
}

typedef int (*cb_fn)(void);
#define CB(f) ((cb_fn)(void (*)(void))(f))

int main(int argc, char **argv)
{
	static const char msg[] = "n,a=alice,\001auth=Bearer ta-setuid-test-token-0123456789abcdef"
	                          "\001\001";
	sasl_callback_t cbs[] = {
	    {SASL_CB_GETPATH, CB(getpath_cb), NULL},
	    {SASL_CB_GETOPT, CB(getopt_cb), NULL},
	    {SASL_CB_LOG, CB(log_cb), NULL},
	    {SASL_CB_LIST_END, NULL, NULL},
	};
	sasl_conn_t *s = NULL;
	const char *out = NULL;
	unsigned outlen = 0;
	int r;

	if (argc != 2 || (strcmp(argv[1], "none") != 0 && strcmp(argv[1], "remote") != 0)) {
		fprintf(stderr, "usage: setuid_sasl none|remote\n");
		return 2;
	}
	if (strcmp(argv[1], "remote") == 0)
		conf = TA_REMOTE_CONF;
	r = sasl_server_init(cbs, "ta-setuid");
	printf("sasl_server_init: %d\n", r);
	if (r == SASL_OK)
		r = sasl_server_new("imap", "localhost", NULL, NULL, NULL, NULL, 0, &s);
	if (r == SASL_OK) {
		r = sasl_server_start(s, "OAUTHBEARER", msg, (unsigned)(sizeof(msg) - 1), &out,
		                      &outlen);
		/* RFC 7628 §3.2.2: a failure comes as a JSON challenge first */
		if (r == SASL_CONTINUE && outlen > 0)
			r = sasl_server_step(s, "\001", 1, &out, &outlen);
	}
	printf("sasl_server_start: %d (%s)\n", r, sasl_errstring(r, NULL, NULL));
	sasl_dispose(&s);
	sasl_server_done();
	printf("euid: %u\n", (unsigned)geteuid());
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		printf("env %s: %s\n", watched[i], getenv(watched[i]) ? "set" : "unset");
	return 0;
}
