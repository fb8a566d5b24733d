/*
 * otp.h - HOTP (RFC 4226) and TOTP (RFC 6238), pure functions.
 *
 * Replay state is one number per user: for HOTP the next counter that may
 * be accepted, for TOTP the next time step that may be accepted (one past
 * the last accepted).  Both only move forward.
 */
#ifndef TA_OTP_H
#define TA_OTP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define TA_OTP_MAX_SECRET 64 /* bytes */
/* Largest HOTP counter or TOTP step a new secret may start at: far beyond
 * any real counter, and far enough below INT64_MAX that advancing it can
 * never wrap in the store's signed 64-bit column. */
#define TA_OTP_COUNTER_MAX (UINT64_C(1) << 62)
#define TA_OTP_MIN_SECRET                                                                          \
	10 /* bytes (80 bits), as RFC 4226 §4 R6 asks at least 128 but tolerates 80 */

typedef enum { TA_OTP_HOTP = 1, TA_OTP_TOTP = 2 } ta_otp_type;

struct ta_otp_params {
	ta_otp_type type;
	ta_hash_alg alg;
	unsigned digits; /* 6..8 */
	unsigned period; /* TOTP seconds, >= 1 */
};

/* The code for one counter value, as a number below 10^digits. */
int ta_otp_code(const uint8_t *secret, size_t secret_len, ta_hash_alg alg, unsigned digits,
                uint64_t counter, uint32_t *code);

/*
 * Check a code.  For HOTP, counters next-1 .. next+lookahead are tried; for
 * TOTP, time steps now/period - window .. + window, never below next.
 * On success sets *new_next to one past the matched counter/step and
 * returns TA_OK.  A code that matches a step below next returns
 * TA_ERR_REPLAY; no match, TA_ERR_REJECTED.  code must be exactly digits
 * decimal digits (TA_ERR_REJECTED otherwise).  Runs in time independent of
 * which counter matched.
 */
int ta_otp_check(const struct ta_otp_params *p, const uint8_t *secret, size_t secret_len,
                 const char *code, size_t code_len, uint64_t next, int64_t now, unsigned window,
                 unsigned lookahead, uint64_t *new_next);

/* "SHA1"/"SHA256"/"SHA512" (any case) to an alg; 0 if unknown. */
ta_hash_alg ta_otp_alg_parse(const char *s);
const char *ta_otp_alg_name(ta_hash_alg alg);

/*
 * Build an otpauth:// Key URI into out (percent-encoding label parts).
 * Returns TA_ERR_INPUT if it does not fit.
 */
int ta_otp_uri(const struct ta_otp_params *p, const uint8_t *secret, size_t secret_len,
               const char *issuer, const char *account, uint64_t counter, char *out, size_t cap);

#endif
