/*
 * sasl_loop.c - drive libtokenauth.so through libsasl2 in one process:
 * our client plugin against our server plugin, and many threads through
 * one sasl_server_init.
 *
 *   sasl_loop pair    PLUGDIR CONF TOKEN_ALICE TOKEN_BOB TOKEN_ALICE_ACME
 *   sasl_loop split   PLUGDIR CONF TOKEN_ALICE TOKEN_ALICE_EXAMPLE_COM TOKEN_ALICE_AT_TENANT
 *   sasl_loop threads PLUGDIR CONF NTHREADS ITER TOKENFILE
 *
 * "pair" prints one "ok - ..." or "not ok - ..." line per case.  "split"
 * does the same for the identity cases of a server configured with
 * tenant_from_user = yes (tokens of alice, alice in example.com, and alice
 * in the tenant "ex@ample").  "threads"
 * reads one "user token" line per thread from TOKENFILE; each thread runs
 * ITER authentications (every fourth with a wrong token, which must fail
 * after the error round) and the program prints a summary line.  Exit
 * status is the number of failed cases (capped at 100).
 */
#include <sasl/sasl.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
/* libsasl2 stores every callback as int (*)(void). */
#define CB(f) ((int (*)(void))(void (*)(void))(f))

struct opts {
	const char *plugdir;
	const char *conf;
	const char *tenant; /* tokenauth_tenant for the client, or NULL */
	const char *sasldb; /* auxprop store that knows the authzids, or NULL */
};

struct creds {
	const char *authname, *authzid;
	sasl_secret_t *secret;
};

struct result {
	int server;     /* final server code */
	int client;     /* final client code */
	int rounds;     /* server challenges seen */
	char json[256]; /* last non-empty server challenge */
	char user[128]; /* SASL_USERNAME on success */
};

static int getpath_cb(void *context, const char **path)
{
	*path = ((const struct opts *)context)->plugdir;
	return SASL_OK;
}

static int getopt_cb(void *context, const char *plugin, const char *option, const char **result,
                     unsigned *len)
{
	const struct opts *o = context;

	(void)plugin;
	if (strcmp(option, "tokenauth_config") == 0)
		*result = o->conf;
	else if (strcmp(option, "tokenauth_tenant") == 0 && o->tenant != NULL)
		*result = o->tenant;
	else if (strcmp(option, "sasldb_path") == 0 && o->sasldb != NULL)
		*result = o->sasldb;
	else
		return SASL_FAIL;
	if (len)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

static int log_cb(void *context, int level, const char *msg)
{
	(void)context;
	if (level <= SASL_LOG_ERR || getenv("SASL_LOOP_VERBOSE") != NULL)
		fprintf(stderr, "sasl(%d): %s\n", level, msg);
	return SASL_OK;
}

/* Lets "alice" act for "shared"; everyone else only for themselves. */
static int proxy_cb(sasl_conn_t *conn, void *context, const char *requested, unsigned rlen,
                    const char *auth, unsigned alen, const char *realm, unsigned urlen,
                    struct propctx *propctx)
{
	(void)context, (void)realm, (void)urlen, (void)propctx;
	if (rlen == alen && memcmp(requested, auth, alen) == 0)
		return SASL_OK;
	if (alen == 5 && memcmp(auth, "alice", 5) == 0 && rlen == 6 &&
	    memcmp(requested, "shared", 6) == 0)
		return SASL_OK;
	sasl_seterror(conn, 0, "proxy refused");
	return SASL_NOAUTHZ;
}

static int simple_cb(void *context, int id, const char **result, unsigned *len)
{
	const struct creds *c = context;

	*result = id == SASL_CB_AUTHNAME ? c->authname : id == SASL_CB_USER ? c->authzid : NULL;
	if (len)
		*len = *result ? (unsigned)strlen(*result) : 0;
	return SASL_OK;
}

static int secret_cb(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	(void)conn, (void)id;
	*psecret = ((struct creds *)context)->secret;
	return SASL_OK;
}

static sasl_secret_t *make_secret(const char *s)
{
	size_t n = strlen(s);
	sasl_secret_t *sec = calloc(1, sizeof(*sec) + n);

	if (sec == NULL)
		abort();
	sec->len = n;
	memcpy(sec->data, s, n);
	return sec;
}

/* One complete login: client plugin → server plugin and back. */
static void exchange(const char *mech, struct creds *cr, struct result *res)
{
	sasl_callback_t cbs[] = {
	    {SASL_CB_AUTHNAME, CB(simple_cb), cr},
	    {SASL_CB_USER, CB(simple_cb), cr},
	    {SASL_CB_PASS, CB(secret_cb), cr},
	    {SASL_CB_LIST_END, NULL, NULL},
	};
	sasl_conn_t *s = NULL, *c = NULL;
	const char *out = NULL, *sout = NULL, *chosen = NULL;
	unsigned outlen = 0, soutlen = 0;
	const void *user = NULL;

	memset(res, 0, sizeof(*res));
	res->server = res->client = SASL_FAIL;
	if (sasl_server_new("smtp", "mx.example", NULL, "127.0.0.1;25", "127.0.0.1;40000", NULL, 0,
	                    &s) != SASL_OK ||
	    sasl_client_new("smtp", "mx.example", NULL, NULL, cbs, 0, &c) != SASL_OK)
		goto out;
	res->client = sasl_client_start(c, mech, NULL, &out, &outlen, &chosen);
	if (res->client != SASL_CONTINUE && res->client != SASL_OK)
		goto out;
	res->server = sasl_server_start(s, mech, out, outlen, &sout, &soutlen);
	while (res->server == SASL_CONTINUE) {
		res->rounds++;
		if (soutlen > 0 && soutlen < sizeof(res->json)) {
			memcpy(res->json, sout, soutlen);
			res->json[soutlen] = '\0';
		}
		res->client = sasl_client_step(c, sout, soutlen, NULL, &out, &outlen);
		if (res->client != SASL_CONTINUE && res->client != SASL_OK)
			goto out;
		res->server = sasl_server_step(s, out, outlen, &sout, &soutlen);
	}
	if (res->server == SASL_OK) {
		/* Success carries no data: the client learns it from the protocol. */
		res->client = sasl_client_step(c, "", 0, NULL, &out, &outlen);
		if (sasl_getprop(s, SASL_USERNAME, &user) == SASL_OK && user != NULL)
			snprintf(res->user, sizeof(res->user), "%s", (const char *)user);
	}
out:
	sasl_dispose(&c);
	sasl_dispose(&s);
}

/* Raw message straight to the server, for cases our client cannot make. */
static int server_raw(const char *mech, const char *msg, unsigned len)
{
	sasl_conn_t *s = NULL;
	const char *sout;
	unsigned soutlen;
	int r = SASL_FAIL;

	if (sasl_server_new("smtp", "mx.example", NULL, NULL, NULL, NULL, 0, &s) == SASL_OK)
		r = sasl_server_start(s, mech, msg, len, &sout, &soutlen);
	sasl_dispose(&s);
	return r;
}

static int failures;

static void check(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	if (!cond)
		failures++;
}

static void pair_cases(const char *mech, const char *tok_alice, const char *tok_bob)
{
	struct creds cr = {"alice", NULL, make_secret(tok_alice)};
	struct result r;
	char what[160];

	exchange(mech, &cr, &r);
	snprintf(what, sizeof(what),
	         "%s: our client, valid token: server OK, client OK, user alice", mech);
	check(r.server == SASL_OK && r.client == SASL_OK && strcmp(r.user, "alice") == 0, what);

	free(cr.secret);
	cr.secret = make_secret(tok_bob);
	exchange(mech, &cr, &r);
	snprintf(what, sizeof(what), "%s: our client, bob's token as alice: error round, BADAUTH",
	         mech);
	check(r.server == SASL_BADAUTH && r.rounds == 1 && strstr(r.json, "\"status\"") != NULL,
	      what);

	free(cr.secret);
	cr.secret = make_secret(tok_alice);
	if (strcmp(mech, "OAUTHBEARER") == 0) {
		cr.authzid = "shared";
		exchange(mech, &cr, &r);
		check(r.server == SASL_OK && strcmp(r.user, "shared") == 0,
		      "OAUTHBEARER: authzid 'shared' allowed by the proxy policy");
		cr.authzid = "root";
		exchange(mech, &cr, &r);
		check(r.server == SASL_NOAUTHZ,
		      "OAUTHBEARER: authzid 'root' refused by the proxy policy");
		check(r.rounds == 1 && strstr(r.json, "\"invalid_token\"") != NULL,
		      "OAUTHBEARER: a denied proxy authorisation: error round with invalid_token, "
		      "not "
		      "temporarily_unavailable");
	} else {
		cr.authzid = "shared";
		exchange(mech, &cr, &r);
		check(r.client == SASL_BADPARAM,
		      "XOAUTH2: client refuses an authzid it cannot carry");
	}
	free(cr.secret);
}

static void raw_cases(void)
{
	char big[9000];

	memset(big, 'a', sizeof(big));
	check(server_raw("OAUTHBEARER", big, sizeof(big)) == SASL_BADPROT,
	      "OAUTHBEARER: 9000-byte message refused (BADPROT)");
	check(server_raw("XOAUTH2", big, sizeof(big)) == SASL_BADPROT,
	      "XOAUTH2: 9000-byte message refused (BADPROT)");
	check(server_raw("OAUTHBEARER",
	                 "p=tls-unique,a=alice,\x01"
	                 "auth=Bearer x\x01\x01",
	                 36) == SASL_BADPROT,
	      "OAUTHBEARER: channel binding p= refused");
}

/* The tenant travels in the tenant= key when the client is configured. */
static void tenant_cases(struct opts *o, const char *tok_alice, const char *tok_acme)
{
	struct creds cr = {"alice", NULL, make_secret(tok_acme)};
	struct result r;

	/* tenant_from_user = no: "alice@acme" is a legal local name of this
	 * server's own tenant, so a token of (alice, acme) has no identity here */
	o->tenant = "acme";
	exchange("OAUTHBEARER", &cr, &r);
	check(r.server == SASL_BADAUTH && r.rounds == 1 && r.user[0] == '\0' &&
	          strstr(r.json, "\"invalid_token\"") != NULL,
	      "OAUTHBEARER: tenant_from_user=no, tenant=acme with the acme token: refused, never "
	      "alice@acme");
	exchange("XOAUTH2", &cr, &r);
	check(r.server == SASL_BADAUTH && r.rounds == 1 && r.user[0] == '\0' &&
	          strstr(r.json, "\"401\"") != NULL,
	      "XOAUTH2: tenant_from_user=no, tenant=acme with the acme token: refused, never "
	      "alice@acme");
	free(cr.secret);
	cr.secret = make_secret(tok_alice);
	exchange("OAUTHBEARER", &cr, &r);
	check(r.server == SASL_BADAUTH && r.rounds == 1,
	      "OAUTHBEARER: tenant=acme with the default-tenant token: BADAUTH");
	o->tenant = NULL;
	cr.secret->len = 0;
	exchange("OAUTHBEARER", &cr, &r);
	check(r.client == SASL_BADPARAM || r.server == SASL_BADPROT,
	      "OAUTHBEARER: empty token never reaches the server as valid");
	free(cr.secret);
}

/* tenant_from_user = yes: user@tenant is this server's own name for (user, tenant). */
static void split_cases(struct opts *o, const char *tok_alice, const char *tok_excom,
                        const char *tok_atten)
{
	struct creds cr = {"alice", NULL, make_secret(tok_excom)};
	const char *mechs[] = {"OAUTHBEARER", "XOAUTH2"};
	struct result r;
	char what[200];

	for (int i = 0; i < 2; i++) {
		o->tenant = "example.com";
		cr.authname = "alice";
		exchange(mechs[i], &cr, &r);
		snprintf(what, sizeof(what), "%s: split: tenant=example.com: alice@example.com",
		         mechs[i]);
		check(r.server == SASL_OK && strcmp(r.user, "alice@example.com") == 0, what);
		o->tenant = NULL;
		cr.authname = "alice@example.com";
		exchange(mechs[i], &cr, &r);
		snprintf(what, sizeof(what),
		         "%s: split: alice@example.com without a tenant key: same", mechs[i]);
		check(r.server == SASL_OK && strcmp(r.user, "alice@example.com") == 0, what);
		cr.authname = "alice";
		exchange(mechs[i], &cr, &r);
		snprintf(what, sizeof(what),
		         "%s: split: the example.com token cannot log in as the local alice",
		         mechs[i]);
		check(r.server == SASL_BADAUTH && r.rounds == 1 && r.user[0] == '\0', what);
	}
	/* The foreign alice may not use the local alice's proxy rights. */
	cr.authname = "alice@example.com";
	cr.authzid = "shared";
	exchange("OAUTHBEARER", &cr, &r);
	check(r.server == SASL_NOAUTHZ && r.rounds == 1 && strstr(r.json, "invalid_token") != NULL,
	      "OAUTHBEARER: split: alice@example.com cannot act for 'shared' as alice may");
	cr.authzid = "alice";
	exchange("OAUTHBEARER", &cr, &r);
	check(r.server == SASL_NOAUTHZ && r.user[0] == '\0',
	      "OAUTHBEARER: split: alice@example.com cannot ask for authzid alice");
	cr.authzid = NULL;
	free(cr.secret);
	cr.secret = make_secret(tok_atten);
	cr.authname = "alice";
	o->tenant = "ex@ample";
	for (int i = 0; i < 2; i++) {
		exchange(mechs[i], &cr, &r);
		snprintf(what, sizeof(what), "%s: split: a tenant holding '@' is refused",
		         mechs[i]);
		check(r.server == SASL_BADAUTH && r.rounds == 1 && r.user[0] == '\0', what);
	}
	o->tenant = NULL;
	free(cr.secret);
	cr.secret = make_secret(tok_alice);
	exchange("OAUTHBEARER", &cr, &r);
	check(r.server == SASL_OK && strcmp(r.user, "alice") == 0,
	      "OAUTHBEARER: split: the local alice is still alice");
	free(cr.secret);
}

static int run_split(struct opts *o, const char *tok_alice, const char *tok_excom,
                     const char *tok_atten)
{
	sasl_callback_t cbs[] = {
	    {SASL_CB_GETPATH, CB(getpath_cb), o}, {SASL_CB_GETOPT, CB(getopt_cb), o},
	    {SASL_CB_LOG, CB(log_cb), NULL},      {SASL_CB_PROXY_POLICY, CB(proxy_cb), NULL},
	    {SASL_CB_LIST_END, NULL, NULL},
	};

	if (sasl_server_init(cbs, "sasl_loop") != SASL_OK || sasl_client_init(cbs) != SASL_OK) {
		fprintf(stderr, "sasl_loop: cannot initialise libsasl2\n");
		return 100;
	}
	split_cases(o, tok_alice, tok_excom, tok_atten);
	sasl_done();
	return failures;
}

static int run_pair(struct opts *o, const char *tok_alice, const char *tok_bob,
                    const char *tok_acme)
{
	sasl_callback_t cbs[] = {
	    {SASL_CB_GETPATH, CB(getpath_cb), o}, {SASL_CB_GETOPT, CB(getopt_cb), o},
	    {SASL_CB_LOG, CB(log_cb), NULL},      {SASL_CB_PROXY_POLICY, CB(proxy_cb), NULL},
	    {SASL_CB_LIST_END, NULL, NULL},
	};

	if (sasl_server_init(cbs, "sasl_loop") != SASL_OK || sasl_client_init(cbs) != SASL_OK) {
		fprintf(stderr, "sasl_loop: cannot initialise libsasl2\n");
		return 100;
	}
	pair_cases("OAUTHBEARER", tok_alice, tok_bob);
	pair_cases("XOAUTH2", tok_alice, tok_bob);
	tenant_cases(o, tok_alice, tok_acme);
	raw_cases();
	sasl_done();
	return failures;
}

/* ---- threads ---------------------------------------------------------------- */

struct worker {
	pthread_t tid;
	char user[64], token[8200]; /* a JWT may be 8 KiB */
	int iter, ok, wrong;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct creds good = {w->user, NULL, make_secret(w->token)};
	struct creds bad = {w->user, NULL, make_secret("tka_wrongwrongwrongwrongwrongwrongwrong")};
	struct result r;

	for (int i = 0; i < w->iter; i++) {
		const char *mech = (i & 1) ? "XOAUTH2" : "OAUTHBEARER";

		if (i % 4 == 3) {
			exchange(mech, &bad, &r);
			if (r.server == SASL_BADAUTH && r.rounds == 1)
				w->ok++;
			else
				w->wrong++;
		} else {
			exchange(mech, &good, &r);
			if (r.server == SASL_OK && r.client == SASL_OK &&
			    strcmp(r.user, w->user) == 0)
				w->ok++;
			else
				w->wrong++;
		}
	}
	free(good.secret);
	free(bad.secret);
	return NULL;
}

/* "user token" per line. */
static int read_tokens(const char *path, struct worker *w, int n)
{
	FILE *f = fopen(path, "r");
	char line[8300], *sp;
	int i = 0;

	if (f == NULL)
		return -1;
	while (i < n && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((sp = strchr(line, ' ')) == NULL)
			break;
		*sp++ = '\0';
		if (strlen(line) >= sizeof(w[i].user) || strlen(sp) >= sizeof(w[i].token))
			break;
		memcpy(w[i].user, line, strlen(line) + 1);
		memcpy(w[i].token, sp, strlen(sp) + 1);
		i++;
	}
	fclose(f);
	return i == n ? 0 : -1;
}

static int number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s != '\0' && *end == '\0' && v > 0 && v <= 100000 ? (int)v : -1;
}

/* libsasl2's own mutexes are no-ops unless the application supplies real
 * ones, as threaded servers (slapd) do. */
static void *mutex_alloc(void)
{
	pthread_mutex_t *m = malloc(sizeof(*m));

	if (m != NULL)
		pthread_mutex_init(m, NULL);
	return m;
}

static int mutex_lock(void *m)
{
	return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static int mutex_unlock(void *m)
{
	return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static void mutex_free(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
}

static int run_threads(struct opts *o, int n, int iter, const char *tokfile)
{
	static struct worker w[MAX_THREADS];
	sasl_callback_t cbs[] = {
	    {SASL_CB_GETPATH, CB(getpath_cb), o},
	    {SASL_CB_GETOPT, CB(getopt_cb), o},
	    {SASL_CB_LOG, CB(log_cb), NULL},
	    {SASL_CB_LIST_END, NULL, NULL},
	};
	int ok = 0, wrong = 0;

	if (n < 1 || n > MAX_THREADS || iter < 1 || read_tokens(tokfile, w, n) != 0) {
		fprintf(stderr, "sasl_loop: bad thread arguments or token file\n");
		return 100;
	}
	sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
	if (sasl_server_init(cbs, "sasl_loop") != SASL_OK || sasl_client_init(cbs) != SASL_OK)
		return 100;
	for (int i = 0; i < n; i++) {
		w[i].iter = iter;
		if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0)
			return 100;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		ok += w[i].ok;
		wrong += w[i].wrong;
	}
	sasl_done();
	printf(
	    "threads: %d x %d authentications through one sasl_server_init: %d correct, %d wrong\n",
	    n, iter, ok, wrong);
	return wrong > 100 ? 100 : wrong;
}

int main(int argc, char **argv)
{
	struct opts o = {NULL, NULL, NULL, getenv("SASL_LOOP_SASLDB")};

	if (argc == 7 && strcmp(argv[1], "pair") == 0) {
		o.plugdir = argv[2];
		o.conf = argv[3];
		return run_pair(&o, argv[4], argv[5], argv[6]);
	}
	if (argc == 7 && strcmp(argv[1], "split") == 0) {
		o.plugdir = argv[2];
		o.conf = argv[3];
		return run_split(&o, argv[4], argv[5], argv[6]);
	}
	if (argc == 7 && strcmp(argv[1], "threads") == 0) {
		o.plugdir = argv[2];
		o.conf = argv[3];
		return run_threads(&o, number(argv[4]), number(argv[5]), argv[6]);
	}
	fprintf(
	    stderr,
	    "usage: sasl_loop pair PLUGDIR CONF TOKEN_ALICE TOKEN_BOB TOKEN_ALICE_ACME\n"
	    "       sasl_loop split PLUGDIR CONF TOKEN_ALICE TOKEN_EXAMPLE_COM TOKEN_AT_TENANT\n"
	    "       sasl_loop threads PLUGDIR CONF NTHREADS ITER TOKENFILE\n");
	return 100;
}
