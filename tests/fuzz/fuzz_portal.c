/* fuzz_portal.c - libFuzzer over the portal's request parsing: the form
 * parser, the cookie parser, the CSRF check and the HTML encoder, on one
 * input split at its first NUL into a body and a Cookie header. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fields[] = {"user", "password", "code", "pending", "csrf",
	                                     "label", "days", "scope", "id", "secret"};
	char *in = malloc(size + 1), out[2048], cookie[128], *page;
	const char *hdr;
	struct td_buf b;
	size_t blen;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	blen = strlen(in);
	hdr = blen < size ? in + blen + 1 : "";
	td_buf_init(&b, TD_PAGE_MAX);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		long n = td_form_get(in, blen, fields[i], out, sizeof(out));
		if (n >= 0) {
			if ((size_t)n != strlen(out) && memchr(out, 0, (size_t)n) == NULL)
				abort();
			td_buf_text(&b, out);
		}
	}
	if (td_cookie_get(hdr, "__Host-tokenauth", cookie, sizeof(cookie)) >= 0)
		(void)td_csrf_ok(cookie, in);
	page = td_buf_take(&b);
	/* the encoder's output never holds markup characters */
	if (page != NULL && strpbrk(page, "<>\"'") != NULL)
		abort();
	free(page);
	free(in);
	return 0;
}
