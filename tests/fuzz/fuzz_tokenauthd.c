/*
 * fuzz_tokenauthd.c - the verify service's request parsers (common/http_req.c):
 * seed 000 validate, /generate, seed 002 registration and RFC 7662 form
 * bodies, the registration path and Content-Type matching, plus building
 * an error answer.  The first byte picks the parser; the rest is the input.
 */
#include "crypto.h"
#include "http_req.h"
#include "ta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void text_inputs(const char *s, size_t n)
{
	char *z = malloc(n + 1), admin[TA_MAX_USER + 1];

	if (z == NULL)
		return;
	memcpy(z, s, n);
	z[n] = '\0';
	(void)ta_http_path_admin(z, admin);
	(void)ta_http_media_is(z, "application/json");
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1, *why = NULL;
	size_t n = size ? size - 1 : 0;
	struct ta_http_triple t;
	struct ta_http_generate g;
	struct ta_http_register r;
	struct ta_http_answer a;
	char *tok = NULL;
	size_t tlen = 0;

	if (size == 0 || n > TA_HTTP_MAX_BODY)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (ta_http_parse_validate(s, n, &t, &why) == TA_OK)
			ta_http_triple_clear(&t);
		break;
	case 1:
		if (ta_http_parse_generate(s, n, &g, &why) == TA_OK)
			ta_http_generate_clear(&g);
		break;
	case 2: (void)ta_http_parse_register(s, n, &r, &why); break;
	case 3:
		if (ta_http_parse_form_token(s, n, &tok, &tlen, &why) == TA_OK) {
			ta_wipe(tok, tlen);
			free(tok);
		}
		break;
	default:
		text_inputs(s, n);
		memset(&a, 0, sizeof(a));
		(void)ta_http_error(&a, (int)data[0] * 100, (enum ta_http_style)(data[0] % 4), "x");
		ta_http_answer_clear(&a);
		break;
	}
	return 0;
}
