/* config_int.h - the config struct, for core files only. */
#ifndef TA_CONFIG_INT_H
#define TA_CONFIG_INT_H

#include "backend.h"
#include "config.h"

enum { TA_MODE_TOKEN = 0, TA_MODE_OTP = 1, TA_MODE_ANY = 2 };
enum { TA_PROFILE_CEC = 0, TA_PROFILE_INTROSPECTION = 1, TA_PROFILE_KUDO = 2 };

struct ta_config {
	char *store, *key_file, *tenant, *verify, *url, *unix_socket;
	char *ca_file, *ca_path, *client_cert, *client_key, *pinned_pubkey;
	char *api_key_file, *sign_key_file, *prompt, *config;
	char *listen, *socket_group, *tls_cert, *tls_key, *admin_api_key_file, *validate_path;
	unsigned long mode, profile;
	unsigned long connect_timeout_ms, timeout_ms, cache_ttl, offline_grace;
	unsigned long otp_window, otp_lookahead, max_failures, lockout, socket_mode, threads;
	unsigned long rate_limit;
	int tenant_from_user, nullok, try_first_pass, use_first_pass, debug, require_signature;
	int allow_plain_tcp, register_allow_unsigned;
	/* verify=, parsed once: the backends in order, and their flags ORed. */
	const struct ta_backend *backends[TA_BACKENDS_MAX];
	unsigned nbackends, backend_flags;
};

#endif
