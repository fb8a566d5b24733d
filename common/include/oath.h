/*
 * oath.h - reading pam_oath's users file (oath-toolkit "UsersFile") and
 * importing it into the store.
 */
#ifndef TA_OATH_H
#define TA_OATH_H

#include <stddef.h>
#include <stdint.h>

#include "otp.h"
#include "verify.h"

/* One line of a pam_oath users file (oath-toolkit "UsersFile" format). */
struct ta_oath_entry {
	struct ta_otp_params p;
	char user[TA_MAX_USER + 1];
	uint8_t secret[TA_OTP_MAX_SECRET];
	size_t secret_len;
	int has_counter, has_last, has_time;
	uint64_t counter;
	char last_otp[16];
	int64_t time; /* of the last accepted code, Unix seconds */
};

/*
 * Parse one line.  Returns TA_OK with e filled, 1 for a blank or comment
 * line, or TA_ERR_INPUT with the reason in why.
 */
int ta_oath_parse_line(const char *line, struct ta_oath_entry *e, char *why, size_t whylen);

/*
 * Import a pam_oath users file into tenant.  Every line it cannot take is
 * passed to report(arg, lineno, reason); the others are imported in one
 * transaction.  *imported and *skipped count lines.
 */
int ta_oath_import(ta_ctx *ctx, const char *path, const char *tenant,
                   void (*report)(void *arg, unsigned lineno, const char *reason), void *arg,
                   unsigned *imported, unsigned *skipped);

#endif
