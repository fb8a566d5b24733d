/*
 * fuzz_tokenauthd.c - the verify service's request parsers
 * (tokenauthd/td_parse.c): seed 000 validate, /generate, seed 002
 * registration and RFC 7662 form bodies, the registration path and
 * Content-Type matching, plus building an error answer (tokenauthd/td_api.c).
 * The first byte picks the parser; the rest is the input.
 * Built by tokenauthd/tokenauthd.mk; corpus: tests/fuzz/corpus/fuzz_tokenauthd.
 */
#include "crypto.h"
#include "ta.h"
#include "td_api.h"
#include "td_parse.h"

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
	(void)td_parse_path_admin(z, admin);
	(void)td_media_is(z, "application/json");
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1, *why = NULL;
	size_t n = size ? size - 1 : 0;
	struct td_triple t;
	struct td_generate g;
	struct td_register r;
	struct td_answer a;
	char *tok = NULL;
	size_t tlen = 0;

	if (size == 0 || n > TD_MAX_BODY)
		return 0;
	switch (data[0] % 5) {
	case 0:
		if (td_parse_validate(s, n, &t, &why) == TD_OK)
			td_triple_clear(&t);
		break;
	case 1:
		if (td_parse_generate(s, n, &g, &why) == TD_OK)
			td_generate_clear(&g);
		break;
	case 2:
		(void)td_parse_register(s, n, &r, &why);
		ta_wipe(&r, sizeof(r));
		break;
	case 3:
		if (td_parse_form_token(s, n, &tok, &tlen, &why) == TD_OK) {
			ta_wipe(tok, tlen);
			free(tok);
		}
		break;
	default:
		text_inputs(s, n);
		memset(&a, 0, sizeof(a));
		(void)td_answer_error(&a, (enum td_code)(data[0] * 100),
		                      (enum td_style)(data[0] % 4), "x");
		td_answer_clear(&a);
		break;
	}
	return 0;
}
