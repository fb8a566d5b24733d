/*
 * store.c - the engine-independent store: choosing the engine, argument
 * checks, transactions, the list loops and the pool of open handles.
 * The engines (store_sqlite.c) hold the queries; see store_int.h.
 */
#include "store_int.h"
#include "verify.h" /* ta_getpid */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL_MAX 8 /* idle handles a process keeps */

/*
 * The engine for a store name: "postgresql:<dsn file>" is PostgreSQL
 * (the core composes it from store = postgresql: and store_dsn_file), a
 * path is SQLite.
 */
static const struct ta_store_ops *engine_for(const char *path)
{
	if (strncmp(path, "postgresql:", 11) == 0)
		return &ta_store_postgresql;
	return &ta_store_sqlite;
}

/* The file a store name stands on: the SQLite file or the DSN file. */
static const char *file_of(const char *path)
{
	return engine_for(path) == &ta_store_postgresql ? path + 11 : path;
}

/* ---- argument checks ------------------------------------------------------ */

static int name_ok(const char *s, size_t max)
{
	return s != NULL && strnlen(s, max + 1) <= max;
}

/* user required; tenant required unless any_tenant (NULL: every tenant). */
static int names_ok(const char *user, const char *tenant, int any_tenant)
{
	return name_ok(user, TA_MAX_USER) &&
	       (tenant == NULL ? any_tenant : name_ok(tenant, TA_MAX_TENANT));
}

/* ---- opening and closing -------------------------------------------------- */

int ta_store_open(const char *path, int create, ta_store **out, char *err, size_t errlen)
{
	const struct ta_store_ops *ops;
	ta_store *st = NULL;
	int r;

	if (out == NULL)
		return TA_ERR_INPUT;
	*out = NULL;
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "no store named");
		return TA_ERR_INPUT;
	}
	ops = engine_for(path);
	if ((r = ops->open(path, create, &st, err, errlen)) != TA_OK)
		return r;
	st->ops = ops;
	st->pid = ta_getpid();
	st->throttle_cap = TA_THROTTLE_MAX;
	if ((st->path = strdup(path)) == NULL) {
		ops->close(st);
		return TA_ERR_NOMEM;
	}
	*out = st;
	return TA_OK;
}

void ta_store_close(ta_store *st)
{
	if (st == NULL)
		return;
	ta_store_rollback(st);
	free(st->path);
	st->path = NULL;
	st->ops->close(st);
}

int ta_store_schema(ta_store *st)
{
	return st != NULL ? st->schema : 0;
}

const char *ta_store_errmsg(ta_store *st)
{
	return st != NULL ? st->ops->errmsg(st) : "no store";
}

/* ---- the pool --------------------------------------------------------------- */

/*
 * Idle handles, most recently released first.  A handle is in the pool or
 * with exactly one caller, never both.  The lock guards only list moves;
 * every check and every close runs outside it.  pool.pid is the process
 * the list belongs to: a forked child finds it different, and moves the
 * parent's handles to orphans without touching them (closing a copy of a
 * parent's SQLite connection in a child is unsafe).  Orphans stay
 * reachable so leak checkers do not report them.
 */
static struct {
	pthread_mutex_t lock;
	ta_store *head, *orphans;
	unsigned len;
	pid_t pid;
} pool = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0};

static void orphan(ta_store *st)
{
	st->next = pool.orphans;
	pool.orphans = st;
}

/* With pool.lock held: forget a parent's pool in a forked child. */
static void pool_claim(pid_t me)
{
	ta_store *st;

	if (pool.pid == me)
		return;
	while ((st = pool.head) != NULL) {
		pool.head = st->next;
		orphan(st);
	}
	pool.len = 0;
	pool.pid = me;
}

static void close_list(ta_store *st)
{
	while (st != NULL) {
		ta_store *next = st->next;
		ta_store_close(st);
		st = next;
	}
}

static int same_id(const ta_store *st, const struct ta_store_id *id)
{
	return st->id.dev == id->dev && st->id.ino == id->ino;
}

/*
 * Take the idle handle for path naming id.  Handles for path that name
 * another file now (it was replaced) are never reused: they are closed.
 */
static ta_store *pool_take(const char *path, const struct ta_store_id *id)
{
	ta_store *found = NULL, *stale = NULL, **pp = &pool.head;

	pthread_mutex_lock(&pool.lock);
	pool_claim(ta_getpid());
	while (*pp != NULL) {
		ta_store *st = *pp;
		if (strcmp(st->path, path) != 0 || (found != NULL && same_id(st, id))) {
			pp = &st->next;
			continue;
		}
		*pp = st->next; /* unlink: ours, or stale */
		pool.len--;
		if (found == NULL && same_id(st, id)) {
			found = st;
			found->next = NULL;
		} else {
			st->next = stale;
			stale = st;
		}
	}
	pthread_mutex_unlock(&pool.lock);
	close_list(stale);
	return found;
}

int ta_store_file_id(const char *file, struct ta_store_id *id, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(file, &sb) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot stat: %s", file, strerror(e));
		return e == ENOENT ? TA_ERR_NOT_FOUND : TA_ERR_UNAVAILABLE;
	}
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	id->seen = sb;
	return TA_OK;
}

void ta_store_old_schema(int version, char *err, size_t errlen)
{
	snprintf(err, errlen,
	         "store schema %d is older than this program's (%d), and migrating it would write "
	         "it: migrate it first (tokenauth init with this store) once no older version of "
	         "tokenauth uses it",
	         version, TA_STORE_SCHEMA);
}

int ta_store_open_shared(const char *path, ta_store **out, char *err, size_t errlen)
{
	struct ta_store_id id;
	ta_store *st = NULL;

	if (out == NULL || path == NULL || *path == '\0')
		return ta_store_open(path, 0, out, err, errlen);
	*out = NULL;
	memset(&id, 0, sizeof(id));
	if (engine_for(path)->identify(path, &id, err, errlen) == TA_OK &&
	    (st = pool_take(path, &id)) != NULL) {
		st->reuses++;
		if (st->ops->recheck(st, path, &id, err, errlen) == TA_OK) {
			*out = st;
			return TA_OK;
		}
		ta_store_close(st);
	}
	/* Not pooled, or no longer fit: a fresh open decides (and words the error). */
	return ta_store_open(path, 0, out, err, errlen);
}

void ta_store_release(ta_store *st)
{
	ta_store *victim = NULL, **pp;
	pid_t me = ta_getpid();

	if (st == NULL)
		return;
	pthread_mutex_lock(&pool.lock);
	pool_claim(me);
	if (st->pid != me) { /* the parent's: never used, never closed here */
		orphan(st);
		st = NULL;
	}
	pthread_mutex_unlock(&pool.lock);
	if (st == NULL)
		return;
	ta_store_rollback(st);
	st->throttle_cap = TA_THROTTLE_MAX;
	if (st->ops->idle(st) != TA_OK) {
		ta_store_close(st);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	st->next = pool.head;
	pool.head = st;
	if (++pool.len > POOL_MAX) { /* give up the least recently released */
		for (pp = &pool.head; (*pp)->next != NULL; pp = &(*pp)->next)
			;
		victim = *pp;
		*pp = NULL;
		pool.len--;
	}
	pthread_mutex_unlock(&pool.lock);
	ta_store_close(victim);
}

/*
 * When the core is unloaded (a SASL host's sasl_done unloads the plugin)
 * or the process exits, close the idle handles this process opened: else
 * each load and unload would leak SQLite connections and descriptors.  A
 * parent's handles (orphans, after fork) are never touched.
 */
__attribute__((destructor)) static void pool_drain(void)
{
	ta_store *list = NULL;

	pthread_mutex_lock(&pool.lock);
	if (pool.pid == getpid()) { /* at exit: the system call, whatever the page says */
		list = pool.head;
		pool.head = NULL;
		pool.len = 0;
	}
	pthread_mutex_unlock(&pool.lock);
	close_list(list);
}

/* ---- transactions ----------------------------------------------------------- */

/* Begin with the engine's begin or begin_read; store.c keeps the flag. */
static int begin_with(ta_store *st, int read_only)
{
	int r;

	if (st == NULL)
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st);
	if ((r = read_only ? st->ops->begin_read(st) : st->ops->begin(st)) == TA_OK)
		st->in_txn = 1;
	return r;
}

int ta_store_begin(ta_store *st)
{
	return begin_with(st, 0);
}

int ta_store_begin_user(ta_store *st, const char *user, const char *tenant)
{
	int r;

	if (st == NULL || !names_ok(user, tenant, 0))
		return TA_ERR_INPUT;
	if (st->in_snapshot && st->ops->upgrade != NULL && st->ops->upgrade(st) == TA_OK) {
		st->in_snapshot = 0; /* the snapshot is the transaction now */
		st->in_txn = 1;
		return TA_OK;
	}
	ta_store_snapshot_end(st);
	if ((r = st->ops->begin_user(st, user, tenant)) == TA_OK)
		st->in_txn = 1;
	return r;
}

int ta_store_begin_read(ta_store *st)
{
	return begin_with(st, 1);
}

int ta_store_snapshot(ta_store *st)
{
	int r;

	if (st == NULL)
		return TA_ERR_INPUT;
	if (st->in_txn || st->in_snapshot || st->ops->snapshot == NULL)
		return TA_OK;
	if ((r = st->ops->snapshot(st)) == TA_OK)
		st->in_snapshot = 1;
	return r;
}

void ta_store_snapshot_end(ta_store *st)
{
	if (st != NULL && st->in_snapshot) {
		st->ops->rollback(st);
		st->in_snapshot = 0;
	}
}

int ta_store_usable(ta_store *st)
{
	return st != NULL && (st->ops->stuck == NULL || !st->ops->stuck(st));
}

int ta_store_commit(ta_store *st)
{
	int r;

	ta_store_snapshot_end(st);
	if (st == NULL || !st->in_txn)
		return TA_OK;
	if ((r = st->ops->commit(st)) != TA_OK)
		st->ops->rollback(st);
	st->in_txn = 0;
	return r;
}

void ta_store_rollback(ta_store *st)
{
	ta_store_snapshot_end(st);
	if (st != NULL && st->in_txn) {
		st->ops->rollback(st);
		st->in_txn = 0;
	}
}

/* ---- tokens ----------------------------------------------------------------- */

/* A new token: never born revoked, never in the place of another. */
int ta_store_token_insert(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                          const struct ta_token_row *row)
{
	struct ta_token_row fresh;

	if (row == NULL)
		return TA_ERR_INPUT;
	fresh = *row;
	fresh.revoked = 0;
	return ta_store_token_put(st, hash, &fresh, 0);
}

int ta_store_token_find(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int want_params,
                        struct ta_token_row *row)
{
	if (st == NULL || hash == NULL || row == NULL)
		return TA_ERR_INPUT;
	return st->ops->token_find(st, hash, want_params, row);
}

int ta_store_token_revoke_id(ta_store *st, const char *id, int64_t now)
{
	if (st == NULL || !name_ok(id, TA_TOKEN_ID_LEN))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->token_revoke_id(st, id, now);
}

int ta_store_token_revoke_user(ta_store *st, const char *user, const char *tenant, int64_t now,
                               unsigned *count)
{
	unsigned n = 0;
	int r;

	if (st == NULL || !names_ok(user, tenant, 1))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	r = st->ops->token_revoke_user(st, user, tenant, now, &n);
	if (count != NULL)
		*count = n;
	return r;
}

int ta_store_has_credential(ta_store *st, const char *user, const char *tenant, int *has)
{
	if (st == NULL || has == NULL || !names_ok(user, tenant, 0))
		return TA_ERR_INPUT;
	*has = 0;
	return st->ops->has_credential(st, user, tenant, has);
}

/* ---- lists ------------------------------------------------------------------ */

struct list_cb {
	int (*token)(void *arg, const struct ta_token_row *row);
	int (*otp)(void *arg, const char *user, const char *tenant, const struct ta_otp_row *row);
	int (*token_all)(void *arg, const uint8_t hash[TA_SHA256_LEN],
	                 const struct ta_token_row *row);
	int (*throttle)(void *arg, const char *user, const char *tenant,
	                const struct ta_throttle_row *t);
	void *arg;
};

/* One row to the callback of its kind. */
static int list_call(enum ta_store_list what, const struct list_cb *cb,
                     const struct ta_store_item *it)
{
	switch (what) {
	case TA_STORE_LIST_TOKENS: return cb->token(cb->arg, &it->token);
	case TA_STORE_LIST_OTP: return cb->otp(cb->arg, it->user, it->tenant, &it->otp);
	case TA_STORE_LIST_TOKENS_ALL: return cb->token_all(cb->arg, it->hash, &it->token);
	case TA_STORE_LIST_THROTTLE_ALL: return cb->throttle(cb->arg, it->user, it->tenant, &it->thr);
	}
	return TA_ERR_INPUT;
}

/*
 * The one list loop: rows from the engine's cursor to the caller's
 * callback until the end, an error, or a callback's non-zero return.
 * Every row is released (params freed, sealed secret wiped) after its call.
 */
static int list_loop(ta_store *st, enum ta_store_list what, const char *user,
                     const struct list_cb *cb)
{
	struct ta_store_item it;
	void *cur = NULL;
	int r, n;

	if (st == NULL || (user != NULL && !name_ok(user, TA_MAX_USER)))
		return TA_ERR_INPUT;
	if ((r = st->ops->list_open(st, what, user, &cur)) != TA_OK)
		return r;
	do {
		memset(&it, 0, sizeof(it));
		if ((n = st->ops->list_next(cur, &it)) == 1)
			r = list_call(what, cb, &it);
		else if (n < 0)
			r = n;
		free(it.token.params);
		ta_wipe(&it.otp, sizeof(it.otp));
		ta_wipe(it.hash, sizeof(it.hash));
	} while (n == 1 && r == TA_OK);
	st->ops->list_close(cur);
	return r;
}

int ta_store_token_list(ta_store *st, const char *user,
                        int (*cb)(void *arg, const struct ta_token_row *row), void *arg)
{
	struct list_cb c = {cb, NULL, NULL, NULL, arg};

	return cb == NULL ? TA_ERR_INPUT : list_loop(st, TA_STORE_LIST_TOKENS, user, &c);
}

int ta_store_otp_list(ta_store *st, const char *user,
                      int (*cb)(void *arg, const char *user, const char *tenant,
                                const struct ta_otp_row *row),
                      void *arg)
{
	struct list_cb c = {NULL, cb, NULL, NULL, arg};

	return cb == NULL ? TA_ERR_INPUT : list_loop(st, TA_STORE_LIST_OTP, user, &c);
}

/* ---- OTP -------------------------------------------------------------------- */

int ta_store_otp_get(ta_store *st, const char *user, const char *tenant, struct ta_otp_row *row)
{
	if (st == NULL || row == NULL || !names_ok(user, tenant, 0))
		return TA_ERR_INPUT;
	return st->ops->otp_get(st, user, tenant, row);
}

int ta_store_otp_put(ta_store *st, const char *user, const char *tenant,
                     const struct ta_otp_row *row, int replace)
{
	if (st == NULL || row == NULL || !names_ok(user, tenant, 0) ||
	    row->next > TA_OTP_COUNTER_MAX || row->sealed_len == 0 ||
	    row->sealed_len > sizeof(row->sealed))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->otp_put(st, user, tenant, row, replace);
}

/*
 * A counter past INT64_MAX cannot be stored, and one that does not move the
 * row forward means the code was already used (or the row is gone): both
 * are refusals, so a matched code is accepted only when its counter
 * really moved.
 */
int ta_store_otp_advance(ta_store *st, const char *user, const char *tenant, uint64_t next)
{
	if (st == NULL || !names_ok(user, tenant, 0))
		return TA_ERR_INPUT;
	if (next == 0 || next > (uint64_t)INT64_MAX)
		return TA_ERR_REPLAY;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->otp_advance(st, user, tenant, next);
}

int ta_store_otp_delete(ta_store *st, const char *user, const char *tenant)
{
	if (st == NULL || !names_ok(user, tenant, 0))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->otp_delete(st, user, tenant);
}

/* ---- throttle --------------------------------------------------------------- */

int ta_store_throttle_get(ta_store *st, const char *user, const char *tenant, struct ta_throttle *t)
{
	if (t != NULL)
		memset(t, 0, sizeof(*t));
	if (st == NULL || t == NULL || !names_ok(user, tenant, 0))
		return TA_ERR_INPUT;
	return st->ops->throttle_get(st, user, tenant, t);
}

/* A row's counts and times as either engine stores and ranks them
 * (TA_STORE_TIME_MAX): no overflow in the eviction time (helper-53 F4). */
int ta_throttle_row_ok(const struct ta_throttle *t, int64_t updated)
{
	return t->failures <= INT32_MAX && t->lockouts <= INT32_MAX && t->locked_until >= 0 &&
	       t->locked_until <= TA_STORE_TIME_MAX && updated >= 0 && updated <= TA_STORE_TIME_MAX;
}

int ta_store_throttle_put(ta_store *st, const char *user, const char *tenant,
                          const struct ta_throttle *t, int64_t now, int capped)
{
	if (st == NULL || t == NULL || !names_ok(user, tenant, 0) || !ta_throttle_row_ok(t, now))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->throttle_put(st, user, tenant, t, now, capped);
}

void ta_store_set_throttle_cap(ta_store *st, unsigned long cap)
{
	if (st != NULL)
		st->throttle_cap = cap > 0 ? cap : TA_THROTTLE_MAX;
}

int ta_store_throttle_clear(ta_store *st, const char *user, const char *tenant, unsigned *count)
{
	unsigned n = 0;
	int r;

	if (st == NULL || !names_ok(user, tenant, 1))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	r = st->ops->throttle_clear(st, user, tenant, &n);
	if (count != NULL)
		*count = n;
	return r;
}

/* ---- copying a whole store ---------------------------------------------------- */

int ta_store_count_rows(ta_store *st, struct ta_store_count *n)
{
	if (n != NULL)
		memset(n, 0, sizeof(*n));
	if (st == NULL || n == NULL)
		return TA_ERR_INPUT;
	return st->ops->count(st, n);
}

int ta_store_token_dump(ta_store *st,
                        int (*cb)(void *arg, const uint8_t hash[TA_SHA256_LEN],
                                  const struct ta_token_row *row),
                        void *arg)
{
	struct list_cb c = {NULL, NULL, cb, NULL, arg};

	return cb == NULL ? TA_ERR_INPUT : list_loop(st, TA_STORE_LIST_TOKENS_ALL, NULL, &c);
}

int ta_store_throttle_dump(ta_store *st,
                           int (*cb)(void *arg, const char *user, const char *tenant,
                                     const struct ta_throttle_row *t),
                           void *arg)
{
	struct list_cb c = {NULL, NULL, NULL, cb, arg};

	return cb == NULL ? TA_ERR_INPUT : list_loop(st, TA_STORE_LIST_THROTTLE_ALL, NULL, &c);
}

int ta_store_token_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                       const struct ta_token_row *row, int replace)
{
	if (st == NULL || hash == NULL || row == NULL || !name_ok(row->id, TA_TOKEN_ID_LEN) ||
	    !names_ok(row->user, row->tenant, 0) ||
	    (row->params != NULL && !name_ok(row->params, TA_MAX_PARAMS)) ||
	    (row->label[0] != '\0' && !name_ok(row->label, TA_MAX_LABEL)) || row->last_used < 0)
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->token_put(st, hash, row, replace);
}

/* As ta_store_otp_put, but a counter advanced past TA_OTP_COUNTER_MAX is kept. */
int ta_store_otp_copy(ta_store *st, const char *user, const char *tenant,
                      const struct ta_otp_row *row, int replace)
{
	if (st == NULL || row == NULL || !names_ok(user, tenant, 0) ||
	    row->next > (uint64_t)INT64_MAX || row->sealed_len == 0 ||
	    row->sealed_len > sizeof(row->sealed))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->otp_put(st, user, tenant, row, replace);
}

int ta_store_throttle_row_put(ta_store *st, const char *user, const char *tenant,
                              const struct ta_throttle_row *t, int replace)
{
	if (st == NULL || t == NULL || !names_ok(user, tenant, 0) ||
	    !ta_throttle_row_ok(&t->t, t->updated) || (t->capped & ~1) != 0)
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->throttle_row_put(st, user, tenant, t, replace);
}

/* A file that does not exist yet (a store to be created) is nobody's twin. */
static int file_stat(const char *f, int follow, struct stat *sb, int *exists)
{
	if ((follow ? stat(f, sb) : lstat(f, sb)) == 0) {
		*exists = 1;
		return TA_OK;
	}
	*exists = 0;
	return errno == ENOENT ? TA_OK : TA_ERR_UNAVAILABLE;
}

static int same_file(const char *a, const char *b, int follow, int *same)
{
	struct stat sa, sb;
	int ea = 0, eb = 0, r;

	if ((r = file_stat(a, follow, &sa, &ea)) != TA_OK ||
	    (r = file_stat(b, follow, &sb, &eb)) != TA_OK)
		return r;
	if (ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
		*same = 1;
	return TA_OK;
}

int ta_store_same(const char *a, const char *b, int *same, char *err, size_t errlen)
{
	int r;

	if (same != NULL)
		*same = 0;
	if (a == NULL || b == NULL || same == NULL || *a == '\0' || *b == '\0')
		return TA_ERR_INPUT;
	if (engine_for(a) != engine_for(b))
		return TA_OK;
	if (strcmp(a, b) == 0) {
		*same = 1;
		return TA_OK;
	}
	if ((r = same_file(file_of(a), file_of(b), 0, same)) != TA_OK ||
	    (r = same_file(file_of(a), file_of(b), 1, same)) != TA_OK)
		snprintf(err, errlen, "cannot tell whether %s and %s are one store", a, b);
	return r;
}

/* ---- schema 4: last use and portal sessions ----------------------------------- */

int ta_store_token_touch(ta_store *st, const char *id, int64_t now)
{
	if (st == NULL || !name_ok(id, TA_TOKEN_ID_LEN))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->token_touch(st, id, now);
}

int ta_store_session_put(ta_store *st, const uint8_t hash[TA_SHA256_LEN], const char *user,
                         const char *tenant, int64_t now)
{
	if (st == NULL || hash == NULL || !names_ok(user, tenant, 0))
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->session_put(st, hash, user, tenant, now);
}

int ta_store_session_get(ta_store *st, const uint8_t hash[TA_SHA256_LEN],
                         struct ta_session_row *row)
{
	if (row != NULL)
		memset(row, 0, sizeof(*row));
	if (st == NULL || hash == NULL || row == NULL)
		return TA_ERR_INPUT;
	return st->ops->session_get(st, hash, row);
}

int ta_store_session_touch(ta_store *st, const uint8_t hash[TA_SHA256_LEN], int64_t now)
{
	if (st == NULL || hash == NULL)
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->session_touch(st, hash, now);
}

int ta_store_session_delete(ta_store *st, const uint8_t hash[TA_SHA256_LEN])
{
	if (st == NULL || hash == NULL)
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	return st->ops->session_delete(st, hash);
}

int ta_store_session_purge(ta_store *st, int64_t seen_before, int64_t created_before,
                           unsigned *count)
{
	unsigned n = 0;
	int r;

	if (st == NULL)
		return TA_ERR_INPUT;
	ta_store_snapshot_end(st); /* never write from a snapshot */
	r = st->ops->session_purge(st, seen_before, created_before, &n);
	if (count != NULL)
		*count = n;
	return r;
}
