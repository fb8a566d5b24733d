/*
 * config.c - one option table, one setter, three syntaxes (SPEC §3).
 */
#include "config_int.h"
#include "crypto.h"
#include "file.h"
#include "ta.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
	T_STR,
	T_PATH,
	T_STORE,
	T_URLPATH,
	T_FLAG,
	T_UINT,
	T_DURATION,
	T_MODE,
	T_PROFILE,
	T_VERIFY,
	T_URLS,
	T_LISTEN,
	T_OCTAL,
	T_HTTPS,
	T_ALGS
} opt_type;

struct option {
	const char *name;
	opt_type type;
	size_t off;
	unsigned long min, max;
	const char *def; /* default, applied through the same setter; NULL = unset */
};

#define O(f) offsetof(struct ta_config, f)
#define DAY  86400UL

/* Every key, its type, range and default: the only place defaults live. */
static const struct option options[] = {
    {"store", T_STORE, O(store), 0, 0, TA_DEFAULT_STORE},
    {"store_dsn_file", T_PATH, O(store_dsn_file), 0, 0, NULL},
    {"key_file", T_PATH, O(key_file), 0, 0, TA_DEFAULT_KEY},
    {"mode", T_MODE, O(mode), 0, 0, "any"},
    {"tenant", T_STR, O(tenant), 0, 0, ""},
    {"tenant_from_user", T_FLAG, O(tenant_from_user), 0, 0, "no"},
    {"verify", T_VERIFY, O(verify), 0, 0, "local"},
    {"url", T_URLS, O(url), 0, 0, NULL},
    {"profile", T_PROFILE, O(profile), 0, 0, "cec"},
    {"unix_socket", T_PATH, O(unix_socket), 0, 0, NULL},
    {"ca_file", T_PATH, O(ca_file), 0, 0, NULL},
    {"ca_path", T_PATH, O(ca_path), 0, 0, NULL},
    {"client_cert", T_PATH, O(client_cert), 0, 0, NULL},
    {"client_key", T_PATH, O(client_key), 0, 0, NULL},
    {"pinned_pubkey", T_STR, O(pinned_pubkey), 0, 0, NULL},
    {"connect_timeout_ms", T_UINT, O(connect_timeout_ms), 1, 60000, "2000"},
    {"timeout_ms", T_UINT, O(timeout_ms), 1, 120000, "5000"},
    {"api_key_file", T_PATH, O(api_key_file), 0, 0, NULL},
    {"sign_key_file", T_PATH, O(sign_key_file), 0, 0, NULL},
    {"cache_ttl", T_DURATION, O(cache_ttl), 0, 30 * DAY, "0"},
    {"offline_grace", T_DURATION, O(offline_grace), 0, 30 * DAY, "0"},
    {"otp_window", T_UINT, O(otp_window), 0, 10, "1"},
    {"otp_lookahead", T_UINT, O(otp_lookahead), 0, 1000, "10"},
    {"max_failures", T_UINT, O(max_failures), 0, 1000, "5"},
    {"lockout", T_DURATION, O(lockout), 0, 7 * DAY, "300"},
    {"prompt", T_STR, O(prompt), 0, 0, "Token: "},
    {"nullok", T_FLAG, O(nullok), 0, 0, "no"},
    {"try_first_pass", T_FLAG, O(try_first_pass), 0, 0, "no"},
    {"use_first_pass", T_FLAG, O(use_first_pass), 0, 0, "no"},
    {"debug", T_FLAG, O(debug), 0, 0, "no"},
    {"config", T_PATH, O(config), 0, 0, NULL},
    /* tokenauthd */
    {"listen", T_LISTEN, O(listen), 0, 0, "unix:/run/tokenauth/tokenauthd.sock"},
    {"socket_mode", T_OCTAL, O(socket_mode), 0, 0777, "0660"},
    {"socket_group", T_STR, O(socket_group), 0, 0, "root"},
    {"tls_cert", T_PATH, O(tls_cert), 0, 0, NULL},
    {"tls_key", T_PATH, O(tls_key), 0, 0, NULL},
    {"admin_api_key_file", T_PATH, O(admin_api_key_file), 0, 0, NULL},
    {"validate_path", T_URLPATH, O(validate_path), 0, 0,
     "/rest/cc-management/v1/thirdparty/thirdPartyValidate"},
    {"require_signature", T_FLAG, O(require_signature), 0, 0, "no"},
    {"threads", T_UINT, O(threads), 0, 256, "0"},
    {"rate_limit", T_UINT, O(rate_limit), 0, 1000000, "1000"},
    {"allow_plain_tcp", T_FLAG, O(allow_plain_tcp), 0, 0, "no"},
    {"register_allow_unsigned", T_FLAG, O(register_allow_unsigned), 0, 0, "no"},
    /* the self-service portal (tokenauthd, /my/; SPEC §3) */
    {"portal", T_FLAG, O(portal), 0, 0, "no"},
    {"portal_pam_service", T_STR, O(portal_pam_service), 0, 0, "tokenauth-portal"},
    {"portal_trusted_header", T_STR, O(portal_trusted_header), 0, 0, NULL},
    {"portal_trusted_proxies", T_STR, O(portal_trusted_proxies), 0, 0, NULL},
    {"portal_session_idle", T_DURATION, O(portal_session_idle), 1, DAY, "900"},
    {"portal_session_max", T_DURATION, O(portal_session_max), 1, 30 * DAY, "28800"},
    {"portal_max_tokens", T_UINT, O(portal_max_tokens), 1, 1000, "20"},
    {"portal_max_ttl", T_DURATION, O(portal_max_ttl), 1, 10 * 366 * DAY, "31536000"},
    /* the jwt backend (SPEC §3) */
    {"jwt_issuer", T_STR, O(jwt_issuer), 0, 0, NULL},
    {"jwt_audience", T_STR, O(jwt_audience), 0, 0, NULL},
    {"jwks_file", T_PATH, O(jwks_file), 0, 0, NULL},
    {"jwks_url", T_HTTPS, O(jwks_url), 0, 0, NULL},
    {"jwt_algorithms", T_ALGS, O(jwt_algorithms), 0, 0, "RS256,PS256,ES256,EdDSA"},
    {"jwt_hs256_key_file", T_PATH, O(jwt_hs256_key_file), 0, 0, NULL},
    {"jwt_user_claim", T_STR, O(jwt_user_claim), 0, 0, "sub"},
    {"jwt_tenant_claim", T_STR, O(jwt_tenant_claim), 0, 0, NULL},
    {"jwt_required_scope", T_STR, O(jwt_required_scope), 0, 0, NULL},
    {"jwt_leeway", T_DURATION, O(jwt_leeway), 0, 3600, "60"},
    {"jwt_typ", T_STR, O(jwt_typ), 0, 0, NULL},
    {"jwks_refresh", T_DURATION, O(jwks_refresh), 1, 30 * DAY, "3600"},
    {"jwks_min_refresh", T_DURATION, O(jwks_min_refresh), 0, DAY, "60"},
    {"jwks_max_age", T_DURATION, O(jwks_max_age), 1, 365 * DAY, "86400"},
};

#define NOPTS     (sizeof(options) / sizeof(options[0]))
#define MAX_VALUE 4096

static const struct option *find(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (options[i].name[0] == name[0] && strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

int ta_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return TA_ERR_INPUT;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return TA_ERR_INPUT;
	*out = v;
	return TA_OK;
}

int ta_parse_duration(const char *s, unsigned long long max, unsigned long long *out)
{
	char num[32];
	size_t n;
	unsigned long long v, mult = 1;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(num))
		return TA_ERR_INPUT;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	case 'w': mult = 7 * 86400; break;
	default: mult = 0; break;
	}
	if (mult != 0)
		num[--n] = '\0';
	else
		mult = 1;
	if (ta_parse_uint(num, 0, max / mult, &v) != TA_OK)
		return TA_ERR_INPUT;
	*out = v * mult;
	return TA_OK;
}

static int parse_flag(const char *v, int *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, TA_OK;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, TA_OK;
	}
	return TA_ERR_INPUT;
}

static int parse_word_of(const char *v, const char *const *words, size_t n, unsigned long *out)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, words[i]) == 0)
			return *out = i, TA_OK;
	return TA_ERR_INPUT;
}

/* Check each comma-separated item of v with ok(); empty items are errors. */
static int each_item(const char *v, int (*ok)(const char *item, size_t n, unsigned *seen))
{
	unsigned seen = 0;
	const char *p = v;

	for (;;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n == 0 || !ok(p, n, &seen))
			return TA_ERR_INPUT;
		if (c == NULL)
			return TA_OK;
		p = c + 1;
	}
}

/* "expected local, remote and/or jwt, comma-separated, each once" */
static const char *verify_why(void)
{
	static __thread char why[192]; /* per thread: read by the caller at once */
	char names[128];

	snprintf(why, sizeof(why), "expected %s, comma-separated, each once",
	         ta_backend_names(names, sizeof(names)));
	return why;
}

/* verify=: names from the backend table, each once, into list. */
static int parse_backends(const char *v, const struct ta_backend *list[TA_BACKENDS_MAX],
                          unsigned *count, unsigned *all_flags)
{
	unsigned n = 0, flags = 0;

	for (const char *p = v;; p++) {
		size_t len = strcspn(p, ",");
		const struct ta_backend *b = ta_backend_find(p, len);
		if (b == NULL || n == TA_BACKENDS_MAX)
			return TA_ERR_INPUT;
		for (unsigned i = 0; i < n; i++)
			if (list[i] == b)
				return TA_ERR_INPUT;
		list[n++] = b;
		flags |= b->flags;
		p += len;
		if (*p == '\0')
			break;
	}
	*count = n;
	*all_flags = flags;
	return TA_OK;
}

static int ok_url(const char *s, size_t n, unsigned *seen)
{
	(void)seen;
	return (n > 8 && strncmp(s, "https://", 8) == 0) ||
	       (n > 7 && strncmp(s, "http://", 7) == 0);
}

static int ok_listen(const char *s, size_t n, unsigned *seen)
{
	const char *colon = memchr(s, ':', n);
	(void)seen;
	if (n > 6 && strncmp(s, "unix:/", 6) == 0)
		return 1;
	/* host:port with a port of 1..65535 */
	while (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) != NULL)
		colon = memchr(colon + 1, ':', n - (size_t)(colon + 1 - s));
	if (colon == NULL || colon == s || (size_t)(colon + 1 - s) >= n ||
	    n - (size_t)(colon + 1 - s) > 5)
		return 0;
	unsigned long port = 0;
	for (const char *p = colon + 1; p < s + n; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port >= 1 && port <= 65535;
}

static int has_control(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 1;
	return 0;
}

/*
 * The syntax of an HTTP path (validate_path): absolute, without space, tab,
 * query or fragment.  Whether the path is free is the service's to say:
 * tokenauthd checks it against its route table at start.
 */
static int url_path_ok(const char *v)
{
	return v[0] == '/' && strpbrk(v, " \t?#") == NULL;
}

/* jwt_algorithms: each a signature algorithm we check, each once; never
 * none, and of the HMAC ones only HS256 (which needs jwt_hs256_key_file). */
static int ok_alg(const char *s, size_t n, unsigned *seen)
{
	static const char *const known[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	                                    "ES256", "ES384", "ES512", "EdDSA", "HS256"};

	for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && memcmp(known[i], s, n) == 0) {
			if (*seen & (1u << i))
				return 0;
			*seen |= 1u << i;
			return 1;
		}
	return 0;
}

static const char *const modes[] = {"token", "otp", "any"};
static const char *const profiles[] = {"cec", "introspection", "kudo"};

static int set_string(char **slot, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL)
		return TA_ERR_NOMEM;
	free(*slot);
	*slot = copy;
	return TA_OK;
}

static int parse_octal(const char *v, unsigned long max, unsigned long *num)
{
	char *end = NULL;
	unsigned long long ull;

	errno = 0;
	ull = strtoull(v, &end, 8);
	if (v[0] < '0' || v[0] > '7' || errno || *end || ull > max)
		return TA_ERR_INPUT;
	*num = (unsigned long)ull;
	return TA_OK;
}

/* Flags, numbers and words: parsed into their slot. */
static int set_number(ta_config *cfg, const struct option *o, const char *v, const char **why)
{
	char *base = (char *)cfg;
	unsigned long *num = (unsigned long *)(base + o->off);
	unsigned long long ull = 0;
	int r = TA_ERR_INPUT;

	switch (o->type) {
	case T_FLAG:
		if ((r = parse_flag(v, (int *)(base + o->off))) != TA_OK)
			*why = "expected yes or no";
		return r;
	case T_UINT:
		if ((r = ta_parse_uint(v, o->min, o->max, &ull)) != TA_OK)
			*why = "expected a whole number in range";
		break;
	case T_DURATION:
		if ((r = ta_parse_duration(v, o->max, &ull)) != TA_OK)
			*why = "expected seconds, or a number with s, m, h, d or w, in range";
		break;
	case T_OCTAL:
		if ((r = parse_octal(v, o->max, num)) != TA_OK)
			*why = "expected an octal mode such as 0660";
		return r;
	case T_MODE:
		if ((r = parse_word_of(v, modes, 3, num)) != TA_OK)
			*why = "expected token, otp or any";
		return r;
	case T_PROFILE:
		if ((r = parse_word_of(v, profiles, 3, num)) != TA_OK)
			*why = "expected cec, introspection or kudo";
		return r;
	default: return TA_ERR_INTERNAL;
	}
	if (r == TA_OK)
		*num = (unsigned long)ull;
	return r != TA_OK ? TA_ERR_INPUT : TA_OK;
}

/* Text types: the syntax is checked here, the text kept by the caller. */
static int check_text(const struct option *o, const char *v, const char **why)
{
	switch (o->type) {
	case T_VERIFY: {
		const struct ta_backend *list[TA_BACKENDS_MAX];
		unsigned n, flags;
		/* committed by set_verify, with the text */
		if (parse_backends(v, list, &n, &flags) != TA_OK)
			return *why = verify_why(), TA_ERR_INPUT;
		return TA_OK;
	}
	case T_URLS:
		if (each_item(v, ok_url) != TA_OK)
			return *why = "expected https:// or http:// URLs, comma-separated",
			       TA_ERR_INPUT;
		return TA_OK;
	case T_LISTEN:
		if (each_item(v, ok_listen) != TA_OK)
			return *why = "expected unix:/path or host:port items, comma-separated",
			       TA_ERR_INPUT;
		return TA_OK;
	case T_HTTPS:
		if (strncmp(v, "https://", 8) != 0 || v[8] == '\0' || strchr(v, ',') != NULL)
			return *why = "expected one https:// URL", TA_ERR_INPUT;
		return TA_OK;
	case T_ALGS:
		if (each_item(v, ok_alg) != TA_OK)
			return *why = "expected RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, "
			              "ES512, EdDSA or HS256, comma-separated, each once (never none)",
			       TA_ERR_INPUT;
		return TA_OK;
	case T_PATH:
		if (v[0] != '/')
			return *why = "expected an absolute path", TA_ERR_INPUT;
		return TA_OK;
	case T_STORE:
		if (v[0] != '/' && strcmp(v, TA_STORE_PG) != 0)
			return *why =
			           "expected an absolute path or postgresql: (with store_dsn_file)",
			       TA_ERR_INPUT;
		return TA_OK;
	case T_URLPATH:
		if (!url_path_ok(v))
			return *why = "expected /path without spaces, ? or #", TA_ERR_INPUT;
		return TA_OK;
	default: return TA_OK;
	}
}

/* verify=: the text and the parsed list change together or not at all. */
static int set_verify(ta_config *cfg, char **slot, const char *v)
{
	const struct ta_backend *list[TA_BACKENDS_MAX];
	unsigned n, flags;
	int r;

	if (parse_backends(v, list, &n, &flags) != TA_OK)
		return TA_ERR_INPUT;
	if ((r = set_string(slot, v)) != TA_OK)
		return r;
	memcpy(cfg->backends, list, n * sizeof(list[0]));
	cfg->nbackends = n;
	cfg->backend_flags = flags;
	return TA_OK;
}

static int is_text(opt_type t)
{
	return t == T_STR || t == T_PATH || t == T_STORE || t == T_URLPATH || t == T_VERIFY ||
	       t == T_URLS || t == T_LISTEN || t == T_HTTPS || t == T_ALGS;
}

static int set_typed(ta_config *cfg, const struct option *o, const char *v, const char **why)
{
	int r;

	if (!is_text(o->type))
		return set_number(cfg, o, v, why);
	if ((r = check_text(o, v, why)) != TA_OK)
		return r;
	if (o->type == T_VERIFY)
		return set_verify(cfg, (char **)((char *)cfg + o->off), v);
	return set_string((char **)((char *)cfg + o->off), v);
}

int ta_config_set(ta_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	const struct option *o = find(key);
	const char *why = "invalid value";
	int r;

	if (o == NULL) {
		snprintf(err, errlen, "unknown option '%s'", key);
		return TA_ERR_CONFIG;
	}
	if (value == NULL) {
		if (o->type != T_FLAG) {
			snprintf(err, errlen, "option '%s' needs a value (%s=...)", key, key);
			return TA_ERR_CONFIG;
		}
		value = "yes";
	}
	if (strlen(value) > MAX_VALUE || has_control(value)) {
		snprintf(err, errlen, "option '%s': value too long or has control characters", key);
		return TA_ERR_CONFIG;
	}
	r = set_typed(cfg, o, value, &why);
	if (r == TA_ERR_NOMEM) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	if (r != TA_OK) {
		snprintf(err, errlen, "option '%s': bad value '%.64s': %s", key, value, why);
		return TA_ERR_CONFIG;
	}
	return TA_OK;
}

int ta_config_word(ta_config *cfg, const char *word, char *err, size_t errlen)
{
	const char *eq = strchr(word, '=');
	char key[64];
	size_t n;

	if (eq == NULL)
		return ta_config_set(cfg, word, NULL, err, errlen);
	n = (size_t)(eq - word);
	if (n == 0 || n >= sizeof(key)) {
		snprintf(err, errlen, "malformed option '%.64s'", word);
		return TA_ERR_CONFIG;
	}
	memcpy(key, word, n);
	key[n] = '\0';
	return ta_config_set(cfg, key, eq + 1, err, errlen);
}

/* A config holding the defaults, applied through the same setter. */
static ta_config *apply_defaults(void)
{
	ta_config *cfg = calloc(1, sizeof(*cfg));
	char err[256];

	if (cfg == NULL)
		return NULL;
	for (size_t i = 0; i < NOPTS; i++) {
		if (options[i].def != NULL && ta_config_set(cfg, options[i].name, options[i].def,
		                                            err, sizeof(err)) != TA_OK) {
			ta_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

/*
 * The defaults are parsed once per process (a PAM host makes a config per
 * handle) and each new config is a copy: built under pthread_once, read
 * only under the lock, freed under it when the core is unloaded (a thread
 * that asks later gets a config parsed afresh).
 */
static ta_config *defaults;
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t defaults_lock = PTHREAD_MUTEX_INITIALIZER;

static void make_defaults(void)
{
	ta_config *d = apply_defaults();

	pthread_mutex_lock(&defaults_lock);
	defaults = d;
	pthread_mutex_unlock(&defaults_lock);
}

__attribute__((destructor)) static void free_defaults(void)
{
	pthread_mutex_lock(&defaults_lock);
	ta_config_free(defaults);
	defaults = NULL;
	pthread_mutex_unlock(&defaults_lock);
}

static int is_text(opt_type t);

/* A deep copy of src (lock held by the caller), or NULL. */
static ta_config *copy_config(const ta_config *src)
{
	ta_config *cfg = malloc(sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	*cfg = *src;
	for (size_t i = 0; i < NOPTS; i++)
		if (is_text(options[i].type))
			*(char **)((char *)cfg + options[i].off) = NULL;
	for (size_t i = 0; i < NOPTS; i++) {
		const char *v;
		if (!is_text(options[i].type))
			continue;
		v = *(char *const *)((const char *)src + options[i].off);
		if (v != NULL && (*(char **)((char *)cfg + options[i].off) = strdup(v)) == NULL) {
			ta_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

ta_config *ta_config_new(void)
{
	ta_config *cfg = NULL;
	int have;

	pthread_once(&defaults_once, make_defaults);
	pthread_mutex_lock(&defaults_lock);
	if ((have = defaults != NULL))
		cfg = copy_config(defaults);
	pthread_mutex_unlock(&defaults_lock);
	/* no memory the first time, or the core is being unloaded */
	return have ? cfg : apply_defaults();
}

void ta_config_free(ta_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < NOPTS; i++) {
		if (is_text(options[i].type))
			free(*(char **)((char *)cfg + options[i].off));
	}
	free(cfg);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Parse one "key = value" line (comments and blanks already handled). */
static int load_line(ta_config *cfg, char *line, const char *path, unsigned lineno, char *err,
                     size_t errlen)
{
	char *eq = strchr(line, '='), *key, *val, msg[512];

	if (eq == NULL) {
		snprintf(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
		return TA_ERR_CONFIG;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	/* "..." keeps leading/trailing spaces, e.g. prompt = "Code: " */
	size_t vlen = strlen(val);
	if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
		val[vlen - 1] = '\0';
		val++;
	}
	if (strcmp(key, "config") == 0) {
		snprintf(err, errlen, "%s:%u: 'config' cannot be set inside a config file", path,
		         lineno);
		return TA_ERR_CONFIG;
	}
	if (ta_config_set(cfg, key, val, msg, sizeof(msg)) != TA_OK) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
		return TA_ERR_CONFIG;
	}
	return TA_OK;
}

int ta_config_parse_text(ta_config *cfg, const char *text, size_t len, const char *name, char *err,
                         size_t errlen)
{
	char line[MAX_VALUE + 128];
	const char *p = text, *end = text + len;
	unsigned lineno = 0;
	int r = TA_OK;

	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte", name);
		return TA_ERR_CONFIG;
	}
	while (p < end && r == TA_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *t;
		lineno++;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%u: line too long", name, lineno);
			r = TA_ERR_CONFIG;
			break;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl ? nl + 1 : end;
		t = trim(line);
		if (*t != '\0' && *t != '#')
			r = load_line(cfg, t, name, lineno, err, errlen);
	}
	ta_wipe(line, sizeof(line));
	return r;
}

/* The text of a configuration file, or *buf NULL when it is missing and
 * that is allowed.  *buf is for the caller to wipe and free. */
static int read_text(const char *path, int missing_ok, uint8_t **buf, size_t *len, char *err,
                     size_t errlen)
{
	int r = ta_file_read_cached(path, TA_FILE_PLAIN, TA_CONFIG_MAX_FILE, buf, len, err, errlen);

	if (r == TA_ERR_NOT_FOUND && missing_ok) {
		err[0] = '\0';
		return TA_OK;
	}
	return r == TA_OK || r == TA_ERR_NOMEM ? r : TA_ERR_CONFIG;
}

int ta_config_load(ta_config *cfg, const char *path, int missing_ok, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = read_text(path, missing_ok, &buf, &len, err, errlen);

	if (r == TA_OK && buf != NULL)
		r = ta_config_parse_text(cfg, (const char *)buf, len, path, err, errlen);
	ta_wipe(buf, len);
	free(buf);
	return r;
}

/*
 * The last configuration made by ta_config_from_words, with what it was
 * made of: the words, each ended by a NUL, a byte saying whether the file
 * was there, and the file's text.  A host that opens a PAM handle per
 * request (Apache, saslauthd, every sshd child) would otherwise parse the
 * same text on every login, which cost more than the check itself.  Reused
 * only when every byte is the same; only successes are kept, so every
 * error is found and worded afresh.  Process-wide, under its lock.
 */
static struct {
	pthread_mutex_t lock;
	uint8_t *made_of;
	size_t len;
	ta_config *cfg;
} last = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, NULL};

static void last_clear(void)
{
	ta_wipe(last.made_of, last.len);
	free(last.made_of);
	ta_config_free(last.cfg);
	last.made_of = NULL;
	last.len = 0;
	last.cfg = NULL;
}

__attribute__((destructor)) static void free_last(void)
{
	pthread_mutex_lock(&last.lock);
	last_clear();
	pthread_mutex_unlock(&last.lock);
}

/* words NUL-ended, then 1 or 0 for the file, then its text; or NULL. */
static uint8_t *made_of(int argc, const char **argv, const uint8_t *text, size_t len,
                        size_t *outlen)
{
	size_t n = 1 + len, o = 0;
	uint8_t *m;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if ((m = malloc(n)) == NULL)
		return NULL;
	for (int i = 0; i < argc; i++) {
		size_t w = strlen(argv[i]) + 1;
		memcpy(m + o, argv[i], w);
		o += w;
	}
	m[o++] = text != NULL;
	if (len > 0)
		memcpy(m + o, text, len);
	*outlen = n;
	return m;
}

/* A copy of the last configuration when it was made of exactly m. */
static ta_config *last_get(const uint8_t *m, size_t n)
{
	ta_config *cfg = NULL;

	pthread_mutex_lock(&last.lock);
	if (last.cfg != NULL && last.len == n && memcmp(last.made_of, m, n) == 0)
		cfg = copy_config(last.cfg);
	pthread_mutex_unlock(&last.lock);
	return cfg;
}

/* Keep a copy of cfg as made of m (which this takes over), if memory allows. */
static void last_put(const ta_config *cfg, uint8_t *m, size_t n)
{
	ta_config *copy = copy_config(cfg);

	pthread_mutex_lock(&last.lock);
	last_clear();
	if (copy != NULL) {
		last.cfg = copy;
		last.made_of = m;
		last.len = n;
		m = NULL;
	}
	pthread_mutex_unlock(&last.lock);
	if (m != NULL) {
		ta_wipe(m, n);
		free(m);
	}
}

static int parse_words(int argc, const char **argv, const char *path, const uint8_t *text,
                       size_t len, ta_config **out, char *err, size_t errlen)
{
	ta_config *cfg = ta_config_new();
	int r = TA_OK;

	*out = NULL;
	if (cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		return TA_ERR_NOMEM;
	}
	if (text != NULL)
		r = ta_config_parse_text(cfg, (const char *)text, len, path, err, errlen);
	for (int i = 0; i < argc && r == TA_OK; i++)
		r = ta_config_word(cfg, argv[i], err, errlen);
	if (r != TA_OK) {
		ta_config_free(cfg);
		return r;
	}
	*out = cfg;
	return TA_OK;
}

int ta_config_from_words(int argc, const char **argv, ta_config **out, char *err, size_t errlen)
{
	const char *file = NULL, *path;
	uint8_t *text = NULL, *m = NULL;
	size_t len = 0, mlen = 0;
	int r;

	*out = NULL;
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "config=", 7) == 0)
			file = argv[i] + 7;
	if (file != NULL && file[0] != '/') {
		snprintf(err, errlen, "option 'config': expected an absolute path");
		return TA_ERR_CONFIG;
	}
	path = file ? file : TA_DEFAULT_CONFIG;
	if ((r = read_text(path, file == NULL, &text, &len, err, errlen)) != TA_OK)
		return r;
	if ((m = made_of(argc, argv, text, len, &mlen)) != NULL && (*out = last_get(m, mlen)) != NULL)
		goto out;
	if ((r = parse_words(argc, argv, path, text, len, out, err, errlen)) == TA_OK && m != NULL) {
		last_put(*out, m, mlen);
		m = NULL;
	}
out:
	if (m != NULL) {
		ta_wipe(m, mlen);
		free(m);
	}
	ta_wipe(text, len);
	free(text);
	return r;
}

const char *ta_config_key(size_t i)
{
	return i < NOPTS ? options[i].name : NULL;
}

static const void *slot(const ta_config *cfg, const char *key, opt_type *type)
{
	const struct option *o = find(key);

	if (o == NULL || cfg == NULL)
		return NULL;
	*type = o->type;
	return (const char *)cfg + o->off;
}

const char *ta_config_str(const ta_config *cfg, const char *key)
{
	opt_type t;
	const void *s = slot(cfg, key, &t);

	if (s == NULL)
		return NULL;
	switch (t) {
	case T_MODE: return modes[*(const unsigned long *)s];
	case T_PROFILE: return profiles[*(const unsigned long *)s];
	case T_STR:
	case T_PATH:
	case T_STORE:
	case T_URLPATH:
	case T_VERIFY:
	case T_URLS:
	case T_HTTPS:
	case T_ALGS:
	case T_LISTEN: return *(char *const *)s;
	default: return NULL;
	}
}

unsigned long ta_config_uint(const ta_config *cfg, const char *key)
{
	opt_type t;
	const void *s = slot(cfg, key, &t);

	if (s == NULL)
		return 0;
	switch (t) {
	case T_UINT:
	case T_DURATION:
	case T_OCTAL:
	case T_MODE:
	case T_PROFILE: return *(const unsigned long *)s;
	case T_FLAG: return (unsigned long)*(const int *)s;
	default: return 0;
	}
}

int ta_config_flag(const ta_config *cfg, const char *key)
{
	opt_type t;
	const void *s = slot(cfg, key, &t);

	return s != NULL && t == T_FLAG && *(const int *)s;
}

const char *ta_config_store_name(const ta_config *cfg, char *buf, size_t len)
{
	if (strcmp(cfg->store, TA_STORE_PG) != 0)
		return cfg->store;
	snprintf(buf, len, "%s%s", TA_STORE_PG, cfg->store_dsn_file ? cfg->store_dsn_file : "");
	return buf;
}

const char *ta_config_state_dir(const ta_config *cfg, char *dir, size_t cap)
{
	char buf[TA_STORE_NAME_MAX];
	/* beside the SQLite store, or beside a PostgreSQL store's DSN file */
	const char *store = ta_config_store_name(cfg, buf, sizeof(buf)), *slash;

	if (strncmp(store, TA_STORE_PG, sizeof(TA_STORE_PG) - 1) == 0)
		store += sizeof(TA_STORE_PG) - 1;
	slash = strrchr(store, '/');
	snprintf(dir, cap, "%.*s", slash ? (int)(slash - store) : 1, slash ? store : ".");
	return dir;
}
