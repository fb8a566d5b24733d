/* fuzz_oath.c - pam_oath users-file lines and base32 secrets (otpauth / --secret-stdin). */
#include "admin.h"
#include "oath.h"
#include "crypto.h"
#include "ta.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ta_oath_entry e;
	char line[2048], why[256];
	uint8_t out[TA_OTP_MAX_SECRET];

	(void)ta_base32_decode((const char *)data, size, out, sizeof(out));
	(void)ta_unhex((const char *)data, size, out, sizeof(out));
	if (size < sizeof(line)) {
		memcpy(line, data, size);
		line[size] = '\0';
		(void)ta_oath_parse_line(line, &e, why, sizeof(why));
	}
	return 0;
}
