/*
 * remote_parse.h - building requests for and judging responses from a
 * remote verify endpoint (SPEC §5), with no I/O so it can be fuzzed.
 */
#ifndef TA_REMOTE_PARSE_H
#define TA_REMOTE_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define TA_REMOTE_MAX_BODY (64 * 1024) /* larger responses: endpoint unavailable */

/*
 * The body to send for the profile (cec: JSON; introspection: form;
 * kudo: none -> empty string).  Returns a malloc'd string the caller wipes
 * and frees, or NULL on allocation failure.
 */
char *ta_remote_body(unsigned long profile, const char *user, const char *tenant, const char *cred,
                     size_t credlen);

/*
 * Judge one HTTP response; body[len] must be a NUL.  Returns TA_OK (valid), TA_ERR_REJECTED or
 * TA_ERR_TENANT (the endpoint answered "no"), or TA_ERR_UNAVAILABLE
 * (anything else: try the next endpoint).  *why gets a short static
 * reason for logs; *expires the token's expiry when the response carries
 * one (0 otherwise).
 */
int ta_remote_judge(unsigned long profile, long status, const char *body, size_t len,
                    const char *user, const char *tenant, int64_t *expires, const char **why);

#endif
