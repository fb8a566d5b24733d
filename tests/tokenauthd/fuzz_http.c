/*
 * fuzz_http.c - libFuzzer harness over tokenauthd's whole request path:
 * the real libmicrohttpd daemon of tokenauthd/server.c, started in-process
 * on a Unix socket in a temporary folder, with a real store holding a user
 * token and an admin token.  Each input is written as raw bytes to a new
 * connection (then half-closed); the answer is read until the server closes
 * or goes quiet.  Crashes, sanitizer reports and a server that stops
 * answering /healthz are failures.
 *
 * Build (tokenauthd/tokenauthd.mk): clang -fsanitize=fuzzer,address,undefined
 * with every tokenauthd source but main.c (so the route table, the request
 * parsers of td_parse.c and the endpoints of td_api.c too) and the core
 * sources.  The parsers alone are fuzzed by tests/fuzz/fuzz_tokenauthd.c.
 * Seed corpus: tests/tokenauthd/corpus-http/.
 */
#include "tokenauthd.h"

#include "admin.h"
#include "verify.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed keys, so the seed corpus can carry valid x-api-key and cenToken values. */
#define ADMIN_KEY  "fuzz-admin-key-0123456789abcdef"
#define SIGN_KEY   "fuzz-sign-key-0123456789abcdef0"
#define USER_TOKEN "fuzz-user-token-0123456789abcdef"
#define ADMIN_AUTH "fuzz-admin-token-0123456789abcdef"

static char dir[] = "/tmp/ta-fuzz-http.XXXXXX";
static struct sockaddr_un sa;
static ta_config *cfg;
static struct td_listeners ls;
static ta_nonce_cache *nonces;
static td_limits *limits;
static td_server *srv;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_http: setup failed: %s\n", what);
	exit(1);
}

static void write_file(const char *name, const char *text, char *path, size_t cap)
{
	FILE *f;

	snprintf(path, cap, "%s/%s", dir, name);
	umask(077);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		die(name);
}

static void set(const char *key, const char *value)
{
	char err[256];

	if (ta_config_set(cfg, key, value, err, sizeof(err)) != TA_OK)
		die(err);
}

/* A key this build may not know yet: set it when it exists. */
static void set_optional(const char *key, const char *value)
{
	char err[256];

	(void)ta_config_set(cfg, key, value, err, sizeof(err));
}

/* The store with the two tokens the corpus uses. */
static void make_store(void)
{
	char id[TA_TOKEN_ID_LEN + 1];
	unsigned created = 0;
	int64_t exp = 0;
	ta_ctx *ctx = NULL;

	if (ta_ctx_new(cfg, NULL, NULL, &ctx) != TA_OK || ta_admin_init(ctx, &created) != TA_OK ||
	    ta_token_import(ctx, "alice", "acme", 0, USER_TOKEN, strlen(USER_TOKEN), NULL, id, &exp) !=
	        TA_OK ||
	    ta_token_import(ctx, "admin", "", 0, ADMIN_AUTH, strlen(ADMIN_AUTH), NULL, id, &exp) != TA_OK)
		die("store");
	ta_ctx_free(ctx);
}

static void cleanup(void)
{
	char cmd[128];

	td_server_stop(srv);
	td_listeners_close(&ls);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_http: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[512], listen[600];
	struct group *gr = getgrgid(getgid());

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	/* syslog, which nobody reads here: one line per request would drown libFuzzer */
	td_log_init(0, 0);
	if ((cfg = ta_config_new()) == NULL)
		die("config");
	snprintf(path, sizeof(path), "%s/db/tokenauth.db", dir);
	set("store", path);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	set("key_file", path);
	write_file("admin.key", ADMIN_KEY "\n", path, sizeof(path));
	set("admin_api_key_file", path);
	write_file("sign.key", SIGN_KEY "\n", path, sizeof(path));
	set("sign_key_file", path);
	snprintf(listen, sizeof(listen), "unix:%s/td.sock", dir);
	set("listen", listen);
	set("socket_group", gr != NULL ? gr->gr_name : "root");
	set("threads", "2");
	set("max_failures", "0"); /* no lockout: every input reaches the endpoints */
	set_optional("register_allow_unsigned", "yes"); /* unsigned registrations reach the core */
	make_store();
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/td.sock", dir);
	if ((nonces = ta_nonce_cache_new(100000)) == NULL || (limits = td_limits_new()) == NULL)
		die("tables");
	if (td_listeners_open(cfg, &ls) != TA_OK)
		die("listen");
	if (td_server_start(cfg, &ls, nonces, limits, 0, &srv) != TA_OK)
		die("server");
	atexit(cleanup);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * One connection: write everything, half-close, read until EOF, until
 * first_ms pass without a byte, or idle_ms pass after the last one.
 * libmicrohttpd keeps a half-closed keep-alive connection until its idle
 * timeout, so waiting for EOF alone would cost 10 s an input.
 */
static size_t exchange(const uint8_t *data, size_t size, char *out, size_t cap, int first_ms,
                       int idle_ms)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t off = 0, got = 0;
	double end = now_ms() + first_ms;

	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return 0;
	}
	while (off < size) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may hang up early: fine */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		double left = end - now_ms();
		char buf[4096];
		ssize_t n;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
			break;
		end = now_ms() + idle_ms;
		if (got < cap) {
			size_t k = (size_t)n < cap - got ? (size_t)n : cap - got;
			memcpy(out + got, buf, k);
			got += k;
		}
	}
	close(fd);
	return got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char health[] =
	    "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	static unsigned long runs;
	char out[8192];
	size_t n;

	if (size > 64 * 1024)
		return 0;
	(void)exchange(data, size, out, sizeof(out), 60, 10);
	/* every so often: is the service still there? */
	if (++runs % 256 == 0) {
		n = exchange((const uint8_t *)health, sizeof(health) - 1, out, sizeof(out) - 1,
		             3000, 3000);
		out[n] = '\0';
		if (strstr(out, "{\"status\":\"ok\"}") == NULL) {
			fprintf(stderr, "fuzz_http: tokenauthd stopped answering /healthz\n");
			abort();
		}
	}
	return 0;
}
