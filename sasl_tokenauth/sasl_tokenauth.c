/*
 * sasl_tokenauth.c - Cyrus SASL plugin: OAUTHBEARER (RFC 7628) and XOAUTH2,
 * server and client side, over the tokenauth core (SPEC §6).
 *
 * This file only translates between libsasl2 and the core: message
 * grammar lives in common/sasl_msg.c, verification in common/verify.c.
 *
 * Threading: the server's global context (configuration, scope) is built
 * once in sasl_server_plug_init and only read afterwards; every connection
 * gets its own core context, created and freed inside its step.  The one
 * field written later, the mech_free counter, is touched only by sasl_done.
 * Memory the library sees is allocated with utils->malloc/utils->free.
 */
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "sasl_msg.h"
#include "ta.h"
#include "verify.h"

#define SASL_EXPORT __attribute__((visibility("default")))
#define MECH_COUNT  2
#define OPT_MAX     4096 /* longest option value taken from getopt */

SASL_EXPORT sasl_server_plug_init_t sasl_server_plug_init;
SASL_EXPORT sasl_client_plug_init_t sasl_client_plug_init;

static const char *const mech_names[] = {"", "OAUTHBEARER", "XOAUTH2"};

/* ---- shared helpers -------------------------------------------------------- */

/* Core log levels to SASL's: refusals are authentication failures. */
static int sasl_log_level(int level)
{
	switch (level) {
	case TA_LOG_ERR: return SASL_LOG_ERR;
	case TA_LOG_WARNING: return SASL_LOG_WARN;
	case TA_LOG_NOTICE: return SASL_LOG_FAIL;
	case TA_LOG_INFO: return SASL_LOG_NOTE;
	default: return SASL_LOG_DEBUG;
	}
}

/*
 * The one mapping of core results to SASL codes (SPEC §4).  A user with
 * no credential is SASL_NOUSER as the SPEC says; on the wire it gets the
 * same challenge as a wrong token.
 */
static int sasl_code(int r)
{
	if (r == TA_OK)
		return SASL_OK;
	if (ta_err_is_rejection(r))
		return SASL_BADAUTH;
	switch (r) {
	case TA_ERR_NO_CREDENTIAL: return SASL_NOUSER;
	case TA_ERR_UNAVAILABLE:
	case TA_ERR_INSECURE:
	case TA_ERR_CORRUPT: return SASL_UNAVAIL;
	case TA_ERR_CONFIG: return SASL_BADPARAM;
	case TA_ERR_INPUT:
	case TA_ERR_UNSUPPORTED: return SASL_BADPROT;
	case TA_ERR_NOMEM: return SASL_NOMEM;
	default: return SASL_FAIL;
	}
}

/*
 * Look up "tokenauth_<key>" through the application's getopt.  Returns 1
 * with the value copied into val, 0 when unset, -1 when too long.
 */
static int get_option(const sasl_utils_t *u, const char *key, char *val, size_t cap)
{
	char name[96];
	const char *v = NULL;
	unsigned len = 0;

	if (u->getopt == NULL ||
	    (size_t)snprintf(name, sizeof(name), "tokenauth_%s", key) >= sizeof(name))
		return 0;
	if (u->getopt(u->getopt_context, NULL, name, &v, &len) != SASL_OK || v == NULL)
		return 0;
	if (len == 0)
		len = (unsigned)strnlen(v, cap);
	if (len >= cap)
		return -1;
	memcpy(val, v, len);
	val[len] = '\0';
	return 1;
}

static void fill_oparams(sasl_out_params_t *op)
{
	op->doneflag = 1;
	op->mech_ssf = 0;
	op->maxoutbuf = 0;
	op->encode_context = NULL;
	op->encode = NULL;
	op->decode_context = NULL;
	op->decode = NULL;
	op->param_version = 0;
}

/* ---- server: global context ------------------------------------------------- */

struct server_glob {
	sasl_server_plug_t plugs[MECH_COUNT];
	ta_config *cfg;    /* NULL when the configuration is unusable */
	char problem[512]; /* why cfg is NULL; logged per connection */
	char scope[TA_SASL_MAX_SCOPE + 1];
	unsigned freed; /* mech_free calls seen (sasl_done only) */
};

/* Options from getopt override the file named by tokenauth_config. */
static int apply_options(const sasl_utils_t *u, ta_config *cfg, char *val, char *err, size_t errlen)
{
	const char *key;
	int o, r;

	for (size_t i = 0; (key = ta_config_key(i)) != NULL; i++) {
		if (strcmp(key, "config") == 0 || (o = get_option(u, key, val, OPT_MAX)) == 0)
			continue;
		if (o < 0) {
			snprintf(err, errlen, "tokenauth_%s: value too long", key);
			return TA_ERR_CONFIG;
		}
		if ((r = ta_config_set(cfg, key, val, err, errlen)) != TA_OK)
			return r;
	}
	return TA_OK;
}

static int load_scope(const sasl_utils_t *u, struct server_glob *g, char *val, char *err,
                      size_t errlen)
{
	int o = get_option(u, "scope", val, OPT_MAX);

	if (o == 0)
		return TA_OK;
	if (o < 0 || !ta_sasl_scope_ok(val)) {
		snprintf(err, errlen, "tokenauth_scope: not a valid OAuth scope (RFC 6749 §3.3)");
		return TA_ERR_CONFIG;
	}
	memcpy(g->scope, val, strlen(val) + 1);
	return TA_OK;
}

/*
 * Build g->cfg: defaults, the file (tokenauth_config, else the default
 * file when it exists), then every tokenauth_<key> option.  Never fails
 * the plugin: a problem leaves cfg NULL and is reported per connection.
 */
static void load_server_config(const sasl_utils_t *u, struct server_glob *g)
{
	ta_config *cfg = NULL;
	char *val = NULL, err[512] = "";
	int r = TA_ERR_NOMEM, named;

	if ((val = u->malloc(OPT_MAX)) == NULL || (cfg = ta_config_new()) == NULL)
		goto out;
	if ((named = get_option(u, "config", val, OPT_MAX)) < 0) {
		snprintf(err, sizeof(err), "tokenauth_config: value too long");
		r = TA_ERR_CONFIG;
		goto out;
	}
	r = ta_config_load(cfg, named ? val : TA_DEFAULT_CONFIG, !named, err, sizeof(err));
	if (r == TA_OK)
		r = apply_options(u, cfg, val, err, sizeof(err));
	if (r == TA_OK)
		r = load_scope(u, g, val, err, sizeof(err));
	if (r == TA_OK) {
		g->cfg = cfg;
		cfg = NULL;
	}
out:
	if (r != TA_OK) {
		snprintf(g->problem, sizeof(g->problem), "%s", err[0] ? err : ta_strerror(r));
		u->log(u->conn, SASL_LOG_ERR,
		       "tokenauth: OAUTHBEARER and XOAUTH2 disabled, configuration unusable: %s",
		       g->problem);
	}
	ta_config_free(cfg);
	if (val != NULL)
		u->free(val);
}

/* ---- server: one principal namespace ---------------------------------------- */

/*
 * A principal is a pair (user, tenant).  D(n) is what this server derives
 * from a bare name n, with no tenant key (SPEC §2, ta_resolve_identity):
 * (n before its last '@', n after it) when tenant_from_user = yes and n
 * holds an '@', else (n, the configured tenant).  D is a function of n.
 *
 * The session identity I(p) a host sees for the principal p = (u, t):
 *   - u,    when D(u) = (u, t): the server's own tenant;
 *   - u@t,  when tenant_from_user = yes, u and t hold no '@' and t is not
 *           empty (then D(u@t) = (u, t): the strrchr split finds our '@');
 *   - none otherwise: the login is refused before the token is checked.
 * The code does not trust this case analysis: host_identity() emits a name
 * only after checking D(name) = p, and check_canon() checks the same of
 * the name the host's canon_user returns (a user_realm, for instance,
 * appends "@realm" to names without '@').
 *
 * Injectivity.  Let p1 != p2 be principals that both log in, with host
 * identities h1 and h2.  Both passed the check, so D(h1) = p1 and
 * D(h2) = p2.  If h1 = h2 then p1 = D(h1) = D(h2) = p2, a contradiction;
 * so h1 != h2.  No principal can take another's identity, in any
 * configuration.  The same holds across PAM and SASL hosts sharing one
 * configuration: pam_tokenauth checks the PAM user n as D(n).
 *
 * A qualified identity carries exactly one '@', so a host that splits at
 * the first '@' and one that splits at the last read it the same way.
 */
struct principal {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
};

#define IDENT_MAX (TA_MAX_USER + TA_MAX_TENANT + 1) /* longest "user@tenant" */

/* Does this server's own rule map the bare name n to exactly p? */
static int maps_to(const ta_config *cfg, const char *n, const struct principal *p)
{
	struct principal d;

	return ta_resolve_identity(cfg, n, NULL, d.user, d.tenant) == TA_OK &&
	       strcmp(d.user, p->user) == 0 && strcmp(d.tenant, p->tenant) == 0;
}

/*
 * The principal whose token is checked.  Without a tenant key, D(authcid).
 * With one that agrees with D(authcid) (the key only confirms), the same.
 * With one that differs, the name as sent in that tenant (SPEC §2: an
 * explicit tenant wins, and the name is not split).
 */
static int principal_of(const ta_config *cfg, const char *authcid, const struct ta_sasl_msg *m,
                        struct principal *p)
{
	if (ta_resolve_identity(cfg, authcid, NULL, p->user, p->tenant) != TA_OK)
		return TA_ERR_INPUT;
	if (!m->has_tenant || strcmp(p->tenant, m->tenant) == 0)
		return TA_OK;
	return ta_resolve_identity(cfg, authcid, m->tenant, p->user, p->tenant);
}

/*
 * I(p) into ident[IDENT_MAX + 1], or TA_ERR_TENANT with *why saying which
 * rule refused it (for the log: names and rules only, never the token).
 */
static int host_identity(const ta_config *cfg, const struct principal *p, char ident[IDENT_MAX + 1],
                         const char **why)
{
	if (maps_to(cfg, p->user, p)) {
		memcpy(ident, p->user, strlen(p->user) + 1);
		return TA_OK;
	}
	if (!ta_config_flag(cfg, "tenant_from_user")) {
		*why = "another tenant than this server's, and tenant_from_user = no "
		       "(user@tenant would also be a local user name)";
		return TA_ERR_TENANT;
	}
	if (strchr(p->user, '@') != NULL || strchr(p->tenant, '@') != NULL ||
	    p->tenant[0] == '\0') {
		*why = "another tenant than this server's, and the user or tenant is empty or "
		       "holds an '@' (user@tenant would be ambiguous)";
		return TA_ERR_TENANT;
	}
	if ((size_t)snprintf(ident, IDENT_MAX + 1, "%s@%s", p->user, p->tenant) > IDENT_MAX ||
	    !maps_to(cfg, ident, p)) {
		*why = "user@tenant does not map back to this user and tenant";
		return TA_ERR_TENANT;
	}
	return TA_OK;
}

/* ---- server: one connection ------------------------------------------------- */

enum { S_START = 0, S_ERROR_SENT, S_DONE };

struct server_conn {
	const struct server_glob *glob;
	const sasl_utils_t *utils;
	ta_sasl_mech mech;
	int state;
	int asked;   /* an empty challenge asked for the client's message */
	int failure; /* SASL code returned once the error round ends */
	char challenge[TA_SASL_MAX_JSON];
};

static void server_log(void *arg, int level, const char *msg)
{
	const struct server_conn *c = arg;

	c->utils->log(c->utils->conn, sasl_log_level(level), "%s", msg);
}

static int server_avail(void *glob_context, sasl_server_params_t *sp, void **conn_context)
{
	const struct server_glob *g = glob_context;

	(void)conn_context;
	if (g->cfg != NULL)
		return SASL_OK;
	/* init already logged the problem as an error; once per connection is noise */
	sp->utils->log(sp->utils->conn, SASL_LOG_DEBUG,
	               "tokenauth: mechanism unavailable for this connection: %s", g->problem);
	return SASL_NOMECH;
}

static int server_new(void *glob_context, sasl_server_params_t *sp, ta_sasl_mech mech,
                      void **conn_context)
{
	const struct server_glob *g = glob_context;
	struct server_conn *c;

	*conn_context = NULL;
	if (g->cfg == NULL) {
		sp->utils->seterror(sp->utils->conn, 0, "tokenauth: %s unavailable: %s",
		                    mech_names[mech], g->problem);
		return SASL_UNAVAIL;
	}
	if ((c = sp->utils->malloc(sizeof(*c))) == NULL)
		return SASL_NOMEM;
	memset(c, 0, sizeof(*c));
	c->glob = g;
	c->utils = sp->utils;
	c->mech = mech;
	*conn_context = c;
	return SASL_OK;
}

static int oauthbearer_server_new(void *glob_context, sasl_server_params_t *sp,
                                  const char *challenge, unsigned challen, void **conn_context)
{
	(void)challenge;
	(void)challen;
	return server_new(glob_context, sp, TA_SASL_OAUTHBEARER, conn_context);
}

static int xoauth2_server_new(void *glob_context, sasl_server_params_t *sp, const char *challenge,
                              unsigned challen, void **conn_context)
{
	(void)challenge;
	(void)challen;
	return server_new(glob_context, sp, TA_SASL_XOAUTH2, conn_context);
}

/* "a.b.c.d;port" from libsasl2 to the address alone, for the log line. */
static const char *remote_host(const sasl_server_params_t *sp, char *buf, size_t cap)
{
	size_t n = 0;

	if (sp->ipremoteport == NULL)
		return NULL;
	while (n < sp->ipremlen && n + 1 < cap && sp->ipremoteport[n] != ';' &&
	       sp->ipremoteport[n] != '\0') {
		buf[n] = sp->ipremoteport[n];
		n++;
	}
	buf[n] = '\0';
	return buf;
}

/* Check m's token for exactly the principal p (its tenant made explicit). */
static int verify(struct server_conn *c, sasl_server_params_t *sp, const struct principal *p,
                  const struct ta_sasl_msg *m)
{
	struct ta_request req;
	ta_ctx *ctx = NULL;
	char rhost[128];
	int r;

	if ((r = ta_ctx_new(c->glob->cfg, server_log, c, &ctx)) != TA_OK)
		goto out;
	memset(&req, 0, sizeof(req));
	req.user = p->user;
	req.tenant = p->tenant;
	req.credential = m->token;
	req.credential_len = m->token_len;
	req.service = sp->service;
	req.rhost = remote_host(sp, rhost, sizeof(rhost));
	r = ta_verify(ctx, &req, NULL);
out:
	ta_ctx_free(ctx);
	return r;
}

/*
 * The verified identity goes through canon_user; an authzid that differs
 * is canonicalised separately, and libsasl2's proxy policy decides after
 * the step returns.
 */
static int set_identity(sasl_server_params_t *sp, const char *authcid, const char *authzid,
                        sasl_out_params_t *op)
{
	unsigned alen = (unsigned)strnlen(authcid, TA_MAX_USER + TA_MAX_TENANT + 1);
	unsigned zlen = (unsigned)strnlen(authzid, TA_MAX_USER + TA_MAX_TENANT + 1);
	int r;

	if (alen == zlen && memcmp(authcid, authzid, alen) == 0)
		return sp->canon_user(
		    sp->utils->conn, authcid, alen,
		    SASL_CU_AUTHID | SASL_CU_AUTHZID | SASL_CU_EXTERNALLY_VERIFIED, op);
	r = sp->canon_user(sp->utils->conn, authcid, alen,
	                   SASL_CU_AUTHID | SASL_CU_EXTERNALLY_VERIFIED, op);
	if (r == SASL_OK)
		r = sp->canon_user(sp->utils->conn, authzid, zlen, SASL_CU_AUTHZID, op);
	return r;
}

/*
 * Only a fault on this side tells the client to try later; every refusal
 * (a wrong token, an identity canon_user or the proxy policy denies: NOAUTHZ,
 * BADAUTH, BUFOVER, ...) tells it that this token does not do.
 */
static int is_unavailable(int code)
{
	switch (code) {
	case SASL_UNAVAIL:
	case SASL_NOMEM:
	case SASL_FAIL:
	case SASL_TRYAGAIN: return 1;
	default: return 0;
	}
}

/* RFC 7628 §3.2.2: answer a failure with the JSON challenge first. */
static int start_error_round(struct server_conn *c, int code, const char **out, unsigned *outlen)
{
	int unavailable = is_unavailable(code);
	size_t n;

	c->state = S_DONE;
	if (ta_sasl_error_json(c->mech, unavailable, c->glob->scope, c->challenge,
	                       sizeof(c->challenge), &n) != TA_OK)
		return code;
	c->failure = code;
	c->state = S_ERROR_SENT;
	*out = c->challenge;
	*outlen = (unsigned)n;
	return SASL_CONTINUE;
}

static int protocol_error(struct server_conn *c, const char *what)
{
	c->state = S_DONE;
	c->utils->log(c->utils->conn, SASL_LOG_FAIL, "tokenauth: %s: %s", mech_names[c->mech],
	              what);
	c->utils->seterror(c->utils->conn, SASL_NOLOG, "%s: %s", mech_names[c->mech], what);
	return SASL_BADPROT;
}

/*
 * The identity the host ended up with.  canon_user may have rewritten it
 * (the default one appends "@realm" when the host set a user_realm); it
 * stands only if this server's rule maps it back to p, else two
 * principals could share it.  The rewritten name is not logged: a host's
 * canonicaliser may put anything in it.
 */
static int check_canon(const struct server_conn *c, const struct principal *p, const char *ident,
                       const sasl_out_params_t *op)
{
	char h[IDENT_MAX + 1];

	if (op->authid == NULL || op->alen == 0 || op->alen > IDENT_MAX)
		return SASL_BADAUTH;
	if (op->alen == strlen(ident) && memcmp(op->authid, ident, op->alen) == 0)
		return SASL_OK;
	memcpy(h, op->authid, op->alen);
	h[op->alen] = '\0';
	if (memchr(h, '\0', op->alen) == NULL && maps_to(c->glob->cfg, h, p))
		return SASL_OK;
	c->utils->log(c->utils->conn, SASL_LOG_FAIL,
	              "tokenauth: %s: refused user=%s tenant=%s: the host's canon_user (a "
	              "user_realm?) turned the identity into a name this server maps to another "
	              "user or tenant",
	              mech_names[c->mech], TA_Q(p->user), TA_Q(p->tenant));
	return SASL_BADAUTH;
}

/*
 * A proxy login (authorization identity != authentication identity) is
 * decided here, by the host's policy (SASL_CB_PROXY_POLICY; libsasl2
 * hands out its default, "only when equal", when the host has none), so
 * that a refusal gets the RFC 7628 error round with invalid_token.
 * libsasl2 asks the same policy again after the step; that is harmless.
 */
static int authorize(sasl_server_params_t *sp, const sasl_out_params_t *op)
{
	sasl_authorize_t *fn = NULL;
	void *ctx = NULL;

	if (op->user == NULL || op->authid == NULL ||
	    (op->ulen == op->alen && memcmp(op->user, op->authid, op->alen) == 0))
		return SASL_OK;
	if (sp->utils->getcallback(sp->utils->conn, SASL_CB_PROXY_POLICY, (sasl_callback_ft *)&fn,
	                           &ctx) != SASL_OK ||
	    fn == NULL)
		return SASL_OK; /* libsasl2 still applies its own after the step */
	return fn(sp->utils->conn, ctx, op->user, op->ulen, op->authid, op->alen, sp->user_realm,
	          sp->urlen, sp->propctx);
}

static int edge_space(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
}

/* The names a parsed message carries, or the protocol error they earn. */
static const char *message_names(const struct ta_sasl_msg *m, const char **authcid,
                                 const char **authzid)
{
	*authcid = m->user[0] ? m->user : m->authzid;
	*authzid = m->authzid[0] ? m->authzid : NULL;
	if ((*authcid)[0] == '\0')
		return "message names no user (a= or user=)";
	/* canon_user may trim spaces: the name checked must be the name used */
	if (edge_space(*authcid) || (*authzid != NULL && edge_space(*authzid)))
		return "user names may not begin or end with a space";
	return NULL;
}

/* After the credential's verdict r: the session identity, or the error round. */
static int finish(struct server_conn *c, sasl_server_params_t *sp, int r,
                  const struct principal *p, const char *ident, const char *authzid,
                  const char **out, unsigned *outlen, sasl_out_params_t *op)
{
	if (r == SASL_OK)
		r = set_identity(sp, ident, authzid, op);
	if (r == SASL_OK)
		r = check_canon(c, p, ident, op);
	if (r == SASL_OK)
		r = authorize(sp, op);
	if (r != SASL_OK)
		return start_error_round(c, r, out, outlen);
	c->state = S_DONE;
	fill_oparams(op);
	return SASL_OK;
}

static int server_first(struct server_conn *c, sasl_server_params_t *sp, const char *in,
                        unsigned inlen, const char **out, unsigned *outlen, sasl_out_params_t *op)
{
	struct ta_sasl_msg m; /* holds the token: wiped on every path below */
	struct principal p;
	char ident[IDENT_MAX + 1];
	const char *authcid, *authzid, *why = "", *bad;
	int r;

	if (inlen == 0 && !c->asked) {
		/* No initial response: ask for it with an empty challenge. */
		c->asked = 1;
		c->challenge[0] = '\0';
		*out = c->challenge;
		return SASL_CONTINUE;
	}
	r = ta_sasl_parse(c->mech, in, inlen, &m);
	if (r == TA_ERR_UNSUPPORTED)
		return protocol_error(c, "channel binding (p=) is not supported");
	if (r != TA_OK)
		return protocol_error(c, "malformed client message");
	if ((bad = message_names(&m, &authcid, &authzid)) != NULL) {
		r = protocol_error(c, bad);
		goto out;
	}
	if (principal_of(c->glob->cfg, authcid, &m, &p) != TA_OK) {
		r = protocol_error(c, "user or tenant name too long or empty");
		goto out;
	}
	/* refused before the token is checked: an OTP code is not spent */
	if (host_identity(c->glob->cfg, &p, ident, &why) != TA_OK) {
		c->utils->log(c->utils->conn, SASL_LOG_FAIL,
		              "tokenauth: %s: refused user=%s tenant=%s: %s", mech_names[c->mech],
		              TA_Q(p.user), TA_Q(p.tenant), why);
		r = start_error_round(c, SASL_BADAUTH, out, outlen);
		goto out;
	}
	/* "the name I sent" means the session identity, never the raw string */
	if (authzid == NULL || strcmp(authzid, authcid) == 0)
		authzid = ident;
	r = finish(c, sp, sasl_code(verify(c, sp, &p, &m)), &p, ident, authzid, out, outlen, op);
out:
	ta_sasl_msg_wipe(&m);
	return r;
}

static int server_step(void *conn_context, sasl_server_params_t *sp, const char *in, unsigned inlen,
                       const char **out, unsigned *outlen, sasl_out_params_t *op)
{
	struct server_conn *c = conn_context;

	*out = NULL;
	*outlen = 0;
	if (inlen > TA_SASL_MAX_MSG)
		return protocol_error(c, "client message too long");
	switch (c->state) {
	case S_START: return server_first(c, sp, in, inlen, out, outlen, op);
	case S_ERROR_SENT:
		c->state = S_DONE;
		if (!ta_sasl_is_ack(c->mech, in, inlen))
			return protocol_error(c, "expected %x01 after the error challenge");
		sp->utils->seterror(sp->utils->conn, SASL_NOLOG, "%s: authentication failed",
		                    mech_names[c->mech]);
		return c->failure;
	default: return protocol_error(c, "step after the exchange ended");
	}
}

static void server_dispose(void *conn_context, const sasl_utils_t *utils)
{
	if (conn_context != NULL)
		utils->free(conn_context);
}

/* Called once per mechanism; the shared block goes with the last call. */
static void server_free(void *glob_context, const sasl_utils_t *utils)
{
	struct server_glob *g = glob_context;

	if (g == NULL || ++g->freed < MECH_COUNT)
		return;
	ta_config_free(g->cfg);
	utils->free(g);
}

#define SERVER_PLUG(name, newfn)                                                                   \
	{                                                                                          \
		.mech_name = (name), .max_ssf = 0, .security_flags = SASL_SEC_NOANONYMOUS,         \
		.features = SASL_FEAT_WANT_CLIENT_FIRST | SASL_FEAT_ALLOWS_PROXY,                  \
		.mech_new = (newfn), .mech_step = server_step, .mech_dispose = server_dispose,     \
		.mech_free = server_free, .mech_avail = server_avail,                              \
	}

static const sasl_server_plug_t server_template[MECH_COUNT] = {
    SERVER_PLUG("OAUTHBEARER", oauthbearer_server_new),
    SERVER_PLUG("XOAUTH2", xoauth2_server_new),
};

/*
 * Entry point for libsasl2's server side.  Returns SASL_OK even when the
 * configuration is missing or wrong (SPEC §7): the mechanisms then report
 * themselves unavailable per connection.  Only a too-old library
 * (SASL_BADVERS) or no memory fails.
 */
int sasl_server_plug_init(const sasl_utils_t *utils, int maxversion, int *out_version,
                          sasl_server_plug_t **pluglist, int *plugcount)
{
	struct server_glob *g;

	if (maxversion < SASL_SERVER_PLUG_VERSION)
		return SASL_BADVERS;
	if ((g = utils->malloc(sizeof(*g))) == NULL)
		return SASL_NOMEM;
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < MECH_COUNT; i++) {
		g->plugs[i] = server_template[i];
		g->plugs[i].glob_context = g;
	}
	load_server_config(utils, g);
	/*
	 * sasl_server_init runs before the host's threads: process-wide
	 * initialisation belongs here, not lazily inside mech_step (slapd).
	 * But only when the configuration needs it: libcurl's global init
	 * reads the environment (SSLKEYLOGFILE), and any setuid program that
	 * calls sasl_server_init loads this plugin.
	 */
	(void)ta_global_init_for(g->cfg);
	*out_version = SASL_SERVER_PLUG_VERSION;
	*pluglist = g->plugs;
	*plugcount = MECH_COUNT;
	return SASL_OK;
}

/* ---- client ----------------------------------------------------------------- */

struct client_glob {
	sasl_client_plug_t plugs[MECH_COUNT];
	unsigned freed; /* mech_free calls seen (sasl_done only) */
};

enum { C_START = 0, C_SENT, C_ACKED };

struct client_conn {
	ta_sasl_mech mech;
	int state;
	char out[TA_SASL_MAX_MSG]; /* our message; holds the token until dispose */
	size_t outlen;
};

/* What the application told us: pointers stay owned by it. */
struct client_creds {
	const char *authname, *authzid, *pass;
	unsigned alen, zlen, plen;
	int need_authname, need_authzid, need_pass; /* SASL_INTERACT pending */
};

static sasl_interact_t *find_prompt(sasl_interact_t **need, unsigned long id)
{
	if (need == NULL || *need == NULL)
		return NULL;
	for (sasl_interact_t *p = *need; p->id != SASL_CB_LIST_END; p++)
		if (p->id == id)
			return p;
	return NULL;
}

/* A simple value: from an answered prompt, else the callback. */
static int get_simple(sasl_client_params_t *cp, sasl_interact_t **need, unsigned long id,
                      int required, const char **val, unsigned *len, int *interact)
{
	const sasl_interact_t *p = find_prompt(need, id);
	sasl_getsimple_t *fn = NULL;
	void *ctx = NULL;
	int r;

	*val = NULL;
	*len = 0;
	if (p != NULL) {
		*val = p->result;
		*len = p->result ? p->len : 0;
		return required && *val == NULL ? SASL_BADPARAM : SASL_OK;
	}
	r = cp->utils->getcallback(cp->utils->conn, id, (sasl_callback_ft *)&fn, &ctx);
	if (r == SASL_INTERACT)
		return *interact = 1, SASL_OK;
	if (r == SASL_FAIL && !required)
		return SASL_OK;
	if (r != SASL_OK || fn == NULL)
		return r == SASL_OK ? SASL_FAIL : r;
	if ((r = fn(ctx, (int)id, val, len)) != SASL_OK)
		return r;
	if (*val != NULL && *len == 0)
		*len = (unsigned)strnlen(*val, TA_MAX_USER + 1);
	return required && *val == NULL ? SASL_BADPARAM : SASL_OK;
}

static int get_pass(sasl_client_params_t *cp, sasl_interact_t **need, struct client_creds *cr)
{
	const sasl_interact_t *p = find_prompt(need, SASL_CB_PASS);
	sasl_getsecret_t *fn = NULL;
	sasl_secret_t *secret = NULL;
	void *ctx = NULL;
	int r;

	if (p != NULL) {
		cr->pass = p->result;
		cr->plen = p->result ? p->len : 0;
		return cr->pass ? SASL_OK : SASL_BADPARAM;
	}
	r = cp->utils->getcallback(cp->utils->conn, SASL_CB_PASS, (sasl_callback_ft *)&fn, &ctx);
	if (r == SASL_INTERACT)
		return cr->need_pass = 1, SASL_OK;
	if (r != SASL_OK || fn == NULL)
		return r == SASL_OK ? SASL_FAIL : r;
	if ((r = fn(cp->utils->conn, ctx, SASL_CB_PASS, &secret)) != SASL_OK)
		return r;
	if (secret == NULL || secret->len > TA_MAX_JWT)
		return SASL_BADPARAM;
	cr->pass = (const char *)secret->data;
	cr->plen = (unsigned)secret->len;
	return SASL_OK;
}

static int get_creds(sasl_client_params_t *cp, sasl_interact_t **need, struct client_creds *cr)
{
	int r;

	memset(cr, 0, sizeof(*cr));
	r = get_simple(cp, need, SASL_CB_AUTHNAME, 1, &cr->authname, &cr->alen, &cr->need_authname);
	if (r == SASL_OK)
		r = get_simple(cp, need, SASL_CB_USER, 0, &cr->authzid, &cr->zlen,
		               &cr->need_authzid);
	if (r == SASL_OK)
		r = get_pass(cp, need, cr);
	return r;
}

/* Ask the application for what no callback gave (SASL_INTERACT). */
static int make_prompts(const sasl_utils_t *u, const struct client_creds *cr,
                        sasl_interact_t **need)
{
	sasl_interact_t *p;
	size_t n = 0;

	if ((p = u->malloc(4 * sizeof(*p))) == NULL)
		return SASL_NOMEM;
	memset(p, 0, 4 * sizeof(*p));
	if (cr->need_authname)
		p[n].id = SASL_CB_AUTHNAME, p[n++].prompt = "Authentication name";
	if (cr->need_authzid)
		p[n].id = SASL_CB_USER, p[n++].prompt = "Authorization name";
	if (cr->need_pass)
		p[n].id = SASL_CB_PASS, p[n++].prompt = "Bearer token";
	p[n].id = SASL_CB_LIST_END;
	*need = p;
	return SASL_INTERACT;
}

static int copy_field(char *dst, size_t cap, const char *s, unsigned len)
{
	if (s == NULL || len >= cap || memchr(s, '\0', len) != NULL)
		return SASL_BADPARAM;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return SASL_OK;
}

/* The tenant option, the server name and the credentials into m. */
static int fill_msg(sasl_client_params_t *cp, const struct client_creds *cr, struct ta_sasl_msg *m)
{
	char tenant[TA_MAX_TENANT + 1];
	int same = cr->zlen == 0 ||
	           (cr->zlen == cr->alen && memcmp(cr->authzid, cr->authname, cr->alen) == 0);
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = copy_field(m->user, sizeof(m->user), cr->authname, cr->alen)) != SASL_OK ||
	    cr->alen == 0)
		return SASL_BADPARAM;
	if (!same &&
	    (r = copy_field(m->authzid, sizeof(m->authzid), cr->authzid, cr->zlen)) != SASL_OK)
		return r;
	if ((r = copy_field(m->token, sizeof(m->token), cr->pass, cr->plen)) != SASL_OK)
		return r;
	m->token_len = cr->plen;
	if (get_option(cp->utils, "tenant", tenant, sizeof(tenant)) == 1) {
		memcpy(m->tenant, tenant, sizeof(tenant));
		m->has_tenant = 1;
	}
	if (cp->serverFQDN != NULL && cp->slen > 0 && cp->slen <= TA_SASL_MAX_HOST)
		(void)copy_field(m->host, sizeof(m->host), cp->serverFQDN, cp->slen);
	return SASL_OK;
}

/*
 * OAUTHBEARER puts the identity in a= and adds user= only for a proxy
 * login; XOAUTH2 has no authzid and refuses one that differs.
 */
static int build_message(struct client_conn *c, struct ta_sasl_msg *m)
{
	if (c->mech == TA_SASL_XOAUTH2 && m->authzid[0] != '\0')
		return SASL_BADPARAM;
	if (c->mech == TA_SASL_OAUTHBEARER && m->authzid[0] == '\0') {
		memcpy(m->authzid, m->user, sizeof(m->user));
		m->user[0] = '\0';
	}
	if (ta_sasl_build(c->mech, m, c->out, sizeof(c->out), &c->outlen) != TA_OK) {
		/* A host name the grammar cannot carry is only left out. */
		m->host[0] = '\0';
		if (ta_sasl_build(c->mech, m, c->out, sizeof(c->out), &c->outlen) != TA_OK)
			return SASL_BADPARAM;
	}
	return SASL_OK;
}

static int client_canon(sasl_client_params_t *cp, const struct client_creds *cr,
                        sasl_out_params_t *op)
{
	int r;

	if (cr->zlen == 0)
		return cp->canon_user(cp->utils->conn, cr->authname, cr->alen,
		                      SASL_CU_AUTHID | SASL_CU_AUTHZID, op);
	r = cp->canon_user(cp->utils->conn, cr->authname, cr->alen, SASL_CU_AUTHID, op);
	if (r == SASL_OK)
		r = cp->canon_user(cp->utils->conn, cr->authzid, cr->zlen, SASL_CU_AUTHZID, op);
	return r;
}

static int client_first(struct client_conn *c, sasl_client_params_t *cp, sasl_interact_t **need,
                        const char **out, unsigned *outlen, sasl_out_params_t *op)
{
	struct client_creds cr;
	struct ta_sasl_msg m; /* holds the token: wiped below */
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = get_creds(cp, need, &cr)) != SASL_OK)
		goto out;
	if (cr.need_authname || cr.need_authzid || cr.need_pass) {
		if (need != NULL && *need != NULL) {
			cp->utils->free(*need);
			*need = NULL; /* make_prompts may fail before setting it */
		}
		r = need != NULL ? make_prompts(cp->utils, &cr, need) : SASL_BADPARAM;
		goto out;
	}
	if ((r = fill_msg(cp, &cr, &m)) == SASL_OK && (r = build_message(c, &m)) == SASL_OK)
		r = client_canon(cp, &cr, op);
	if (need != NULL && *need != NULL) {
		cp->utils->free(*need);
		*need = NULL;
	}
	if (r != SASL_OK)
		goto out;
	c->state = C_SENT;
	*out = c->out;
	*outlen = (unsigned)c->outlen;
	r = SASL_CONTINUE;
out:
	ta_sasl_msg_wipe(&m);
	return r;
}

static int client_step(void *conn_context, sasl_client_params_t *cp, const char *in, unsigned inlen,
                       sasl_interact_t **need, const char **out, unsigned *outlen,
                       sasl_out_params_t *op)
{
	struct client_conn *c = conn_context;

	(void)in; /* the failure challenge's JSON is not needed to answer it */
	*out = NULL;
	*outlen = 0;
	switch (c->state) {
	case C_START:
		if (inlen != 0)
			return SASL_BADPROT;
		return client_first(c, cp, need, out, outlen, op);
	case C_SENT:
		cp->utils->erasebuffer(c->out, (unsigned)c->outlen);
		if (inlen == 0) {
			/* Success carries no server data. */
			fill_oparams(op);
			return SASL_OK;
		}
		/* The failure challenge (JSON): answer %x01 and let the server fail. */
		cp->utils->log(cp->utils->conn, SASL_LOG_FAIL,
		               "tokenauth: %s: the server refused the token", mech_names[c->mech]);
		c->state = C_ACKED;
		c->out[0] = '\x01';
		*out = c->out;
		*outlen = c->mech == TA_SASL_XOAUTH2 ? 0 : 1; /* XOAUTH2 clients answer empty */
		return SASL_CONTINUE;
	default: return SASL_BADPROT;
	}
}

static int client_new(sasl_client_params_t *cp, ta_sasl_mech mech, void **conn_context)
{
	struct client_conn *c;

	if ((c = cp->utils->malloc(sizeof(*c))) == NULL)
		return SASL_NOMEM;
	memset(c, 0, sizeof(*c));
	c->mech = mech;
	*conn_context = c;
	return SASL_OK;
}

static int oauthbearer_client_new(void *glob_context, sasl_client_params_t *cp, void **conn_context)
{
	(void)glob_context;
	return client_new(cp, TA_SASL_OAUTHBEARER, conn_context);
}

static int xoauth2_client_new(void *glob_context, sasl_client_params_t *cp, void **conn_context)
{
	(void)glob_context;
	return client_new(cp, TA_SASL_XOAUTH2, conn_context);
}

static void client_dispose(void *conn_context, const sasl_utils_t *utils)
{
	struct client_conn *c = conn_context;

	if (c == NULL)
		return;
	utils->erasebuffer((char *)c, (unsigned)sizeof(*c));
	utils->free(c);
}

static void client_free(void *glob_context, const sasl_utils_t *utils)
{
	struct client_glob *g = glob_context;

	if (g == NULL || ++g->freed < MECH_COUNT)
		return;
	utils->free(g);
}

#define CLIENT_PLUG(name, newfn)                                                                   \
	{                                                                                          \
		.mech_name = (name), .max_ssf = 0, .security_flags = SASL_SEC_NOANONYMOUS,         \
		.features = SASL_FEAT_WANT_CLIENT_FIRST | SASL_FEAT_ALLOWS_PROXY,                  \
		.required_prompts = NULL, .mech_new = (newfn), .mech_step = client_step,           \
		.mech_dispose = client_dispose, .mech_free = client_free,                          \
	}

static const sasl_client_plug_t client_template[MECH_COUNT] = {
    CLIENT_PLUG("OAUTHBEARER", oauthbearer_client_new),
    CLIENT_PLUG("XOAUTH2", xoauth2_client_new),
};

/*
 * Entry point for libsasl2's client side.  The bearer token is the
 * password (SASL_CB_PASS); the tenant comes from the tokenauth_tenant
 * option when the application offers one.
 */
int sasl_client_plug_init(const sasl_utils_t *utils, int maxversion, int *out_version,
                          sasl_client_plug_t **pluglist, int *plugcount)
{
	struct client_glob *g;

	if (maxversion < SASL_CLIENT_PLUG_VERSION)
		return SASL_BADVERS;
	if ((g = utils->malloc(sizeof(*g))) == NULL)
		return SASL_NOMEM;
	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < MECH_COUNT; i++) {
		g->plugs[i] = client_template[i];
		g->plugs[i].glob_context = g;
	}
	*out_version = SASL_CLIENT_PLUG_VERSION;
	*pluglist = g->plugs;
	*plugcount = MECH_COUNT;
	return SASL_OK;
}
