/*
 * lazy.c - libpq and libcurl, loaded by soname on first use (lazy.h).
 *
 * Each function the core calls is defined here under its own name with
 * hidden visibility: the core's objects bind to these, never to the
 * library, and nothing is exported.  The first call loads the library
 * (dlopen, RTLD_NODELETE: never unmapped under a thread that uses it) and
 * looks up every function once, under pthread_once; the table is only
 * read after.  A library or function that is missing fails every call the
 * way the library fails for a broken connection or handle, and
 * ta_lazy_pq / ta_lazy_curl, which the store and the backends call before
 * anything else, report why (as TA_ERR_CONFIG: see report()).  dlopen
 * takes the same search path as the link-time dependency did (in a setuid
 * process the loader ignores LD_LIBRARY_PATH for both).
 */
#define CURL_DISABLE_TYPECHECK /* the definitions below, not curl's macros */
#include "lazy.h"

#include "ta.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef TA_LIBPQ_SONAME
#define TA_LIBPQ_SONAME "libpq.so.5"
#endif
#ifndef TA_LIBCURL_SONAME
#define TA_LIBCURL_SONAME "libcurl.so.4"
#endif

#define TA_HIDDEN __attribute__((visibility("hidden")))

struct lib {
	const char *soname;
	pthread_once_t once;
	int ok;        /* every function found */
	char why[256]; /* else the reason */
};

/* one line per few names, as the reader scans a list */
/* clang-format off */
#define PQ_FUNCS(X)                                                                          \
	X(PQclear) X(PQcmdStatus) X(PQcmdTuples) X(PQconnectdbParams) X(PQconninfoFree)          \
	X(PQconninfoParse) X(PQconsumeInput) X(PQerrorMessage) X(PQexec) X(PQfinish)             \
	X(PQfreemem) X(PQgetResult) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQisBusy)      \
	X(PQntuples) X(PQresultErrorField) X(PQresultStatus) X(PQsendPrepare)                    \
	X(PQsendQueryParams) X(PQsendQueryPrepared) X(PQsetNoticeProcessor) X(PQsocket)          \
	X(PQstatus) X(PQtransactionStatus)

#define CURL_FUNCS(X)                                                                        \
	X(curl_global_init) X(curl_easy_init) X(curl_easy_setopt) X(curl_easy_getinfo)           \
	X(curl_easy_perform) X(curl_easy_reset) X(curl_easy_cleanup) X(curl_easy_strerror)       \
	X(curl_url) X(curl_url_set) X(curl_url_get) X(curl_url_cleanup) X(curl_free)             \
	X(curl_slist_append) X(curl_slist_free_all)
/* clang-format on */

#define SLOT(f) __typeof__(f) *f;
static struct {
	PQ_FUNCS(SLOT)
} pq_fn;
static struct {
	CURL_FUNCS(SLOT)
} curl_fn;
#undef SLOT

static struct lib pq_lib = {TA_LIBPQ_SONAME, PTHREAD_ONCE_INIT, 0, ""};
static struct lib curl_lib = {TA_LIBCURL_SONAME, PTHREAD_ONCE_INIT, 0, ""};

/* The library's handle, or NULL with the reason noted. */
static void *open_lib(struct lib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	const char *e;

	if (h == NULL) {
		e = dlerror();
		snprintf(l->why, sizeof(l->why), "cannot load %s: %s", l->soname,
		         e ? e : "unknown error");
	}
	return h;
}

/* One function into its slot (a pointer to function of the right type). */
static int find(struct lib *l, void *h, const char *name, void *slot, size_t size)
{
	void *p = dlsym(h, name);

	if (p == NULL || size != sizeof(p)) {
		snprintf(l->why, sizeof(l->why), "%s has no %s", l->soname, name);
		return 0;
	}
	memcpy(slot, &p, sizeof(p));
	return 1;
}

#define FIND(lib, tab, f)                                                                          \
	if (!find(&lib, h, #f, &tab.f, sizeof(tab.f)))                                             \
		return;

static void load_pq(void)
{
	void *h = open_lib(&pq_lib);

	if (h == NULL)
		return;
#define X(f) FIND(pq_lib, pq_fn, f)
	PQ_FUNCS(X)
#undef X
	pq_lib.ok = 1;
}

static void load_curl(void)
{
	void *h = open_lib(&curl_lib);

	if (h == NULL)
		return;
#define X(f) FIND(curl_lib, curl_fn, f)
	CURL_FUNCS(X)
#undef X
	curl_lib.ok = 1;
}

static int pq_ready(void)
{
	pthread_once(&pq_lib.once, load_pq);
	return pq_lib.ok;
}

static int curl_ready(void)
{
	pthread_once(&curl_lib.once, load_curl);
	return curl_lib.ok;
}

/*
 * A library that cannot be loaded (missing, or no memory to map it under
 * a limit the caller of a setuid host set) is the module unable to run as
 * configured: TA_ERR_CONFIG, never "unavailable", which a PAM stack may
 * be told to skip (authinfo_unavail=ignore) as a backend outage.
 */
static int report(const struct lib *l, char *err, size_t errlen)
{
	if (l->ok)
		return TA_OK;
	if (errlen > 0) { /* cut to fit, always terminated */
		size_t n = strnlen(l->why, errlen - 1);

		memcpy(err, l->why, n);
		err[n] = '\0';
	}
	return TA_ERR_CONFIG;
}

int ta_lazy_pq(char *err, size_t errlen)
{
	(void)pq_ready();
	return report(&pq_lib, err, errlen);
}

int ta_lazy_curl(char *err, size_t errlen)
{
	(void)curl_ready();
	return report(&curl_lib, err, errlen);
}

/* ---- libpq ----------------------------------------------------------------
 * Unloaded, each answers as libpq does for a NULL connection or result. */

TA_HIDDEN void PQclear(PGresult *res)
{
	if (pq_ready())
		pq_fn.PQclear(res);
}

TA_HIDDEN char *PQcmdStatus(PGresult *res)
{
	return pq_ready() ? pq_fn.PQcmdStatus(res) : NULL;
}

TA_HIDDEN char *PQcmdTuples(PGresult *res)
{
	return pq_ready() ? pq_fn.PQcmdTuples(res) : NULL;
}

TA_HIDDEN PGconn *PQconnectdbParams(const char *const *keywords, const char *const *values,
                                    int expand_dbname)
{
	return pq_ready() ? pq_fn.PQconnectdbParams(keywords, values, expand_dbname) : NULL;
}

TA_HIDDEN void PQconninfoFree(PQconninfoOption *options)
{
	if (pq_ready())
		pq_fn.PQconninfoFree(options);
}

TA_HIDDEN PQconninfoOption *PQconninfoParse(const char *conninfo, char **errmsg)
{
	if (pq_ready())
		return pq_fn.PQconninfoParse(conninfo, errmsg);
	if (errmsg != NULL)
		*errmsg = NULL;
	return NULL;
}

TA_HIDDEN int PQconsumeInput(PGconn *conn)
{
	return pq_ready() ? pq_fn.PQconsumeInput(conn) : 0;
}

TA_HIDDEN char *PQerrorMessage(const PGconn *conn)
{
	/* a literal: read-only, like libpq's own messages to the caller */
	return pq_ready() ? pq_fn.PQerrorMessage(conn) : "libpq is not loaded";
}

TA_HIDDEN PGresult *PQexec(PGconn *conn, const char *query)
{
	return pq_ready() ? pq_fn.PQexec(conn, query) : NULL;
}

TA_HIDDEN void PQfinish(PGconn *conn)
{
	if (pq_ready())
		pq_fn.PQfinish(conn);
}

TA_HIDDEN void PQfreemem(void *ptr)
{
	if (pq_ready())
		pq_fn.PQfreemem(ptr);
}

TA_HIDDEN PGresult *PQgetResult(PGconn *conn)
{
	return pq_ready() ? pq_fn.PQgetResult(conn) : NULL;
}

TA_HIDDEN int PQgetisnull(const PGresult *res, int tup_num, int field_num)
{
	return pq_ready() ? pq_fn.PQgetisnull(res, tup_num, field_num) : 1;
}

TA_HIDDEN int PQgetlength(const PGresult *res, int tup_num, int field_num)
{
	return pq_ready() ? pq_fn.PQgetlength(res, tup_num, field_num) : 0;
}

TA_HIDDEN char *PQgetvalue(const PGresult *res, int tup_num, int field_num)
{
	return pq_ready() ? pq_fn.PQgetvalue(res, tup_num, field_num) : NULL;
}

TA_HIDDEN int PQisBusy(PGconn *conn)
{
	return pq_ready() ? pq_fn.PQisBusy(conn) : 0;
}

TA_HIDDEN int PQntuples(const PGresult *res)
{
	return pq_ready() ? pq_fn.PQntuples(res) : 0;
}

TA_HIDDEN char *PQresultErrorField(const PGresult *res, int fieldcode)
{
	return pq_ready() ? pq_fn.PQresultErrorField(res, fieldcode) : NULL;
}

TA_HIDDEN ExecStatusType PQresultStatus(const PGresult *res)
{
	return pq_ready() ? pq_fn.PQresultStatus(res) : PGRES_FATAL_ERROR;
}

TA_HIDDEN int PQsendPrepare(PGconn *conn, const char *stmtName, const char *query, int nParams,
                            const Oid *paramTypes)
{
	return pq_ready() ? pq_fn.PQsendPrepare(conn, stmtName, query, nParams, paramTypes) : 0;
}

TA_HIDDEN int PQsendQueryParams(PGconn *conn, const char *command, int nParams,
                                const Oid *paramTypes, const char *const *paramValues,
                                const int *paramLengths, const int *paramFormats, int resultFormat)
{
	return pq_ready() ? pq_fn.PQsendQueryParams(conn, command, nParams, paramTypes, paramValues,
	                                            paramLengths, paramFormats, resultFormat)
	                  : 0;
}

TA_HIDDEN int PQsendQueryPrepared(PGconn *conn, const char *stmtName, int nParams,
                                  const char *const *paramValues, const int *paramLengths,
                                  const int *paramFormats, int resultFormat)
{
	return pq_ready() ? pq_fn.PQsendQueryPrepared(conn, stmtName, nParams, paramValues,
	                                              paramLengths, paramFormats, resultFormat)
	                  : 0;
}

TA_HIDDEN PQnoticeProcessor PQsetNoticeProcessor(PGconn *conn, PQnoticeProcessor proc, void *arg)
{
	return pq_ready() ? pq_fn.PQsetNoticeProcessor(conn, proc, arg) : NULL;
}

TA_HIDDEN int PQsocket(const PGconn *conn)
{
	return pq_ready() ? pq_fn.PQsocket(conn) : -1;
}

TA_HIDDEN ConnStatusType PQstatus(const PGconn *conn)
{
	return pq_ready() ? pq_fn.PQstatus(conn) : CONNECTION_BAD;
}

TA_HIDDEN PGTransactionStatusType PQtransactionStatus(const PGconn *conn)
{
	return pq_ready() ? pq_fn.PQtransactionStatus(conn) : PQTRANS_UNKNOWN;
}

/* ---- libcurl ---------------------------------------------------------------
 * Unloaded, each fails as for an uninitialised library. */

TA_HIDDEN CURLcode curl_global_init(long flags)
{
	return curl_ready() ? curl_fn.curl_global_init(flags) : CURLE_FAILED_INIT;
}

TA_HIDDEN CURL *curl_easy_init(void)
{
	return curl_ready() ? curl_fn.curl_easy_init() : NULL;
}

/* One argument, of the type the option's number says (curl.h: the
 * CURLOPTTYPE_* ranges), passed on as that type. */
TA_HIDDEN CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	va_list ap;
	CURLcode r;

	if (!curl_ready())
		return CURLE_FAILED_INIT;
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		r = curl_fn.curl_easy_setopt(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		r = curl_fn.curl_easy_setopt(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		r = curl_fn.curl_easy_setopt(curl, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		r = curl_fn.curl_easy_setopt(curl, option, va_arg(ap, curl_off_t));
	else
		r = curl_fn.curl_easy_setopt(curl, option, va_arg(ap, void *));
	va_end(ap);
	return r;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
TA_HIDDEN CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	CURLcode r;

	if (!curl_ready())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	r = curl_fn.curl_easy_getinfo(curl, info, va_arg(ap, void *));
	va_end(ap);
	return r;
}

TA_HIDDEN CURLcode curl_easy_perform(CURL *curl)
{
	return curl_ready() ? curl_fn.curl_easy_perform(curl) : CURLE_FAILED_INIT;
}

TA_HIDDEN void curl_easy_reset(CURL *curl)
{
	if (curl_ready())
		curl_fn.curl_easy_reset(curl);
}

TA_HIDDEN void curl_easy_cleanup(CURL *curl)
{
	if (curl_ready())
		curl_fn.curl_easy_cleanup(curl);
}

TA_HIDDEN const char *curl_easy_strerror(CURLcode code)
{
	return curl_ready() ? curl_fn.curl_easy_strerror(code) : "libcurl is not loaded";
}

TA_HIDDEN CURLU *curl_url(void)
{
	return curl_ready() ? curl_fn.curl_url() : NULL;
}

TA_HIDDEN CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part,
                                 unsigned int flags)
{
	return curl_ready() ? curl_fn.curl_url_set(handle, what, part, flags)
	                    : CURLUE_OUT_OF_MEMORY;
}

TA_HIDDEN CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags)
{
	return curl_ready() ? curl_fn.curl_url_get(handle, what, part, flags)
	                    : CURLUE_OUT_OF_MEMORY;
}

TA_HIDDEN void curl_url_cleanup(CURLU *handle)
{
	if (curl_ready())
		curl_fn.curl_url_cleanup(handle);
}

TA_HIDDEN void curl_free(void *p)
{
	if (curl_ready())
		curl_fn.curl_free(p);
}

TA_HIDDEN struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
	return curl_ready() ? curl_fn.curl_slist_append(list, data) : NULL;
}

TA_HIDDEN void curl_slist_free_all(struct curl_slist *list)
{
	if (curl_ready())
		curl_fn.curl_slist_free_all(list);
}
