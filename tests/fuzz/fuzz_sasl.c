/*
 * fuzz_sasl.c - the OAUTHBEARER / XOAUTH2 server message parser.
 *
 * The first byte picks the mechanism; the rest is the client message.  A
 * message that parses must build back into one that parses to the same
 * fields (round trip), and the error-round check must never crash.
 */
#include "sasl_msg.h"
#include "ta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(ta_sasl_mech mech, const struct ta_sasl_msg *m)
{
	static char out[TA_SASL_MAX_MSG];
	struct ta_sasl_msg again;
	size_t n;

	if (ta_sasl_build(mech, m, out, sizeof(out), &n) != TA_OK)
		return; /* e.g. an authzid equal to the user is not rebuilt the same */
	if (ta_sasl_parse(mech, out, n, &again) != TA_OK)
		abort();
	if (strcmp(again.authzid, m->authzid) != 0 || strcmp(again.user, m->user) != 0 ||
	    again.has_tenant != m->has_tenant || strcmp(again.tenant, m->tenant) != 0 ||
	    again.token_len != m->token_len || memcmp(again.token, m->token, m->token_len) != 0)
		abort();
	ta_sasl_msg_wipe(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ta_sasl_msg m;
	ta_sasl_mech mech;
	char json[TA_SASL_MAX_JSON];
	size_t n;

	if (size < 1)
		return 0;
	mech = (data[0] & 1) ? TA_SASL_XOAUTH2 : TA_SASL_OAUTHBEARER;
	/* A heap copy of exactly the message, so ASan sees any over-read. */
	char *msg = malloc(size - 1 ? size - 1 : 1);

	if (msg == NULL)
		return 0;
	memcpy(msg, data + 1, size - 1);
	if (ta_sasl_parse(mech, msg, size - 1, &m) == TA_OK) {
		if (m.token_len == 0 || m.token_len > TA_MAX_JWT)
			abort();
		round_trip(mech, &m);
		ta_sasl_msg_wipe(&m);
	}
	(void)ta_sasl_is_ack(mech, msg, size - 1);
	if (size - 1 <= TA_SASL_MAX_SCOPE && memchr(msg, 0, size - 1) == NULL) {
		char scope[TA_SASL_MAX_SCOPE + 1];

		memcpy(scope, msg, size - 1);
		scope[size - 1] = '\0';
		if (ta_sasl_scope_ok(scope) &&
		    ta_sasl_error_json(mech, data[0] & 2, scope, json, sizeof(json), &n) != TA_OK)
			abort();
	}
	free(msg);
	return 0;
}
