/*
 * jwt.h - JSON Web Tokens as OIDC access tokens (RFC 7519, 7515, 8725), the
 * pure part of the jwt backend: no I/O, no clock, so it can be unit-tested
 * and fuzzed.  For core files, tests and fuzzers only.
 *
 * Header and payload are parsed strictly with cJSON (duplicate keys at
 * any depth, NUL bytes raw or escaped, trailing bytes and non-canonical
 * base64url are refused) before cjose sees the token, so the two parsers
 * cannot read different values.  RSA and EC signatures are checked by
 * cjose (cjose_jwk_import, cjose_jws_import, cjose_jws_verify); EdDSA by
 * OpenSSL (cjose 0.6.2 has no OKP keys); HS256 by our HMAC with the one
 * shared key the administrator configured.
 */
#ifndef TA_JWT_H
#define TA_JWT_H

#include <stddef.h>
#include <stdint.h>

#define TA_JWKS_MAX_KEYS 64
#define TA_JWT_MAX_KID   256
#define TA_JWKS_MAX_TEXT (64 * 1024)

typedef struct ta_jwt ta_jwt;
typedef struct ta_jwks ta_jwks;

/*
 * The compact-JWS shape: three base64url segments joined by two dots, the
 * first two non-empty (the third may be empty, so that "alg: none" is
 * refused by name).  1 or 0.
 */
int ta_jws_shape(const char *s, size_t n);

/*
 * Parse a compact JWS of n bytes.  Refuses alg none (any case), crit, and
 * keys in the header (jwk, jku, x5c, x5u).  TA_OK and *out (free with
 * ta_jwt_free), or TA_ERR_REJECTED with a short static reason in *why.
 */
int ta_jwt_parse(const char *tok, size_t n, ta_jwt **out, const char **why);
void ta_jwt_free(ta_jwt *t);
const char *ta_jwt_alg(const ta_jwt *t);
const char *ta_jwt_kid(const ta_jwt *t); /* NULL when absent */
/* The payload as a cJSON object, owned by t. */
const void *ta_jwt_claims(const ta_jwt *t);

/*
 * Parse a JWKS ({"keys": [...]}, strictly).  Keys this build cannot use
 * (oct, enc, unknown kty or curve, private parts) are skipped; a set with
 * no usable key is an error.  TA_OK and *out, or TA_ERR_CORRUPT and *why.
 */
int ta_jwks_parse(const char *text, size_t n, ta_jwks **out, const char **why);
void ta_jwks_free(ta_jwks *k);
size_t ta_jwks_count(const ta_jwks *k);

/*
 * Is alg in the comma-separated allow-list?  HS256 only with a shared key.
 */
int ta_jwt_alg_allowed(const char *list, const char *alg);

/*
 * Check t's signature with a key of sets[0..nsets) chosen by kid and
 * compatible with alg (HS256: with hs_key only).  TA_OK; TA_ERR_NOT_FOUND
 * when no key of the sets has the token's kid (the caller may refetch);
 * TA_ERR_REJECTED otherwise, with *why.
 */
int ta_jwt_verify_sig(const ta_jwt *t, const ta_jwks *const *sets, size_t nsets,
                      const uint8_t *hs_key, size_t hs_len, const char **why);

struct ta_jwt_rules {
	const char *issuer, *audience, *user_claim, *tenant_claim, *scope, *typ;
	int64_t leeway;
};

/*
 * Check the claims at now.  user NULL: the user and tenant claims are not
 * compared (introspection).  TA_OK and *exp; TA_ERR_EXPIRED; TA_ERR_TENANT
 * (another user or tenant); TA_ERR_REJECTED.  *why names the claim.
 */
int ta_jwt_check_claims(const ta_jwt *t, const struct ta_jwt_rules *rules, const char *user,
                        const char *tenant, int64_t now, int64_t *exp, const char **why);

/*
 * The RFC 7662 answer for an accepted token: active, sub, username, iss,
 * aud, exp, iat, scope, client_id (when the claims carry them).  A
 * malloc'd JSON string, or NULL.
 */
char *ta_jwt_introspection(const ta_jwt *t, const char *user_claim);

#endif
