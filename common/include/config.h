/*
 * config.h - the one configuration grammar (SPEC §3).
 *
 * The same setter serves the config file ("key = value" lines), PAM words
 * ("key=value" or a lone flag), SASL options ("tokenauth_<key>") and the CLI.
 * Every error message names the key, and for files the path and line.
 */
#ifndef TA_CONFIG_H
#define TA_CONFIG_H

#include <stddef.h>

typedef struct ta_config ta_config;

#define TA_DEFAULT_CONFIG  "/etc/tokenauth/tokenauth.conf"
#define TA_DEFAULT_STORE   "/var/lib/tokenauth/tokenauth.db"
#define TA_DEFAULT_KEY     "/etc/tokenauth/master.key"
#define TA_CONFIG_MAX_FILE (256 * 1024)

/* A new config holding every default.  Returns NULL on allocation failure. */
ta_config *ta_config_new(void);

/* Frees cfg; NULL is fine. */
void ta_config_free(ta_config *cfg);

/*
 * Set one option.  value NULL means a lone flag word and is accepted only
 * for yes/no keys.  On error returns TA_ERR_CONFIG and writes a message
 * naming the key into err.
 */
int ta_config_set(ta_config *cfg, const char *key, const char *value, char *err, size_t errlen);

/*
 * Apply one PAM-style word: "key=value" or "flag".  Same errors as
 * ta_config_set.
 */
int ta_config_word(ta_config *cfg, const char *word, char *err, size_t errlen);

/*
 * Read a config file.  The file must be a regular file, not a symlink, not
 * writable by group or others, owned by root or the caller.  When missing_ok
 * and the file does not exist, returns TA_OK without changes.  Messages read
 * "PATH:LINE: ...".
 */
int ta_config_load(ta_config *cfg, const char *path, int missing_ok, char *err, size_t errlen);

/*
 * Parse config text of len bytes (need not be NUL-terminated).  name is
 * used in messages ("NAME:LINE: ...").  Lines are capped at 4 KiB.
 */
int ta_config_parse_text(ta_config *cfg, const char *text, size_t len, const char *name, char *err,
                         size_t errlen);

/*
 * Build a config the way a PAM line does: defaults, then the file named by
 * a "config=" word (or the default file, which may be absent), then every
 * word in order.  *out is owned by the caller.
 */
int ta_config_from_words(int argc, const char **argv, ta_config **out, char *err, size_t errlen);

/*
 * The i-th known key name, or NULL past the last: lets a host that looks
 * options up one by one (SASL's getopt) ask for every key.
 */
const char *ta_config_key(size_t i);

/* Getters by key name.  Unknown names return NULL / 0. */
const char *ta_config_str(const ta_config *cfg, const char *key);
unsigned long ta_config_uint(const ta_config *cfg, const char *key);
int ta_config_flag(const ta_config *cfg, const char *key);

/*
 * Parse a duration: a whole number with an optional unit s, m, h, d or w
 * ("90", "30m", "8h", "7d").  Returns TA_OK or TA_ERR_INPUT.
 */
int ta_parse_duration(const char *s, unsigned long long max, unsigned long long *out);

/* Parse an unsigned decimal number in [min, max]. */
int ta_parse_uint(const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *out);

#endif
