/* fuzz_remote.c - the remote verify response parsers, every profile and status. */
#include "config_int.h"
#include "remote_parse.h"
#include "ta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;
	const char *why;
	int64_t exp;

	if (size < 1)
		return 0;
	/* the first byte picks profile and status; the rest is the body */
	unsigned long profile = data[0] % 3;
	long status = (data[0] & 0x80) ? 403 : 200;
	if ((body = malloc(size)) == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	(void)ta_remote_judge(profile, status, body, size - 1, "alice", "acme", &exp, &why);
	free(body);
	return 0;
}
