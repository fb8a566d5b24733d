/*
 * token.h - access token format (SPEC §2).
 *
 * An issued token is "tka_" + 43 base62 characters carrying 256 bits from
 * the OS CSPRNG + 6 base62 characters of CRC-32 over everything before it:
 * 53 characters, easy for secret scanners to find, and a typo is rejected
 * without touching the store.  Tokens are stored only as a domain-separated
 * SHA-256 hash; the printable token exists only at issue time.
 */
#ifndef TA_TOKEN_H
#define TA_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define TA_TOKEN_LEN      53 /* strlen of an issued token */
#define TA_TOKEN_ID_LEN   12 /* hex characters of a token id */
#define TA_IMPORT_MIN_LEN 16 /* shortest imported token accepted */

typedef enum {
	TA_TOKEN_ISSUED = 0, /* our format with a valid checksum */
	TA_TOKEN_TYPO = 1,   /* our prefix, but wrong length, alphabet or checksum */
	TA_TOKEN_OPAQUE = 2, /* anything else: possibly an imported token */
} ta_token_class;

/* Generate a token into out[TA_TOKEN_LEN + 1].  Wipe it after use. */
int ta_token_generate(char out[TA_TOKEN_LEN + 1]);

/* Classify a candidate credential of len bytes (not NUL-terminated). */
ta_token_class ta_token_classify(const char *cred, size_t len);

/* Storage hash of a credential (issued or imported). */
int ta_token_hash(const char *cred, size_t len, uint8_t out[TA_SHA256_LEN]);

/* A fresh random public token id: TA_TOKEN_ID_LEN hex chars + NUL. */
int ta_token_new_id(char out[TA_TOKEN_ID_LEN + 1]);

#endif
