/* fuzz_config.c - the config file parser and the PAM word parser. */
#include "config.h"
#include "ta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ta_config *cfg = ta_config_new();
	char err[512], word[512];

	if (cfg == NULL)
		return 0;
	(void)ta_config_parse_text(cfg, (const char *)data, size, "fuzz", err, sizeof(err));
	/* the same bytes as one PAM word */
	if (size < sizeof(word) && memchr(data, 0, size) == NULL) {
		memcpy(word, data, size);
		word[size] = '\0';
		(void)ta_config_word(cfg, word, err, sizeof(err));
	}
	(void)ta_config_str(cfg, "verify");
	ta_config_free(cfg);
	return 0;
}
