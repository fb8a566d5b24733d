/*
 * jwt.c - parsing and checking JWTs and JWKS (jwt.h), without I/O.
 */
#include "jwt.h"
#include "crypto.h"
#include "ta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjose/cjose.h>
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

enum kty { KTY_RSA = 1, KTY_EC, KTY_OKP };

struct key {
	enum kty kty;
	char kid[TA_JWT_MAX_KID + 1];
	char alg[16]; /* "" = any compatible */
	char crv[16];
	cjose_jwk_t *jwk; /* RSA, EC */
	EVP_PKEY *ed;     /* OKP Ed25519 */
};

struct ta_jwks {
	struct key keys[TA_JWKS_MAX_KEYS];
	size_t n;
};

struct ta_jwt {
	cJSON *header, *claims;
	const char *alg, *kid, *typ;
	const char *compact;
	size_t compact_len, signing_len;
	uint8_t *sig;
	size_t sig_len;
};

/* ---- base64url --------------------------------------------------------- */

static int b64u_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Canonical base64url without padding: the unused low bits of the last
 * character must be zero, so one value has one spelling.  *out is
 * malloc'd (n * 3 / 4 + 1 bytes, NUL-terminated); NULL on any error.
 */
static uint8_t *b64u_decode(const char *s, size_t n, size_t *len)
{
	uint8_t *out;
	uint32_t acc = 0;
	size_t o = 0;
	unsigned bits = 0;

	if (n % 4 == 1 || (out = malloc(n * 3 / 4 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int v = b64u_val((unsigned char)s[i]);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		goto bad;
	out[o] = '\0';
	*len = o;
	return out;
bad:
	free(out);
	return NULL;
}

int ta_jws_shape(const char *s, size_t n)
{
	size_t dots = 0, seg = 0;

	if (s == NULL || n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (seg == 0 || ++dots > 2)
				return 0;
			seg = 0;
		} else if (b64u_val((unsigned char)s[i]) < 0) {
			return 0;
		} else {
			seg++;
		}
	}
	return dots == 2;
}

/* ---- strict JSON ------------------------------------------------------- */

static int has_duplicates(const cJSON *o)
{
	for (const cJSON *a = o->child; a != NULL; a = a->next) {
		if (cJSON_IsObject(o))
			for (const cJSON *b = a->next; b != NULL; b = b->next)
				if (a->string && b->string && strcmp(a->string, b->string) == 0)
					return 1;
		if ((cJSON_IsObject(a) || cJSON_IsArray(a)) && has_duplicates(a))
			return 1;
	}
	return 0;
}

/* A JSON object from n bytes at s (s[n] must be NUL), strictly. */
static cJSON *strict_object(const char *s, size_t n, const char **why, const char *what)
{
	cJSON *o;

	if (memchr(s, '\0', n) != NULL || strstr(s, "\\u0000") != NULL) {
		*why = what[0] == 'h' ? "header has a NUL byte" : "payload has a NUL byte";
		return NULL;
	}
	o = cJSON_ParseWithLengthOpts(s, n + 1, NULL, 1);
	if (o == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		*why = what[0] == 'h'   ? "header is not a JSON object"
		       : what[0] == 'p' ? "payload is not a JSON object"
		                        : "not a JSON object";
		return NULL;
	}
	if (has_duplicates(o)) {
		cJSON_Delete(o);
		*why = what[0] == 'h'   ? "header has duplicate keys"
		       : what[0] == 'p' ? "payload has duplicate claims"
		                        : "duplicate keys";
		return NULL;
	}
	return o;
}

static cJSON *decode_object(const char *s, size_t n, const char **why, const char *what)
{
	size_t len = 0;
	uint8_t *raw = b64u_decode(s, n, &len);
	cJSON *o;

	if (raw == NULL) {
		*why = what[0] == 'h' ? "header is not base64url" : "payload is not base64url";
		return NULL;
	}
	o = strict_object((const char *)raw, len, why, what);
	ta_wipe(raw, len);
	free(raw);
	return o;
}

static const char *opt_string(const cJSON *o, const char *key, int *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return NULL;
	if (!cJSON_IsString(v)) {
		*bad = 1;
		return NULL;
	}
	return v->valuestring;
}

static int visible(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* ---- the token ----------------------------------------------------------- */

static int check_header(ta_jwt *t, const char **why)
{
	static const char *const carried[] = {"jwk", "jku", "x5c", "x5u"};
	int bad = 0;

	t->alg = opt_string(t->header, "alg", &bad);
	t->kid = opt_string(t->header, "kid", &bad);
	t->typ = opt_string(t->header, "typ", &bad);
	if (bad || t->alg == NULL)
		return *why = "header alg, kid or typ missing or not a string", TA_ERR_REJECTED;
	if (strcasecmp(t->alg, "none") == 0)
		return *why = "alg none refused", TA_ERR_REJECTED;
	if (cJSON_GetObjectItemCaseSensitive(t->header, "crit") != NULL)
		return *why = "header crit refused", TA_ERR_REJECTED;
	for (size_t i = 0; i < sizeof(carried) / sizeof(carried[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(t->header, carried[i]) != NULL)
			return *why = "header carries a key (jwk, jku, x5c or x5u): never trusted",
			       TA_ERR_REJECTED;
	if (t->kid != NULL && !visible(t->kid, TA_JWT_MAX_KID))
		return *why = "kid empty, too long or not printable ASCII", TA_ERR_REJECTED;
	return TA_OK;
}

int ta_jwt_parse(const char *tok, size_t n, ta_jwt **out, const char **why)
{
	const char *d1, *d2;
	ta_jwt *t;
	int r = TA_ERR_REJECTED;

	*out = NULL;
	if (!ta_jws_shape(tok, n))
		return *why = "not a compact JWS", TA_ERR_REJECTED;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return TA_ERR_NOMEM;
	d1 = memchr(tok, '.', n);
	d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok));
	t->compact = tok;
	t->compact_len = n;
	t->signing_len = (size_t)(d2 - tok);
	if ((t->header = decode_object(tok, (size_t)(d1 - tok), why, "header")) == NULL ||
	    (r = check_header(t, why)) != TA_OK)
		goto fail;
	r = TA_ERR_REJECTED;
	if ((t->claims = decode_object(d1 + 1, (size_t)(d2 - d1 - 1), why, "payload")) == NULL)
		goto fail;
	if ((t->sig = b64u_decode(d2 + 1, n - (size_t)(d2 + 1 - tok), &t->sig_len)) == NULL ||
	    t->sig_len == 0) {
		*why = "signature missing or not base64url";
		goto fail;
	}
	*out = t;
	return TA_OK;
fail:
	ta_jwt_free(t);
	return r;
}

void ta_jwt_free(ta_jwt *t)
{
	if (t == NULL)
		return;
	cJSON_Delete(t->header);
	cJSON_Delete(t->claims);
	free(t->sig);
	free(t);
}

const char *ta_jwt_alg(const ta_jwt *t)
{
	return t->alg;
}

const char *ta_jwt_kid(const ta_jwt *t)
{
	return t->kid;
}

const void *ta_jwt_claims(const ta_jwt *t)
{
	return t->claims;
}

/* ---- key sets ------------------------------------------------------------ */

static void key_clear(struct key *k)
{
	if (k->jwk != NULL)
		cjose_jwk_release(k->jwk);
	EVP_PKEY_free(k->ed);
	memset(k, 0, sizeof(*k));
}

static int import_okp(struct key *k, const cJSON *o)
{
	int bad = 0;
	const char *x = opt_string(o, "x", &bad);
	size_t len = 0;
	uint8_t *raw;

	if (bad || x == NULL || strcmp(k->crv, "Ed25519") != 0)
		return -1;
	if ((raw = b64u_decode(x, strlen(x), &len)) == NULL)
		return -1;
	if (len == 32)
		k->ed = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
	free(raw);
	return k->ed != NULL ? 0 : -1;
}

/*
 * cjose gets a copy of the key holding only the public members it needs,
 * each checked as canonical base64url first: cjose 0.6.2's decoder
 * asserts (aborts the process) on a length of 4k+1, which a lying JWKS
 * endpoint could otherwise send to every host (found by fuzz_jwt).
 */
static int import_cjose(struct key *k, const cJSON *o)
{
	static const char *const rsa_members[] = {"n", "e"}, *const ec_members[] = {"x", "y"};
	const char *const *names = k->kty == KTY_RSA ? rsa_members : ec_members;
	cJSON *pub = cJSON_CreateObject();
	char *text = NULL;
	cjose_err err;
	int r = -1;

	if (pub == NULL || !cJSON_AddStringToObject(pub, "kty", k->kty == KTY_RSA ? "RSA" : "EC") ||
	    (k->kty == KTY_EC && !cJSON_AddStringToObject(pub, "crv", k->crv)))
		goto out;
	for (size_t i = 0; i < 2; i++) {
		int bad = 0;
		const char *v = opt_string(o, names[i], &bad);
		size_t len = 0;
		uint8_t *raw = v ? b64u_decode(v, strlen(v), &len) : NULL;
		free(raw);
		if (raw == NULL || len == 0 || !cJSON_AddStringToObject(pub, names[i], v))
			goto out;
	}
	if ((text = cJSON_PrintUnformatted(pub)) == NULL ||
	    (k->jwk = cjose_jwk_import(text, strlen(text), &err)) == NULL)
		goto out;
	if (cjose_jwk_get_kty(k->jwk, &err) ==
	    (k->kty == KTY_RSA ? CJOSE_JWK_KTY_RSA : CJOSE_JWK_KTY_EC))
		r = 0;
out:
	free(text);
	cJSON_Delete(pub);
	return r;
}

/* One key of a set; -1 to skip it (not for signatures, or not usable). */
static int import_key(struct key *k, const cJSON *o)
{
	int bad = 0;
	const char *kty = opt_string(o, "kty", &bad), *kid = opt_string(o, "kid", &bad),
	           *alg = opt_string(o, "alg", &bad), *use = opt_string(o, "use", &bad),
	           *crv = opt_string(o, "crv", &bad);

	memset(k, 0, sizeof(*k));
	if (!cJSON_IsObject(o) || bad || kty == NULL || (use != NULL && strcmp(use, "sig") != 0) ||
	    cJSON_GetObjectItemCaseSensitive(o, "d") != NULL) /* a private key: not ours to hold */
		return -1;
	if ((kid != NULL && !visible(kid, TA_JWT_MAX_KID)) ||
	    (alg != NULL && strlen(alg) >= sizeof(k->alg)) ||
	    (crv != NULL && strlen(crv) >= sizeof(k->crv)))
		return -1;
	snprintf(k->kid, sizeof(k->kid), "%s", kid ? kid : ""); /* lengths checked above */
	snprintf(k->alg, sizeof(k->alg), "%s", alg ? alg : "");
	snprintf(k->crv, sizeof(k->crv), "%s", crv ? crv : "");
	if (strcmp(kty, "RSA") == 0)
		k->kty = KTY_RSA;
	else if (strcmp(kty, "EC") == 0)
		k->kty = KTY_EC;
	else if (strcmp(kty, "OKP") == 0)
		k->kty = KTY_OKP;
	else
		return -1; /* oct keys never sign for us; unknown types are skipped */
	if ((k->kty == KTY_OKP ? import_okp(k, o) : import_cjose(k, o)) != 0) {
		key_clear(k);
		return -1;
	}
	return 0;
}

int ta_jwks_parse(const char *text, size_t n, ta_jwks **out, const char **why)
{
	char *copy = NULL;
	cJSON *o = NULL;
	const cJSON *keys, *k;
	ta_jwks *s = NULL;
	int r = TA_ERR_CORRUPT;

	*out = NULL;
	if (n > TA_JWKS_MAX_TEXT)
		return *why = "key set larger than 64 KiB", TA_ERR_CORRUPT;
	if ((copy = malloc(n + 1)) == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		r = TA_ERR_NOMEM;
		goto out;
	}
	memcpy(copy, text, n);
	copy[n] = '\0';
	if ((o = strict_object(copy, n, why, "key set")) == NULL)
		goto out;
	keys = cJSON_GetObjectItemCaseSensitive(o, "keys");
	if (!cJSON_IsArray(keys)) {
		*why = "key set has no \"keys\" array";
		goto out;
	}
	cJSON_ArrayForEach(k, keys)
	{
		if (s->n == TA_JWKS_MAX_KEYS) {
			*why = "key set has more than 64 keys";
			goto out;
		}
		if (import_key(&s->keys[s->n], k) == 0)
			s->n++;
	}
	if (s->n == 0) {
		*why = "key set has no usable signing key";
		goto out;
	}
	*out = s;
	s = NULL;
	r = TA_OK;
out:
	ta_jwks_free(s);
	cJSON_Delete(o);
	free(copy);
	return r;
}

void ta_jwks_free(ta_jwks *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		key_clear(&s->keys[i]);
	free(s);
}

size_t ta_jwks_count(const ta_jwks *s)
{
	return s ? s->n : 0;
}

/* ---- signatures ---------------------------------------------------------- */

/* The algorithms this build can check, and the key each needs. */
static const struct {
	const char *alg;
	enum kty kty;
	const char *crv; /* NULL: any (RSA) */
	size_t sig_len;  /* 0: the key's (RSA, checked by OpenSSL) */
} algs[] = {
    {"RS256", KTY_RSA, NULL, 0},  {"RS384", KTY_RSA, NULL, 0},  {"RS512", KTY_RSA, NULL, 0},
    {"PS256", KTY_RSA, NULL, 0},  {"PS384", KTY_RSA, NULL, 0},  {"PS512", KTY_RSA, NULL, 0},
    {"ES256", KTY_EC, "P-256", 64}, {"ES384", KTY_EC, "P-384", 96}, {"ES512", KTY_EC, "P-521", 132},
    {"EdDSA", KTY_OKP, "Ed25519", 64},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

int ta_jwt_alg_allowed(const char *list, const char *alg)
{
	size_t n = strlen(alg);

	for (const char *p = list; p != NULL && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && memcmp(p, alg, n) == 0)
			return 1;
		p = c ? c + 1 : NULL;
	}
	return 0;
}

static int alg_index(const char *alg)
{
	for (size_t i = 0; i < NALGS; i++)
		if (strcmp(algs[i].alg, alg) == 0)
			return (int)i;
	return -1;
}

static int fits(const struct key *k, int ai)
{
	return k->kty == algs[ai].kty && (algs[ai].crv == NULL || strcmp(k->crv, algs[ai].crv) == 0) &&
	       (k->alg[0] == '\0' || strcmp(k->alg, algs[ai].alg) == 0);
}

static int verify_ed25519(const ta_jwt *t, EVP_PKEY *pk)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = m != NULL && t->sig_len == 64 &&
	         EVP_DigestVerifyInit(m, NULL, NULL, NULL, pk) == 1 &&
	         EVP_DigestVerify(m, t->sig, t->sig_len, (const unsigned char *)t->compact,
	                          t->signing_len) == 1;

	EVP_MD_CTX_free(m);
	return ok;
}

static int verify_cjose(const ta_jwt *t, const cjose_jwk_t *jwk)
{
	cjose_err err;
	cjose_jws_t *jws = cjose_jws_import(t->compact, t->compact_len, &err);
	int ok = jws != NULL && cjose_jws_verify(jws, jwk, &err);

	cjose_jws_release(jws);
	return ok;
}

static int verify_hs256(const ta_jwt *t, const uint8_t *key, size_t len)
{
	uint8_t mac[64];
	size_t maclen = 0;
	int ok = ta_hmac(TA_HASH_SHA256, key, len, t->compact, t->signing_len, mac, &maclen) ==
	             TA_OK &&
	         maclen == t->sig_len && CRYPTO_memcmp(mac, t->sig, maclen) == 0;

	ta_wipe(mac, sizeof(mac));
	return ok;
}

/* The one key for t in the sets: by kid, or the only fitting key without one. */
static const struct key *pick(const ta_jwt *t, int ai, const ta_jwks *const *sets, size_t nsets,
                              int *kid_seen, size_t *fitting)
{
	const struct key *found = NULL;

	*kid_seen = 0;
	*fitting = 0;
	for (size_t s = 0; s < nsets; s++)
		for (size_t i = 0; sets[s] != NULL && i < sets[s]->n; i++) {
			const struct key *k = &sets[s]->keys[i];
			if (t->kid != NULL && strcmp(k->kid, t->kid) != 0)
				continue;
			*kid_seen = 1;
			if (fits(k, ai)) {
				(*fitting)++;
				found = k;
			}
		}
	return *fitting == 1 ? found : NULL;
}

int ta_jwt_verify_sig(const ta_jwt *t, const ta_jwks *const *sets, size_t nsets,
                      const uint8_t *hs_key, size_t hs_len, const char **why)
{
	const struct key *k;
	size_t fitting = 0;
	int ai, kid_seen = 0, ok;

	if (strcmp(t->alg, "HS256") == 0) {
		if (hs_key == NULL)
			return *why = "HS256 without jwt_hs256_key_file refused", TA_ERR_REJECTED;
		if (!verify_hs256(t, hs_key, hs_len))
			return *why = "bad signature", TA_ERR_REJECTED;
		return TA_OK;
	}
	if ((ai = alg_index(t->alg)) < 0)
		return *why = "alg not supported", TA_ERR_REJECTED;
	/* RFC 7518 3.4: an ECDSA signature is R || S, each exactly the curve's
	 * size.  cjose 0.6.2 splits whatever it gets in two halves, so leading
	 * zeros on R and S, or one odd trailing byte, would otherwise give
	 * every ES* token unboundedly many accepted spellings. */
	if (algs[ai].sig_len != 0 && t->sig_len != algs[ai].sig_len)
		return *why = "signature length wrong for the alg", TA_ERR_REJECTED;
	k = pick(t, ai, sets, nsets, &kid_seen, &fitting);
	if (!kid_seen)
		return *why = t->kid ? "unknown kid" : "no key for this alg", TA_ERR_NOT_FOUND;
	if (k == NULL)
		return *why = fitting == 0 ? "the kid's key does not fit the alg"
		                           : "more than one key fits the kid and alg",
		       TA_ERR_REJECTED;
	ok = k->kty == KTY_OKP ? verify_ed25519(t, k->ed) : verify_cjose(t, k->jwk);
	if (!ok)
		return *why = "bad signature", TA_ERR_REJECTED;
	return TA_OK;
}

/* ---- claims -------------------------------------------------------------- */

/* A NumericDate: a finite JSON number.  1 and *out, 0 absent, -1 bad. */
static int numeric_date(const cJSON *o, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
	    v->valuedouble > 1e15)
		return -1;
	*out = v->valuedouble;
	return 1;
}

static int has_audience(const cJSON *aud, const char *want)
{
	const cJSON *e;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, want) == 0;
	if (!cJSON_IsArray(aud))
		return 0;
	cJSON_ArrayForEach(e, aud) if (cJSON_IsString(e) && strcmp(e->valuestring, want) == 0) return 1;
	return 0;
}

/* Is word (n bytes) one of the space-separated words of list? */
static int has_word(const char *list, const char *word, size_t n)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ");
		if (len == n && memcmp(p, word, n) == 0)
			return 1;
		p += len;
		p += *p == ' ';
	}
	return 0;
}

static int granted(const cJSON *claims, const char *word, size_t n)
{
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(claims, "scope"),
	            *scp = cJSON_GetObjectItemCaseSensitive(claims, "scp"), *e;

	if (cJSON_IsString(scope) && has_word(scope->valuestring, word, n))
		return 1;
	if (cJSON_IsString(scp) && has_word(scp->valuestring, word, n))
		return 1;
	if (cJSON_IsArray(scp))
		cJSON_ArrayForEach(e, scp) if (cJSON_IsString(e) && strlen(e->valuestring) == n &&
		                               memcmp(e->valuestring, word, n) == 0) return 1;
	return 0;
}

static int scopes_ok(const cJSON *claims, const char *required)
{
	for (const char *p = required; p != NULL && *p;) {
		size_t len = strcspn(p, " ");
		if (len > 0 && !granted(claims, p, len))
			return 0;
		p += len;
		p += *p == ' ';
	}
	return 1;
}

/* RFC 8725 3.11: "at+jwt" and "application/at+jwt" are one type. */
static int same_typ(const char *a, const char *b)
{
	if (strncasecmp(a, "application/", 12) == 0)
		a += 12;
	if (strncasecmp(b, "application/", 12) == 0)
		b += 12;
	return strcasecmp(a, b) == 0;
}

static int check_times(const cJSON *c, int64_t leeway, int64_t now, int64_t *exp, const char **why)
{
	double e = 0, nbf = 0, iat = 0;
	int he = numeric_date(c, "exp", &e), hn = numeric_date(c, "nbf", &nbf),
	    hi = numeric_date(c, "iat", &iat);

	if (he < 0 || hn < 0 || hi < 0)
		return *why = "exp, nbf or iat is not a number", TA_ERR_REJECTED;
	if (he == 0)
		return *why = "exp missing", TA_ERR_REJECTED;
	if ((double)now >= e + (double)leeway)
		return *why = "exp passed", TA_ERR_EXPIRED;
	if (hn && nbf > (double)(now + leeway))
		return *why = "nbf in the future", TA_ERR_REJECTED;
	if (hi && iat > (double)(now + leeway))
		return *why = "iat in the future", TA_ERR_REJECTED;
	*exp = (int64_t)e;
	return TA_OK;
}

static int claim_is(const cJSON *c, const char *name, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);

	return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

int ta_jwt_check_claims(const ta_jwt *t, const struct ta_jwt_rules *rules, const char *user,
                        const char *tenant, int64_t now, int64_t *exp, const char **why)
{
	const cJSON *c = t->claims;
	int r;

	if (rules->typ != NULL && (t->typ == NULL || !same_typ(t->typ, rules->typ)))
		return *why = "typ is not jwt_typ", TA_ERR_REJECTED;
	if (!claim_is(c, "iss", rules->issuer))
		return *why = "iss is not jwt_issuer", TA_ERR_REJECTED;
	if (!has_audience(cJSON_GetObjectItemCaseSensitive(c, "aud"), rules->audience))
		return *why = "aud missing or without jwt_audience", TA_ERR_REJECTED;
	if ((r = check_times(c, rules->leeway, now, exp, why)) != TA_OK)
		return r;
	if (rules->scope != NULL && !scopes_ok(c, rules->scope))
		return *why = "a jwt_required_scope is missing", TA_ERR_REJECTED;
	if (user == NULL)
		return TA_OK;
	if (!claim_is(c, rules->user_claim, user))
		return *why = "user claim names another user", TA_ERR_TENANT;
	if (rules->tenant_claim != NULL && !claim_is(c, rules->tenant_claim, tenant))
		return *why = "tenant claim names another tenant", TA_ERR_TENANT;
	return TA_OK;
}

/* ---- introspection --------------------------------------------------------- */

static int copy_claim(cJSON *o, const cJSON *c, const char *from, const char *to)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, from);
	cJSON *d;

	if (v == NULL)
		return 1;
	if ((d = cJSON_Duplicate(v, 1)) == NULL)
		return 0;
	return cJSON_AddItemToObject(o, to, d) ? 1 : (cJSON_Delete(d), 0);
}

/* scope as one space-separated string, from scope or scp (string or array) */
static int add_scope(cJSON *o, const cJSON *c)
{
	const cJSON *scope = cJSON_GetObjectItemCaseSensitive(c, "scope"),
	            *scp = cJSON_GetObjectItemCaseSensitive(c, "scp"), *e;
	char buf[4096];
	size_t n = 0;

	if (cJSON_IsString(scope))
		return cJSON_AddStringToObject(o, "scope", scope->valuestring) != NULL;
	if (cJSON_IsString(scp))
		return cJSON_AddStringToObject(o, "scope", scp->valuestring) != NULL;
	if (!cJSON_IsArray(scp))
		return 1;
	buf[0] = '\0';
	cJSON_ArrayForEach(e, scp)
	{
		size_t l;
		if (!cJSON_IsString(e) || (l = strlen(e->valuestring)) + n + 2 > sizeof(buf))
			continue;
		if (n > 0)
			buf[n++] = ' ';
		memcpy(buf + n, e->valuestring, l + 1);
		n += l;
	}
	return cJSON_AddStringToObject(o, "scope", buf) != NULL;
}

char *ta_jwt_introspection(const ta_jwt *t, const char *user_claim)
{
	const cJSON *c = t->claims;
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o != NULL && cJSON_AddTrueToObject(o, "active") && copy_claim(o, c, "sub", "sub") &&
	    copy_claim(o, c, user_claim, "username") && copy_claim(o, c, "iss", "iss") &&
	    copy_claim(o, c, "aud", "aud") && copy_claim(o, c, "exp", "exp") &&
	    copy_claim(o, c, "iat", "iat") && add_scope(o, c) &&
	    copy_claim(o, c, "client_id", "client_id") &&
	    cJSON_AddStringToObject(o, "token_type", "Bearer"))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}
