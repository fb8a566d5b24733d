/*
 * sasl_msg.h - the OAUTHBEARER (RFC 7628) and XOAUTH2 client messages,
 * parsed and built without any SASL library type (SPEC §6).
 *
 * OAUTHBEARER:  gs2-header %x01 *(key "=" value %x01) %x01
 *   gs2-header = ["F,"] ("n" / "y" / "p=" cb-name) "," ["a=" saslname] ","
 *   saslname escapes "," as "=2C" and "=" as "=3D" (RFC 5801).
 * XOAUTH2:      "user=" user %x01 "auth=Bearer " token %x01 %x01
 *
 * Keys are 1*ALPHA; values are VCHAR / SP / HTAB / CR / LF.  Known keys:
 * "auth" (required, "Bearer" 1*SP b64token per RFC 6750), "user",
 * "tenant", "host", "port".  Unknown keys are ignored; a known key given
 * twice is an error.  Every length comes from the caller: the input need
 * not be NUL-terminated and may contain NUL bytes (which are refused).
 */
#ifndef TA_SASL_MSG_H
#define TA_SASL_MSG_H

#include <stddef.h>

#include "ta.h"

#define TA_SASL_MAX_MSG   (TA_MAX_JWT + 1024) /* longest client message: a JWT and its fields */
#define TA_SASL_MAX_HOST  255
#define TA_SASL_MAX_SCOPE 255
#define TA_SASL_MAX_JSON  (TA_SASL_MAX_SCOPE + 128)

typedef enum { TA_SASL_OAUTHBEARER = 1, TA_SASL_XOAUTH2 = 2 } ta_sasl_mech;

/*
 * One client message.  Strings are NUL-terminated and free of control
 * characters, except token which is a b64token.  "" means absent.  The
 * struct holds the bearer token: wipe it with ta_sasl_msg_wipe().
 */
struct ta_sasl_msg {
	char authzid[TA_MAX_USER + 1]; /* GS2 a=, unescaped (OAUTHBEARER) */
	char user[TA_MAX_USER + 1];    /* user= key */
	char tenant[TA_MAX_TENANT + 1];
	int has_tenant; /* a tenant= key was sent (it may be empty) */
	char host[TA_SASL_MAX_HOST + 1];
	unsigned port; /* 0 = absent */
	char token[TA_MAX_JWT + 1]; /* ta_verify applies the credential grammar */
	size_t token_len;
};

/*
 * Parse the client's first message for mech from len bytes at in.
 * Returns TA_OK; TA_ERR_UNSUPPORTED when the client asks for channel
 * binding ("p="); TA_ERR_INPUT for anything else that does not follow the
 * grammar, exceeds TA_SASL_MAX_MSG or a field cap, or lacks "auth" (or
 * "user" for XOAUTH2).  On error *out is wiped.
 */
int ta_sasl_parse(ta_sasl_mech mech, const char *in, size_t len, struct ta_sasl_msg *out);

/*
 * Is this the client's answer to a failure challenge?  OAUTHBEARER
 * requires exactly %x01 (RFC 7628 §3.2.3); XOAUTH2 clients send an empty
 * line, %x01 or whatever their library sends, so any message of at most
 * TA_SASL_MAX_MSG bytes ends its error round.  Returns 1 or 0.
 */
int ta_sasl_is_ack(ta_sasl_mech mech, const char *in, size_t len);

/*
 * Build a client message from m (authzid, user, tenant when has_tenant,
 * host, port, token) into out[cap].  For OAUTHBEARER the GS2 header is
 * "n,a=<authzid>," (or "n,," without authzid) and "user" is sent only when
 * set; XOAUTH2 requires user.  Returns TA_OK and the length in *outlen, or
 * TA_ERR_INPUT for a value the grammar cannot carry or a message that does
 * not fit.  out holds the token: the caller wipes it.
 */
int ta_sasl_build(ta_sasl_mech mech, const struct ta_sasl_msg *m, char *out, size_t cap,
                  size_t *outlen);

/*
 * The server's failure challenge: a JSON object with "status"
 * ("invalid_token" or, when unavailable, "temporarily_unavailable" for
 * OAUTHBEARER; "401"/"503" with "schemes":"bearer" for XOAUTH2) and
 * "scope" when scope is non-NULL and non-empty.  scope must pass
 * ta_sasl_scope_ok().  Returns TA_OK or TA_ERR_INPUT.
 */
int ta_sasl_error_json(ta_sasl_mech mech, int unavailable, const char *scope, char *out, size_t cap,
                       size_t *outlen);

/*
 * Is s a valid OAuth scope (RFC 6749 §3.3: scope-tokens of %x21 / %x23-5B /
 * %x5D-7E separated by single spaces) of at most TA_SASL_MAX_SCOPE bytes?
 */
int ta_sasl_scope_ok(const char *s);

/* Wipe every field of m, the token included.  m may be NULL. */
void ta_sasl_msg_wipe(struct ta_sasl_msg *m);

#endif
