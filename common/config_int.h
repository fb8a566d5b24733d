/* config_int.h - the config struct, for core files only. */
#ifndef TA_CONFIG_INT_H
#define TA_CONFIG_INT_H

#include "backend.h"
#include "config.h"

enum { TA_MODE_TOKEN = 0, TA_MODE_OTP = 1, TA_MODE_ANY = 2 };
enum { TA_PROFILE_CEC = 0, TA_PROFILE_INTROSPECTION = 1, TA_PROFILE_KUDO = 2 };

struct ta_config {
	char *store, *store_dsn_file, *key_file, *tenant, *verify, *url, *unix_socket;
	char *ca_file, *ca_path, *client_cert, *client_key, *pinned_pubkey;
	char *api_key_file, *sign_key_file, *prompt, *config;
	char *listen, *socket_group, *tls_cert, *tls_key, *admin_api_key_file, *validate_path;
	unsigned long mode, profile;
	unsigned long connect_timeout_ms, timeout_ms, cache_ttl, offline_grace;
	unsigned long otp_window, otp_lookahead, max_failures, lockout, socket_mode, threads;
	unsigned long rate_limit;
	/* the jwt backend */
	char *jwt_issuer, *jwt_audience, *jwks_file, *jwks_url, *jwt_algorithms;
	char *jwt_hs256_key_file, *jwt_user_claim, *jwt_tenant_claim, *jwt_required_scope, *jwt_typ;
	unsigned long jwt_leeway, jwks_refresh, jwks_min_refresh, jwks_max_age;
	int tenant_from_user, nullok, try_first_pass, use_first_pass, debug, require_signature;
	int allow_plain_tcp, register_allow_unsigned;
	/* the self-service portal (tokenauthd, /my/) */
	char *portal_pam_service, *portal_trusted_header, *portal_trusted_proxies;
	unsigned long portal_session_idle, portal_session_max, portal_max_tokens, portal_max_ttl;
	int portal;
	/* verify=, parsed once: the backends in order, and their flags ORed. */
	const struct ta_backend *backends[TA_BACKENDS_MAX];
	unsigned nbackends, backend_flags;
};

/* store = postgresql: selects the PostgreSQL engine, whose DSN is in store_dsn_file */
#define TA_STORE_PG       "postgresql:"
#define TA_STORE_NAME_MAX 4200

/*
 * The name the store engines open (store.c's engine_for): the store path,
 * or for store = postgresql: "postgresql:<store_dsn_file>" composed in buf
 * ("postgresql:" alone when no DSN file is set: opening it says so).
 */
const char *ta_config_store_name(const ta_config *cfg, char *buf, size_t len);

/*
 * The folder of the host's own state files (remote result cache, JWKS
 * cache): the store's folder, or a PostgreSQL store's DSN file's, into dir.
 */
const char *ta_config_state_dir(const ta_config *cfg, char *dir, size_t cap);

#endif
