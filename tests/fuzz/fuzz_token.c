/* fuzz_token.c - token classification, checksum and hashing; durations. */
#include "config.h"
#include "ta.h"
#include "token.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hash[TA_SHA256_LEN];
	char buf[64];
	unsigned long long v;

	(void)ta_token_classify((const char *)data, size);
	if (size <= TA_MAX_CREDENTIAL)
		(void)ta_token_hash((const char *)data, size, hash);
	if (size < sizeof(buf) && memchr(data, 0, size) == NULL) {
		memcpy(buf, data, size);
		buf[size] = '\0';
		(void)ta_parse_duration(buf, 100ULL * 365 * 86400, &v);
	}
	return 0;
}
