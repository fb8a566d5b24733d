/* helpers.h - shared fixtures for the unit tests. */
#ifndef TA_TEST_HELPERS_H
#define TA_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "config.h"
#include "crypto.h"
#include "ta.h"
#include "verify.h"

struct env {
	char dir[64];
	char store[128];
	char key[128];
	ta_config *cfg;
	ta_ctx *ctx;
	char lastlog[1024];
	int logs;
};

static void capture_log(void *arg, int level, const char *msg)
{
	struct env *e = arg;
	(void)level;
	snprintf(e->lastlog, sizeof(e->lastlog), "%s", msg);
	e->logs++;
}

/* A fresh folder with a config pointing into it; store/key not created. */
static inline struct env *env_new(void)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/ta-unit-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->store, sizeof(e->store), "%s/db/tokenauth.db", e->dir);
	snprintf(e->key, sizeof(e->key), "%s/master.key", e->dir);
	e->cfg = ta_config_new();
	assert_non_null(e->cfg);
	assert_int_equal(ta_config_set(e->cfg, "store", e->store, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_config_set(e->cfg, "key_file", e->key, err, sizeof(err)), TA_OK);
	assert_int_equal(ta_ctx_new(e->cfg, capture_log, e, &e->ctx), TA_OK);
	return e;
}

/* env_new plus `tokenauth init`. */
static inline struct env *env_init(void)
{
	struct env *e = env_new();
	unsigned created = 0;

	assert_int_equal(ta_admin_init(e->ctx, &created), TA_OK);
	assert_int_equal(created, 3);
	return e;
}

/* Re-create the context (after a config change). */
static inline void env_reopen(struct env *e)
{
	ta_ctx_free(e->ctx);
	assert_int_equal(ta_ctx_new(e->cfg, capture_log, e, &e->ctx), TA_OK);
}

static inline void env_free(struct env *e)
{
	char cmd[160];

	if (e == NULL)
		return;
	ta_ctx_free(e->ctx);
	ta_config_free(e->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", e->dir);
	free(e);
}

static inline int check(struct env *e, const char *user, const char *tenant, const char *cred)
{
	struct ta_request req = {user, tenant, cred, strlen(cred), "unit", "127.0.0.1", 0};
	return ta_verify(e->ctx, &req, NULL);
}

static inline void set(struct env *e, const char *k, const char *v)
{
	char err[256];
	assert_int_equal(ta_config_set(e->cfg, k, v, err, sizeof(err)), TA_OK);
}

#endif
