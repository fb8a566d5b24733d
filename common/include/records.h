/*
 * records.h - the records the admin API hands out: an access token's row
 * (never its text or hash) and an OTP enrolment (its secret sealed).
 */
#ifndef TA_RECORDS_H
#define TA_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "otp.h"
#include "ta.h"
#include "token.h"

#define TA_OTP_SEALED_MAX (TA_OTP_MAX_SECRET + TA_GCM_NONCE_LEN + TA_GCM_TAG_LEN)

enum { TA_TOKEN_KIND_ISSUED = 1, TA_TOKEN_KIND_IMPORTED = 2 };

#define TA_MAX_LABEL    64   /* bytes of a token's label (UTF-8, no controls) */
#define TA_LAST_USED_STEP 3600 /* last_used is written at most once per token per this many s */

struct ta_token_row {
	char id[TA_TOKEN_ID_LEN + 1];
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	int kind;
	int64_t created, expires; /* expires 0: never */
	int64_t revoked;          /* 0: active, else when */
	char *params;             /* JSON object text or NULL; owned by the row */
	char label[TA_MAX_LABEL + 1]; /* "" when none (schema 4) */
	int64_t last_used;        /* coarse: within TA_LAST_USED_STEP; 0 never */
};

/* A portal session as the store keeps it: the id itself is never stored. */
struct ta_session_row {
	char user[TA_MAX_USER + 1];
	char tenant[TA_MAX_TENANT + 1];
	int64_t created, seen;
};

struct ta_otp_row {
	struct ta_otp_params p;
	uint64_t next;
	int64_t created;
	uint8_t sealed[TA_OTP_SEALED_MAX];
	size_t sealed_len;
};

#endif
