/*
 * tokenauth - administration CLI: init, issue, add, revoke, list, verify,
 * otp enroll/remove/import-oath, unlock, store copy.
 *
 * Exit status (SPEC §4): 0 success, 1 credential rejected, 2 usage or input
 * error, 3 backend unavailable.
 */
#include "admin.h"
#include "oath.h"
#include "config.h"
#include "crypto.h"
#include "otp.h"
#include "ta.h"
#include "verify.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <qrencode.h>

#define EX_OK          0
#define EX_REJECTED    1
#define EX_USAGE       2
#define EX_UNAVAILABLE 3

#define DEFAULT_TTL (90ULL * 86400)
#define MAX_PARAMS  64

struct cli {
	ta_config *cfg;
	ta_ctx *ctx;
	int verbose;
};

static void log_stderr(void *arg, int level, const char *msg)
{
	const struct cli *c = arg;

	if (level <= TA_LOG_NOTICE || c->verbose)
		fprintf(stderr, "tokenauth: %s\n", msg);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tokenauth: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'tokenauth --help'.\n");
	return EX_USAGE;
}

/* The one place core errors become exit codes. */
static int exit_code(int r)
{
	if (r == TA_OK)
		return EX_OK;
	if (ta_err_is_rejection(r) || r == TA_ERR_NO_CREDENTIAL)
		return EX_REJECTED;
	if (r == TA_ERR_INPUT || r == TA_ERR_CONFIG || r == TA_ERR_EXISTS || r == TA_ERR_NOT_FOUND)
		return EX_USAGE;
	return EX_UNAVAILABLE;
}

static const char main_help[] =
    "Usage: tokenauth [-c CONFIG] [--store PATH] [-v] VERB [OPTIONS]\n"
    "\n"
    "Verbs:\n"
    "  init                      create the store and the master key\n"
    "  issue --user U            issue an access token (printed once)\n"
    "  add --user U              import an externally generated token from stdin\n"
    "  revoke ID... | --user U   revoke tokens\n"
    "  list [--user U] [--json]  list tokens and OTP enrolments (never secrets)\n"
    "  verify --user U           check a credential read from stdin\n"
    "  otp enroll --user U       enrol a TOTP/HOTP secret, print its Key URI\n"
    "  otp remove --user U       remove a user's OTP secret\n"
    "  otp import-oath FILE      migrate a pam_oath users file\n"
    "  unlock --user U           clear failures and lockouts\n"
    "  store copy SRC DST        copy a whole store, e.g. SQLite to PostgreSQL\n"
    "\n"
    "Global options:\n"
    "  -c, --config FILE   configuration file (default " TA_DEFAULT_CONFIG ")\n"
    "      --store PATH    store file, overriding the configuration\n"
    "  -v, --verbose       also print informational messages\n"
    "  -h, --help          this help; 'tokenauth VERB --help' for a verb\n"
    "\n"
    "Exit status: 0 success, 1 credential rejected, 2 usage or input error,\n"
    "3 store or backend unavailable.  See tokenauth(1).\n";

/* ---- small helpers ------------------------------------------------------- */

static void fmt_time(int64_t t, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, cap, "never");
	else
		strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parse --ttl: a duration or "never". */
static int parse_ttl(const char *s, uint64_t *ttl)
{
	unsigned long long v;

	if (strcmp(s, "never") == 0) {
		*ttl = 0;
		return TA_OK;
	}
	if (ta_parse_duration(s, 100ULL * 365 * 86400, &v) != TA_OK || v == 0)
		return TA_ERR_INPUT;
	*ttl = v;
	return TA_OK;
}

/*
 * Read one line (the credential) from stdin into buf, without the newline.
 * Refuses empty input, input longer than cap - 1, and a second line.
 */
static int read_secret_line(char *buf, size_t cap, size_t *len, const char *what)
{
	size_t n = 0;
	int ch;

	while ((ch = getchar()) != EOF && ch != '\n') {
		if (n + 1 >= cap) {
			fprintf(stderr, "tokenauth: %s on stdin is longer than %zu bytes\n", what,
			        cap - 1);
			return TA_ERR_INPUT;
		}
		buf[n++] = (char)ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (ch == '\n' && (ch = getchar()) != EOF) {
		fprintf(stderr, "tokenauth: expected a single line on stdin\n");
		return TA_ERR_INPUT;
	}
	if (n == 0) {
		fprintf(stderr, "tokenauth: no %s on stdin\n", what);
		return TA_ERR_INPUT;
	}
	*len = n;
	return TA_OK;
}

static int need_user(const char *user, const char *verb)
{
	if (user == NULL || user[0] == '\0') {
		fprintf(stderr, "tokenauth: %s needs --user\nTry 'tokenauth %s --help'.\n", verb,
		        verb);
		return 0;
	}
	return 1;
}

/* ---- options: one table, one parser for every verb ----------------------- */

/* Everything a verb's options can set; opts_init gives the defaults. */
struct opts {
	const char *user, *tenant, *service, *issuer;
	uint64_t ttl;
	const char *pairs[MAX_PARAMS];
	size_t npairs;
	struct ta_otp_params p;
	int json, all, secret_stdin, replace, qr, force;
};

static void opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl = DEFAULT_TTL;
	o->p = (struct ta_otp_params){TA_OTP_TOTP, TA_HASH_SHA1, 6, 30};
	o->issuer = "tokenauth";
	o->qr = isatty(STDOUT_FILENO);
}

/* Setters: EX_OK, or EX_USAGE after saying why. */
static int set_user(struct opts *o, const char *v)
{
	o->user = v;
	return EX_OK;
}

static int set_tenant(struct opts *o, const char *v)
{
	o->tenant = v;
	return EX_OK;
}

static int set_service(struct opts *o, const char *v)
{
	o->service = v;
	return EX_OK;
}

static int set_issuer(struct opts *o, const char *v)
{
	o->issuer = v;
	return EX_OK;
}

static int set_ttl(struct opts *o, const char *v)
{
	if (parse_ttl(v, &o->ttl) != TA_OK)
		return usage_error("--ttl '%s': expected seconds, N[smhdw] or never", v);
	return EX_OK;
}

static int set_param(struct opts *o, const char *v)
{
	if (o->npairs == MAX_PARAMS)
		return usage_error("too many --param options (at most 64)");
	o->pairs[o->npairs++] = v;
	return EX_OK;
}

static int set_digits(struct opts *o, const char *v)
{
	unsigned long long n;

	if (ta_parse_uint(v, 6, 8, &n) != TA_OK)
		return usage_error("--digits '%s': expected 6, 7 or 8", v);
	o->p.digits = (unsigned)n;
	return EX_OK;
}

static int set_period(struct opts *o, const char *v)
{
	unsigned long long n;

	if (ta_parse_uint(v, 1, 3600, &n) != TA_OK)
		return usage_error("--period '%s': expected 1 to 3600 seconds", v);
	o->p.period = (unsigned)n;
	return EX_OK;
}

static int set_algorithm(struct opts *o, const char *v)
{
	if ((o->p.alg = ta_otp_alg_parse(v)) == 0)
		return usage_error("--algorithm '%s': expected SHA1, SHA256 or SHA512", v);
	return EX_OK;
}

/* Flags: the option's value is its ival. */
static int set_json(struct opts *o, int v)
{
	o->json = v;
	return EX_OK;
}

static int set_all(struct opts *o, int v)
{
	o->all = v;
	return EX_OK;
}

static int set_otp_type(struct opts *o, int v)
{
	o->p.type = (ta_otp_type)v;
	return EX_OK;
}

static int set_secret_stdin(struct opts *o, int v)
{
	o->secret_stdin = v;
	return EX_OK;
}

static int set_replace(struct opts *o, int v)
{
	o->replace = v;
	return EX_OK;
}

static int set_qr(struct opts *o, int v)
{
	o->qr = v;
	return EX_OK;
}

static int set_force(struct opts *o, int v)
{
	o->force = v;
	return EX_OK;
}

/* An option: long name, short letter, and its setter (arg or flag). */
struct optdef {
	const char *name;
	int letter;
	int (*arg)(struct opts *o, const char *v); /* takes an argument */
	int (*flag)(struct opts *o, int v);        /* or sets ival */
	int ival;
};

/* Every option of every verb.  Letters repeat across verbs, never in one. */
static const struct optdef optdefs[] = {
    {"user", 'u', set_user, NULL, 0},
    {"tenant", 't', set_tenant, NULL, 0},
    {"service", 's', set_service, NULL, 0},
    {"all-tenants", 'a', NULL, set_all, 1},
    {"json", 'j', NULL, set_json, 1},
    {"ttl", 'T', set_ttl, NULL, 0},
    {"param", 'p', set_param, NULL, 0},
    {"totp", 'T', NULL, set_otp_type, TA_OTP_TOTP},
    {"hotp", 'H', NULL, set_otp_type, TA_OTP_HOTP},
    {"digits", 'd', set_digits, NULL, 0},
    {"period", 'P', set_period, NULL, 0},
    {"algorithm", 'a', set_algorithm, NULL, 0},
    {"issuer", 'i', set_issuer, NULL, 0},
    {"secret-stdin", 's', NULL, set_secret_stdin, 1},
    {"replace", 'r', NULL, set_replace, 1},
    {"qr", 'q', NULL, set_qr, 1},
    {"no-qr", 'n', NULL, set_qr, 0},
    {"force", 'f', NULL, set_force, 1},
};

#define NOPTDEFS  (sizeof(optdefs) / sizeof(optdefs[0]))
#define MAX_VOPTS 16 /* options of one verb, --help included */

/* What a verb takes besides its options. */
enum verb_args {
	ARGS_NONE, /* no operand: "VERB: unexpected argument 'X'" */
	ARGS_ANY,  /* operands left to the verb (from optind) */
	ARGS_ONE,  /* exactly one operand, else the spec's one_msg */
	ARGS_TWO,  /* exactly two operands, else the spec's one_msg */
};

/* A verb's command line: its options by name (in this order), operands, checks. */
struct verbspec {
	const char *name; /* in messages: "otp enroll" */
	const char *help;
	const char *opts[MAX_VOPTS]; /* names in optdefs, NULL-ended; --help implied */
	enum verb_args args;
	const char *arg_prefix;             /* before "unexpected argument", or NULL */
	const char *one_msg;                /* ARGS_ONE: the usage error */
	int (*check)(const struct opts *o); /* after the operands, before --user */
	int needs_user;
};

static const struct optdef *optdef_find(const char *name)
{
	for (size_t i = 0; i < NOPTDEFS; i++)
		if (strcmp(optdefs[i].name, name) == 0)
			return &optdefs[i];
	return NULL;
}

/*
 * getopt_long tables for a verb, in the order it lists its options: lo[i]
 * answers i, its letter is in shortopts; --help and -h answer 'h'.
 * Returns how many options the verb has, --help not counted.
 */
static size_t verb_getopt(const struct verbspec *v, const struct optdef **defs, struct option *lo,
                          char *shortopts)
{
	size_t n = 0, k = 0;

	for (; n < MAX_VOPTS - 1 && v->opts[n] != NULL; n++) {
		const struct optdef *d = optdef_find(v->opts[n]);
		defs[n] = d;
		lo[n] = (struct option){d->name, d->arg ? required_argument : no_argument, NULL,
		                        (int)n};
		shortopts[k++] = (char)d->letter;
		if (d->arg)
			shortopts[k++] = ':';
	}
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n + 1] = (struct option){NULL, 0, NULL, 0};
	shortopts[k++] = 'h';
	shortopts[k] = '\0';
	return n;
}

/* The option a getopt_long answer names: by index (long), or by letter. */
static const struct optdef *verb_opt(const struct optdef *const *defs, size_t n, int c)
{
	if (c >= 0 && (size_t)c < n)
		return defs[c];
	for (size_t i = 0; i < n; i++)
		if (defs[i]->letter == c)
			return defs[i];
	return NULL;
}

/* The operands and the checks of the spec, once the options are read. */
static int verb_operands(const struct verbspec *v, int argc, char **argv, const struct opts *o)
{
	int r;

	if (v->args == ARGS_NONE && optind != argc) {
		if (v->arg_prefix == NULL)
			return usage_error("unexpected argument '%s'", argv[optind]);
		return usage_error("%s: unexpected argument '%s'", v->arg_prefix, argv[optind]);
	}
	if ((v->args == ARGS_ONE && optind + 1 != argc) ||
	    (v->args == ARGS_TWO && optind + 2 != argc))
		return usage_error("%s", v->one_msg);
	if (v->check != NULL && (r = v->check(o)) != EX_OK)
		return r;
	if (v->needs_user && !need_user(o->user, v->name))
		return EX_USAGE;
	return EX_OK;
}

/*
 * Parse a verb's command line (argv[0] is the verb, as getopt names it in
 * its messages) into o.  Returns 1 to run the verb, 0 to stop with *rc:
 * EX_OK after --help, EX_USAGE after an error already printed.
 * Operands start at optind.
 */
static int verb_parse(const struct verbspec *v, int argc, char **argv, struct opts *o, int *rc)
{
	const struct optdef *defs[MAX_VOPTS];
	struct option lo[MAX_VOPTS + 1];
	char shortopts[2 * MAX_VOPTS + 1];
	size_t n = verb_getopt(v, defs, lo, shortopts);
	int c;

	opts_init(o);
	while ((c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		const struct optdef *d = verb_opt(defs, n, c);
		if (c == 'h') {
			fputs(v->help, stdout);
			*rc = EX_OK;
			return 0;
		}
		if (d == NULL) { /* '?': getopt said why */
			*rc = EX_USAGE;
			return 0;
		}
		if ((*rc = d->arg ? d->arg(o, optarg) : d->flag(o, d->ival)) != EX_OK)
			return 0;
	}
	*rc = verb_operands(v, argc, argv, o);
	return *rc == EX_OK;
}

/* ---- init ---------------------------------------------------------------- */

static const char init_help[] =
    "Usage: tokenauth init\n"
    "Create the store (folder 0700, file 0600) and the master key (0600) named\n"
    "by the configuration.  Existing ones are kept and checked.\n";

static const struct verbspec init_spec = {
    .name = "init", .help = init_help, .args = ARGS_NONE, .arg_prefix = "init"};

static int cmd_init(struct cli *c, int argc, char **argv)
{
	struct opts o;
	unsigned created = 0;
	int r;

	if (!verb_parse(&init_spec, argc, argv, &o, &r))
		return r;
	if ((r = ta_admin_init(c->ctx, &created)) != TA_OK)
		return exit_code(r);
	fprintf(stderr, "store %s: %s\nmaster key %s: %s\n", ta_config_str(c->cfg, "store"),
	        created & 1 ? "created" : "exists, checked", ta_config_str(c->cfg, "key_file"),
	        created & 2 ? "created" : "exists, checked");
	return EX_OK;
}

/* ---- issue / add --------------------------------------------------------- */

static const char issue_help[] =
    "Usage: tokenauth issue --user U [--tenant T] [--ttl DURATION] [--param K=V]... [--json]\n"
    "Issue an access token.  The token is printed once, alone on stdout;\n"
    "details go to stderr (or everything as JSON on stdout with --json).\n"
    "  --ttl DURATION   lifetime: seconds or N[smhdw], or 'never' (default 90d)\n"
    "  --param K=V      bind a parameter to the token (repeatable)\n";

static const char add_help[] =
    "Usage: tokenauth add --user U [--tenant T] [--ttl DURATION] [--param K=V]... [--json]\n"
    "Import a token generated elsewhere: read one line from stdin and store\n"
    "its hash.  The token must be 16 to 512 printable characters.\n";

static const struct verbspec issue_spec = {.name = "issue",
                                           .help = issue_help,
                                           .opts = {"user", "tenant", "ttl", "param", "json"},
                                           .args = ARGS_NONE,
                                           .needs_user = 1};

static const struct verbspec add_spec = {.name = "add",
                                         .help = add_help,
                                         .opts = {"user", "tenant", "ttl", "param", "json"},
                                         .args = ARGS_NONE,
                                         .needs_user = 1};

static void print_issued(const struct cli *c, const struct opts *io, const char *token,
                         const char *id, int64_t expires, const char *params)
{
	char when[32];
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];

	if (ta_resolve_identity(c->cfg, io->user, io->tenant, u, t) != TA_OK)
		u[0] = t[0] = '\0';
	if (io->json) {
		cJSON *o = cJSON_CreateObject(), *p = params ? cJSON_Parse(params) : NULL;
		char *s;
		if (token)
			cJSON_AddStringToObject(o, "token", token);
		cJSON_AddStringToObject(o, "id", id);
		cJSON_AddStringToObject(o, "userAccount", u);
		cJSON_AddStringToObject(o, "tenantSpaceId", t);
		cJSON_AddNumberToObject(o, "expiration_time", (double)expires);
		cJSON_AddItemToObject(o, "params", p ? p : cJSON_CreateObject());
		if ((s = cJSON_PrintUnformatted(o)) != NULL)
			puts(s);
		if (s)
			ta_wipe(s, strlen(s));
		free(s);
		cJSON_Delete(o);
		return;
	}
	if (token)
		puts(token);
	fmt_time(expires, when, sizeof(when));
	fprintf(stderr, "id: %s  user: %s  tenant: %s  expires: %s\n", id, u, t[0] ? t : "-", when);
}

static int cmd_issue(struct cli *c, int argc, char **argv)
{
	struct opts io;
	char token[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1], err[256], *params = NULL;
	int64_t expires = 0;
	int r;

	if (!verb_parse(&issue_spec, argc, argv, &io, &r))
		return r;
	if (ta_token_params(io.pairs, io.npairs, &params, err, sizeof(err)) != TA_OK)
		return usage_error("%s", err);
	r = ta_token_issue(c->ctx, io.user, io.tenant, io.ttl, params, token, id, &expires);
	if (r == TA_OK)
		print_issued(c, &io, token, id, expires, params);
	ta_wipe(token, sizeof(token));
	free(params);
	return exit_code(r);
}

static int cmd_add(struct cli *c, int argc, char **argv)
{
	struct opts io;
	char cred[TA_MAX_CREDENTIAL + 2], id[TA_TOKEN_ID_LEN + 1], err[256], *params = NULL;
	size_t len = 0;
	int64_t expires = 0;
	int r;

	if (!verb_parse(&add_spec, argc, argv, &io, &r))
		return r;
	if (ta_token_params(io.pairs, io.npairs, &params, err, sizeof(err)) != TA_OK)
		return usage_error("%s", err);
	r = read_secret_line(cred, sizeof(cred), &len, "token");
	if (r == TA_OK)
		r = ta_token_import(c->ctx, io.user, io.tenant, io.ttl, cred, len, params, id,
		                    &expires);
	if (r == TA_OK)
		print_issued(c, &io, NULL, id, expires, params);
	ta_wipe(cred, sizeof(cred));
	free(params);
	return exit_code(r);
}

/* ---- revoke -------------------------------------------------------------- */

static const char revoke_help[] =
    "Usage: tokenauth revoke ID...\n"
    "       tokenauth revoke --user U [--tenant T | --all-tenants]\n"
    "Revoke tokens by id (see 'tokenauth list'), or every token of a user.\n";

static const struct verbspec revoke_spec = {.name = "revoke",
                                            .help = revoke_help,
                                            .opts = {"user", "tenant", "all-tenants"},
                                            .args = ARGS_ANY};

static int cmd_revoke(struct cli *c, int argc, char **argv)
{
	struct opts o;
	int r = TA_OK;

	if (!verb_parse(&revoke_spec, argc, argv, &o, &r))
		return r;
	if (o.user != NULL) {
		char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
		unsigned n = 0;
		if (optind != argc)
			return usage_error("revoke: give ids or --user, not both");
		if (o.all && o.tenant)
			return usage_error("revoke: --tenant and --all-tenants exclude each other");
		if (ta_resolve_identity(c->cfg, o.user, o.tenant, u, t) != TA_OK)
			return usage_error("revoke: bad user or tenant name");
		r = ta_token_revoke_user(c->ctx, u, o.all ? NULL : t, &n);
		if (r == TA_OK)
			fprintf(stderr, "%u token(s) revoked\n", n);
		return exit_code(r);
	}
	if (optind == argc)
		return usage_error("revoke: give token ids or --user");
	for (int i = optind; i < argc; i++) {
		int ri = ta_token_revoke(c->ctx, argv[i]);
		if (ri != TA_OK && r == TA_OK)
			r = ri;
	}
	return exit_code(r);
}

/* ---- list ---------------------------------------------------------------- */

static const char list_help[] =
    "Usage: tokenauth list [--user U [--tenant T]] [--json]\n"
    "List tokens (id, user, tenant, kind, created, expires, status, parameters)\n"
    "and OTP enrolments.  Never prints a token or a secret.\n";

struct lister {
	int json;
	int64_t now;
	cJSON *tokens, *otp;
	const char *tenant; /* only this tenant, or NULL */
};

static const char *token_status(const struct ta_token_row *row, int64_t now)
{
	if (row->revoked)
		return "revoked";
	if (row->expires != 0 && row->expires <= now)
		return "expired";
	return "active";
}

static int list_token(void *arg, const struct ta_token_row *row)
{
	struct lister *l = arg;
	char created[32], expires[32];

	if (l->tenant != NULL && strcmp(l->tenant, row->tenant) != 0)
		return TA_OK;
	if (l->json) {
		cJSON *o = cJSON_CreateObject(), *p = row->params ? cJSON_Parse(row->params) : NULL;
		cJSON_AddStringToObject(o, "id", row->id);
		cJSON_AddStringToObject(o, "userAccount", row->user);
		cJSON_AddStringToObject(o, "tenantSpaceId", row->tenant);
		cJSON_AddStringToObject(o, "kind",
		                        row->kind == TA_TOKEN_KIND_ISSUED ? "issued" : "imported");
		cJSON_AddNumberToObject(o, "created", (double)row->created);
		cJSON_AddNumberToObject(o, "expiration_time", (double)row->expires);
		cJSON_AddStringToObject(o, "status", token_status(row, l->now));
		cJSON_AddItemToObject(o, "params", p ? p : cJSON_CreateObject());
		cJSON_AddItemToArray(l->tokens, o);
		return TA_OK;
	}
	fmt_time(row->created, created, sizeof(created));
	fmt_time(row->expires, expires, sizeof(expires));
	printf("%-12s  %-16s %-12s %-8s %-20s  %-20s  %-7s %s\n", row->id, row->user,
	       row->tenant[0] ? row->tenant : "-",
	       row->kind == TA_TOKEN_KIND_ISSUED ? "issued" : "imported", created, expires,
	       token_status(row, l->now), row->params ? row->params : "");
	return TA_OK;
}

static int list_otp(void *arg, const char *user, const char *tenant, const struct ta_otp_row *row)
{
	struct lister *l = arg;
	const char *type = row->p.type == TA_OTP_TOTP ? "totp" : "hotp";

	if (l->tenant != NULL && strcmp(l->tenant, tenant) != 0)
		return TA_OK;
	if (l->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "userAccount", user);
		cJSON_AddStringToObject(o, "tenantSpaceId", tenant);
		cJSON_AddStringToObject(o, "type", type);
		cJSON_AddStringToObject(o, "algorithm", ta_otp_alg_name(row->p.alg));
		cJSON_AddNumberToObject(o, "digits", row->p.digits);
		if (row->p.type == TA_OTP_TOTP)
			cJSON_AddNumberToObject(o, "period", row->p.period);
		cJSON_AddNumberToObject(o, "created", (double)row->created);
		cJSON_AddItemToArray(l->otp, o);
		return TA_OK;
	}
	printf("%-16s %-12s %s/%s/%u%s%.0u\n", user, tenant[0] ? tenant : "-", type,
	       ta_otp_alg_name(row->p.alg), row->p.digits, row->p.type == TA_OTP_TOTP ? "/" : "",
	       row->p.type == TA_OTP_TOTP ? row->p.period : 0);
	return TA_OK;
}

static const struct verbspec list_spec = {.name = "list",
                                          .help = list_help,
                                          .opts = {"user", "tenant", "json"},
                                          .args = ARGS_NONE,
                                          .arg_prefix = "list"};

static int cmd_list(struct cli *c, int argc, char **argv)
{
	struct opts o;
	struct lister l = {0, time(NULL), NULL, NULL, NULL};
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	const char *user = NULL; /* as resolved */
	int r;

	if (!verb_parse(&list_spec, argc, argv, &o, &r))
		return r;
	l.json = o.json;
	if (o.tenant != NULL && o.user == NULL)
		return usage_error("list: --tenant needs --user");
	if (o.user != NULL) {
		if (ta_resolve_identity(c->cfg, o.user, o.tenant, u, t) != TA_OK)
			return usage_error("list: bad user or tenant name");
		/* filter by tenant only when one was named, directly or as user@tenant */
		if (o.tenant != NULL || strcmp(u, o.user) != 0)
			l.tenant = t;
		user = u;
	}
	if ((r = ta_admin_open(c->ctx)) != TA_OK)
		return exit_code(r);
	if (l.json) {
		l.tokens = cJSON_CreateArray();
		l.otp = cJSON_CreateArray();
	} else {
		printf("%-12s  %-16s %-12s %-8s %-20s  %-20s  %-7s %s\n", "ID", "USER", "TENANT",
		       "KIND", "CREATED", "EXPIRES", "STATUS", "PARAMS");
	}
	r = ta_token_list(c->ctx, user, list_token, &l);
	if (r == TA_OK && !l.json)
		printf("\n%-16s %-12s %s\n", "OTP USER", "TENANT", "TYPE/ALGORITHM/DIGITS/PERIOD");
	if (r == TA_OK)
		r = ta_otp_list(c->ctx, user, list_otp, &l);
	if (r == TA_OK && l.json) {
		cJSON *root = cJSON_CreateObject();
		char *s;
		cJSON_AddItemToObject(root, "tokens", l.tokens);
		cJSON_AddItemToObject(root, "otp", l.otp);
		l.tokens = l.otp = NULL;
		if ((s = cJSON_PrintUnformatted(root)) != NULL)
			puts(s);
		free(s);
		cJSON_Delete(root);
	}
	cJSON_Delete(l.tokens);
	cJSON_Delete(l.otp);
	return exit_code(r);
}

/* ---- verify -------------------------------------------------------------- */

static const char verify_help[] =
    "Usage: tokenauth verify --user U [--tenant T] [--service NAME]\n"
    "Check a token or one-time code read from stdin, exactly as a login would\n"
    "(an accepted OTP code is consumed; failures count towards lockout).\n"
    "Exit 0 valid, 1 rejected, 2 input error, 3 store unavailable.\n";

static const struct verbspec verify_spec = {.name = "verify",
                                            .help = verify_help,
                                            .opts = {"user", "tenant", "service"},
                                            .args = ARGS_NONE,
                                            .arg_prefix = "verify",
                                            .needs_user = 1};

static int cmd_verify(struct cli *c, int argc, char **argv)
{
	struct opts o;
	struct ta_request req = {NULL, NULL, NULL, 0, "tokenauth-cli", NULL, 0};
	char cred[TA_MAX_JWT + 2]; /* a JWT may be longer than other credentials */
	size_t len = 0;
	int r;

	if (!verb_parse(&verify_spec, argc, argv, &o, &r))
		return r;
	req.user = o.user;
	req.tenant = o.tenant;
	if (o.service != NULL)
		req.service = o.service;
	if ((r = read_secret_line(cred, sizeof(cred), &len, "credential")) == TA_OK) {
		req.credential = cred;
		req.credential_len = len;
		r = ta_verify(c->ctx, &req, NULL);
		if (r == TA_ERR_INPUT)
			fprintf(stderr, "tokenauth: verify: bad user or tenant name\n");
	}
	ta_wipe(cred, sizeof(cred));
	if (r == TA_OK)
		puts("valid");
	return exit_code(r);
}

/* ---- unlock -------------------------------------------------------------- */

static const char unlock_help[] = "Usage: tokenauth unlock --user U [--tenant T | --all-tenants]\n"
                                  "Clear the failure count and any lockout of a user.\n";

static const struct verbspec unlock_spec = {.name = "unlock",
                                            .help = unlock_help,
                                            .opts = {"user", "tenant", "all-tenants"},
                                            .args = ARGS_NONE,
                                            .arg_prefix = "unlock",
                                            .needs_user = 1};

static int cmd_unlock(struct cli *c, int argc, char **argv)
{
	struct opts o;
	char u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	unsigned n = 0;
	int r;

	if (!verb_parse(&unlock_spec, argc, argv, &o, &r))
		return r;
	if (ta_resolve_identity(c->cfg, o.user, o.tenant, u, t) != TA_OK)
		return usage_error("unlock: bad user or tenant name");
	r = ta_throttle_unlock(c->ctx, u, o.all ? NULL : t, &n);
	if (r == TA_OK)
		fprintf(stderr, "%s: %s\n", u, n ? "unlocked" : "was not locked");
	return exit_code(r);
}

/* ---- otp ----------------------------------------------------------------- */

static const char otp_help[] =
    "Usage: tokenauth otp enroll --user U [--tenant T] [--totp|--hotp] [--digits N]\n"
    "                            [--period S] [--algorithm SHA1|SHA256|SHA512]\n"
    "                            [--issuer NAME] [--secret-stdin] [--replace]\n"
    "                            [--qr|--no-qr] [--json]\n"
    "       tokenauth otp remove --user U [--tenant T]\n"
    "       tokenauth otp import-oath [--tenant T] FILE\n"
    "enroll prints the otpauth:// Key URI on stdout (and a QR code when stdout\n"
    "is a terminal, or with --qr).  --secret-stdin reads an existing base32\n"
    "secret, as authenticator apps show it.  Defaults: TOTP, 6 digits, 30 s,\n"
    "SHA1, issuer 'tokenauth'.  import-oath migrates a pam_oath users file,\n"
    "keeping counters, and names every line it could not take (exit 2).\n";

/* Print a QR code with half-block characters, light modules as blocks. */
static void print_qr(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	const int margin = 2;

	if (qr == NULL) {
		fprintf(stderr, "tokenauth: cannot draw QR code; use the URI above\n");
		return;
	}
	int w = qr->width, full = w + 2 * margin;
	for (int y = 0; y < full; y += 2) {
		for (int x = 0; x < full; x++) {
			int mx = x - margin, top = y - margin, bot = y + 1 - margin;
			int dt = mx >= 0 && mx < w && top >= 0 && top < w &&
			         (qr->data[top * w + mx] & 1);
			int db = mx >= 0 && mx < w && bot >= 0 && bot < w &&
			         (qr->data[bot * w + mx] & 1);
			fputs(dt ? (db ? " " : "\u2584") : (db ? "\u2580" : "\u2588"), stdout);
		}
		putchar('\n');
	}
	ta_wipe(qr->data, (size_t)(w * w));
	QRcode_free(qr);
}

static int check_issuer(const struct opts *o)
{
	if (strlen(o->issuer) > 128 || strchr(o->issuer, ':') != NULL)
		return usage_error("--issuer '%.64s': at most 128 characters, no ':'", o->issuer);
	return EX_OK;
}

static const struct verbspec enroll_spec = {
    .name = "otp enroll",
    .help = otp_help,
    .opts = {"user", "tenant", "totp", "hotp", "digits", "period", "algorithm", "issuer",
             "secret-stdin", "replace", "qr", "no-qr", "json"},
    .args = ARGS_NONE,
    .arg_prefix = "otp enroll",
    .check = check_issuer,
    .needs_user = 1};

static int read_b32_secret(uint8_t *out, size_t *len)
{
	char line[256];
	size_t n = 0;
	long got;
	int r = read_secret_line(line, sizeof(line), &n, "base32 secret");

	if (r == TA_OK) {
		got = ta_base32_decode(line, n, out, TA_OTP_MAX_SECRET);
		if (got < 0) {
			fprintf(stderr, "tokenauth: the secret on stdin is not valid base32 "
			                "(letters A-Z and digits 2-7)\n");
			r = TA_ERR_INPUT;
		} else {
			*len = (size_t)got;
		}
	}
	ta_wipe(line, sizeof(line));
	return r;
}

static void print_enrolled(const struct opts *e, const char *uri)
{
	if (e->json) {
		cJSON *o = cJSON_CreateObject();
		char *s;
		cJSON_AddStringToObject(o, "uri", uri);
		cJSON_AddStringToObject(o, "type", e->p.type == TA_OTP_TOTP ? "totp" : "hotp");
		cJSON_AddNumberToObject(o, "digits", e->p.digits);
		if ((s = cJSON_PrintUnformatted(o)) != NULL)
			puts(s);
		if (s)
			ta_wipe(s, strlen(s));
		free(s);
		cJSON_Delete(o);
		return;
	}
	puts(uri);
	if (e->qr)
		print_qr(uri);
}

static int otp_enroll(struct cli *c, int argc, char **argv)
{
	struct opts e;
	uint8_t in[TA_OTP_MAX_SECRET], secret[TA_OTP_MAX_SECRET];
	char uri[1024], u[TA_MAX_USER + 1], t[TA_MAX_TENANT + 1];
	size_t inlen = 0, slen = 0;
	int r;

	if (!verb_parse(&enroll_spec, argc, argv, &e, &r))
		return r;
	if (e.secret_stdin && (r = read_b32_secret(in, &inlen)) != TA_OK)
		return exit_code(r);
	r = ta_otp_enroll(c->ctx, e.user, e.tenant, &e.p, e.secret_stdin ? in : NULL, inlen, 0,
	                  e.replace, secret, &slen);
	if (r == TA_OK && ta_resolve_identity(c->cfg, e.user, e.tenant, u, t) == TA_OK) {
		char account[TA_MAX_USER + TA_MAX_TENANT + 2];
		snprintf(account, sizeof(account), "%s%s%s", u, t[0] ? "@" : "", t);
		if (ta_otp_uri(&e.p, secret, slen, e.issuer, account, 0, uri, sizeof(uri)) == TA_OK)
			print_enrolled(&e, uri);
	}
	ta_wipe(in, sizeof(in));
	ta_wipe(secret, sizeof(secret));
	ta_wipe(uri, sizeof(uri));
	return exit_code(r);
}

static const struct verbspec remove_spec = {.name = "otp remove",
                                            .help = otp_help,
                                            .opts = {"user", "tenant"},
                                            .args = ARGS_NONE,
                                            .arg_prefix = "otp remove",
                                            .needs_user = 1};

static int otp_remove(struct cli *c, int argc, char **argv)
{
	struct opts o;
	int r;

	if (!verb_parse(&remove_spec, argc, argv, &o, &r))
		return r;
	if ((r = ta_otp_remove(c->ctx, o.user, o.tenant)) == TA_OK)
		fprintf(stderr, "OTP secret of %s removed\n", o.user);
	return exit_code(r);
}

static void report_line(void *arg, unsigned lineno, const char *reason)
{
	fprintf(stderr, "%s:%u: skipped: %s\n", (const char *)arg, lineno, reason);
}

static const struct verbspec import_spec = {.name = "otp import-oath",
                                            .help = otp_help,
                                            .opts = {"tenant"},
                                            .args = ARGS_ONE,
                                            .one_msg = "otp import-oath: expected one FILE"};

static int otp_import(struct cli *c, int argc, char **argv)
{
	struct opts o;
	const char *path;
	unsigned imported = 0, skipped = 0;
	int r;

	if (!verb_parse(&import_spec, argc, argv, &o, &r))
		return r;
	path = argv[optind];
	r = ta_oath_import(c->ctx, path, o.tenant, report_line, (void *)path, &imported, &skipped);
	if (r != TA_OK)
		return exit_code(r);
	fprintf(stderr, "%u user(s) imported, %u line(s) skipped\n", imported, skipped);
	return skipped ? EX_USAGE : EX_OK;
}

/* A verb made of actions (otp enroll, store copy): its help, or the action named. */
struct action {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
};

static int run_action(struct cli *c, int argc, char **argv, const char *help,
                      const struct action *acts, size_t n, const char *names)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[1], acts[i].name) == 0)
			return acts[i].run(c, argc - 1, argv + 1);
	return usage_error("%s: unknown action '%s' (%s)", argv[0], argv[1], names);
}

static int cmd_otp(struct cli *c, int argc, char **argv)
{
	static const struct action acts[] = {
	    {"enroll", otp_enroll}, {"remove", otp_remove}, {"import-oath", otp_import}};

	return run_action(c, argc, argv, otp_help, acts, 3, "enroll, remove, import-oath");
}

/* ---- store copy ------------------------------------------------------------ */

static const char store_help[] =
    "Usage: tokenauth store copy [--force] [--json] SRC DST\n"
    "Copy every token (as its hash), OTP secret (sealed, with its counter) and\n"
    "throttle row (lockouts kept) of the store SRC into the store DST.  Each is\n"
    "an absolute SQLite path or postgresql:/path/of/a/dsn/file.  SRC is read in\n"
    "one read-only snapshot: nothing of it is written, and it may be on\n"
    "read-only media.  DST is created when missing and\n"
    "written in one transaction: on any failure its rows are left as they were.\n"
    "Both must use the same master key.  A DST holding any row is refused unless\n"
    "--force, which replaces the rows SRC also has and keeps the others.\n"
    "Prints one line:\n"
    "  copied N tokens, N OTP secrets, N throttle rows from SRC to DST\n"
    "SRC and DST must be at this program's schema: an older one is refused, not\n"
    "migrated (tokenauth init migrates it).\n"
    "Exit 0 copied, 2 refused (usage, same store, DST not empty, SRC missing, SRC\n"
    "or DST at an older schema),\n"
    "3 a store unavailable or damaged (the message names the side).\n";

static const struct verbspec copy_spec = {.name = "store copy",
                                          .help = store_help,
                                          .opts = {"force", "json"},
                                          .args = ARGS_TWO,
                                          .one_msg = "store copy: expected SRC and DST"};

static void print_copied(const struct opts *o, const char *src, const char *dst,
                         const struct ta_copy_count *n)
{
	cJSON *j;
	char *s;

	if (!o->json) {
		printf("copied %lu tokens, %lu OTP secrets, %lu throttle rows from %s to %s\n",
		       n->tokens, n->otp, n->throttle, src, dst);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "tokens", (double)n->tokens);
	cJSON_AddNumberToObject(j, "otp", (double)n->otp);
	cJSON_AddNumberToObject(j, "throttle", (double)n->throttle);
	cJSON_AddStringToObject(j, "source", src);
	cJSON_AddStringToObject(j, "destination", dst);
	if ((s = cJSON_PrintUnformatted(j)) != NULL)
		puts(s);
	free(s);
	cJSON_Delete(j);
}

static int store_copy(struct cli *c, int argc, char **argv)
{
	struct ta_copy_count n;
	struct opts o;
	const char *src, *dst;
	int r;

	if (!verb_parse(&copy_spec, argc, argv, &o, &r))
		return r;
	src = argv[optind];
	dst = argv[optind + 1];
	if ((r = ta_store_copy(c->ctx, src, dst, o.force, &n)) == TA_OK)
		print_copied(&o, src, dst, &n);
	return exit_code(r);
}

static int cmd_store(struct cli *c, int argc, char **argv)
{
	static const struct action acts[] = {{"copy", store_copy}};

	return run_action(c, argc, argv, store_help, acts, 1, "copy");
}

/* ---- main ---------------------------------------------------------------- */

struct verb {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
};

static const struct verb verbs[] = {
    {"init", cmd_init}, {"issue", cmd_issue},   {"add", cmd_add}, {"revoke", cmd_revoke},
    {"list", cmd_list}, {"verify", cmd_verify}, {"otp", cmd_otp}, {"unlock", cmd_unlock},
    {"store", cmd_store},
};

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static int load_config(struct cli *c, const char *file, const char *store)
{
	char err[512];

	if ((c->cfg = ta_config_new()) == NULL)
		return EX_UNAVAILABLE;
	if (ta_config_load(c->cfg, file ? file : TA_DEFAULT_CONFIG, file == NULL, err,
	                   sizeof(err)) != TA_OK ||
	    (store && ta_config_set(c->cfg, "store", store, err, sizeof(err)) != TA_OK)) {
		fprintf(stderr, "tokenauth: %s\n", err);
		return EX_USAGE;
	}
	if (ta_ctx_new(c->cfg, log_stderr, c, &c->ctx) != TA_OK)
		return EX_UNAVAILABLE;
	return EX_OK;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
	                                   {"store", required_argument, NULL, 's'},
	                                   {"verbose", no_argument, NULL, 'v'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	struct cli c = {NULL, NULL, 0};
	const char *file = NULL, *store = NULL;
	int o, rc = EX_USAGE;

	/* the PostgreSQL store is the DSN file alone, never the caller's PG* */
	ta_global_scrub_pg();
	/* '+' stops at the verb so each verb parses its own options. */
	while ((o = getopt_long(argc, argv, "+c:s:vh", lo, NULL)) != -1) {
		switch (o) {
		case 'c': file = optarg; break;
		case 's': store = optarg; break;
		case 'v': c.verbose = 1; break;
		case 'h': fputs(main_help, stdout); return EX_OK;
		default: return usage_error("bad global option");
		}
	}
	if (optind >= argc)
		return usage_error("no verb given");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(argv[optind], verbs[i].name) != 0)
			continue;
		rc = load_config(&c, file, store);
		if (rc != EX_OK && wants_help(argc - optind, argv + optind)) {
			/* help must work even when the configuration does not */
			ta_ctx_free(c.ctx);
			ta_config_free(c.cfg);
			c.ctx = NULL;
			if ((c.cfg = ta_config_new()) != NULL &&
			    ta_ctx_new(c.cfg, log_stderr, &c, &c.ctx) == TA_OK)
				rc = EX_OK;
		}
		if (rc == EX_OK) {
			char **vargv = argv + optind;
			int vargc = argc - optind;
			optind = 1; /* restart getopt for the verb's own options */
			rc = verbs[i].run(&c, vargc, vargv);
			/* a store file that is not there (a database says why itself;
			 * store copy names its own stores) */
			if (rc == EX_UNAVAILABLE && verbs[i].run != cmd_store &&
			    ta_config_str(c.cfg, "store")[0] == '/' &&
			    access(ta_config_str(c.cfg, "store"), F_OK) != 0)
				fprintf(
				    stderr,
				    "tokenauth: hint: run 'tokenauth init' to create the store\n");
		}
		ta_ctx_free(c.ctx);
		ta_config_free(c.cfg);
		return rc;
	}
	return usage_error("unknown verb '%s'", argv[optind]);
}
