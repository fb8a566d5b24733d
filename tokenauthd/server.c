/*
 * server.c - libmicrohttpd glue: one daemon per listener, each with a
 * thread pool; per-connection peer identity; per-request body collection,
 * limits, signature and API-key checks, dispatch to td_api.c, the
 * answer, one log line and the metrics.
 */
#define _GNU_SOURCE /* pipe2, struct ucred */
#include "tokenauthd.h"

#include "crypto.h"
#include "file.h"
#include "portal_parse.h"
#include "td_api.h"
#include "td_portal.h"
#include "verify.h"

#include <microhttpd.h>

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX        4096
#define KEY_MIN        16 /* bytes: shorter API/sign keys are refused at start */
#define PEM_MAX        (256 * 1024)
#define DISCARD_MAX    (1024 * 1024) /* chunked body past the cap: read, then hang up */
#define CONN_LIMIT     4096
#define CONN_TIMEOUT   10   /* idle seconds before a connection is dropped */
#define PER_IP_LIMIT   128  /* TCP connections one exact address may hold */
#define CLIENT_CONNS   (CONN_LIMIT / 8) /* one client key (uid, IPv4, IPv6 /64) */
#define SWEEP_MS       200  /* how often connection deadlines are checked */
#define DRAIN_MS       3000 /* longest wait for requests in flight at stop/reload */
#define CONN_MEMORY    (64 * 1024)
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

struct listener_ref {
	td_server *s;
	const struct td_listener *l;
	td_conns *conns;
};

struct td_server {
	const ta_config *cfg;
	struct td_listeners *ls;
	struct MHD_Daemon **mhd;
	struct listener_ref *refs;
	ta_nonce_cache *nonces;
	td_limits *limits;
	pthread_key_t ctx_key;
	int have_ctx_key;
	int quiesced; /* no longer accepting: a successor may own the sockets */
	uint8_t api_hash[TA_SHA256_LEN], admin_hash[TA_SHA256_LEN];
	int have_api, have_admin;
	uint8_t *admin_key, *sign_key, *tls_key;
	size_t admin_key_len, sign_key_len, tls_key_len;
	char *tls_cert;
	const char *validate_path;
	int require_sig;
	int portal;            /* portal = yes: /my/ on the TLS listeners */
	const char *trusted_header, *trusted_proxies;
	int register_unsigned; /* register_allow_unsigned: the seed's cenToken alone */
	unsigned threads;
	pthread_t sweeper;
	pthread_mutex_t sweep_lock;
	pthread_cond_t sweep_cond;
	int have_sweeper, sweep_stop;
};

/* Who is on the other end of one connection. */
struct td_conn {
	char client[64]; /* limits key: "uid:N", the IPv4 address or the IPv6 /64 */
	char peer[128];  /* for the log line */
	char addr[64];   /* numeric peer address ("" on a Unix socket) */
	int tls;         /* came in on a TLS listener */
	int local;       /* Unix socket or loopback: may read /metrics */
	td_conns *tab;   /* the listener's connection table; NULL for unknown_conn */
	struct td_track tr;
};

struct td_req {
	struct td_conn *conn;
	enum td_endpoint ep;
	const char *route; /* canonical path for the log; never the raw one */
	char *body;
	size_t len, seen;
	int too_large, answered;
	int close;  /* answer with Connection: close and drop the connection */
	int proved; /* passed a key or signature check: clears the client's failures */
	unsigned locked; /* the client is locked out: seconds left (0: it is not) */
	struct timespec t0;
};

static const struct td_conn unknown_conn = {"unknown", "unknown", "", 0, 0, NULL, {0}};

/* ---- keys and files --------------------------------------------------------- */

/* Read a secret key file (same safe-open rules as the store), trailing newline cut. */
static int read_secret(const char *what, const char *path, size_t min, uint8_t **key, size_t *len)
{
	char err[512];
	int r = ta_file_read(path, TA_FILE_SECRET, KEY_MAX, key, len, err, sizeof(err));

	if (r != TA_OK) {
		td_log(TA_LOG_ERR, "%s: %s", what, err);
		return r;
	}
	while (*len > 0 && ((*key)[*len - 1] == '\n' || (*key)[*len - 1] == '\r'))
		(*key)[--*len] = '\0';
	if (*len < min) {
		td_log(TA_LOG_ERR, "%s: %s: key shorter than %zu bytes", what, path, min);
		ta_wipe(*key, *len);
		free(*key);
		*key = NULL;
		return TA_ERR_CONFIG;
	}
	return TA_OK;
}

/* An API key is kept only as its hash: compared hash to hash, in constant time. */
static int load_key_hash(const char *what, const char *path, uint8_t hash[TA_SHA256_LEN], int *have,
                         uint8_t **keep, size_t *keeplen)
{
	uint8_t *key = NULL;
	size_t len = 0;
	int r;

	*have = 0;
	if (path == NULL)
		return TA_OK;
	if ((r = read_secret(what, path, KEY_MIN, &key, &len)) != TA_OK)
		return r;
	r = ta_sha256(key, len, hash);
	*have = r == TA_OK;
	if (keep != NULL && r == TA_OK) {
		*keep = key;
		*keeplen = len;
		key = NULL;
	}
	if (key != NULL) {
		ta_wipe(key, len);
		free(key);
	}
	return r;
}

static int load_tls(td_server *s)
{
	const char *cert = ta_config_str(s->cfg, "tls_cert"),
	           *key = ta_config_str(s->cfg, "tls_key");
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[512];
	int r;

	if (cert == NULL || key == NULL)
		return TA_OK;
	if ((r = ta_file_read(cert, TA_FILE_PLAIN, PEM_MAX, &buf, &len, err, sizeof(err))) !=
	    TA_OK) {
		td_log(TA_LOG_ERR, "tls_cert: %s", err);
		return r;
	}
	s->tls_cert = (char *)buf;
	if ((r = read_secret("tls_key", key, 1, &s->tls_key, &s->tls_key_len)) != TA_OK)
		return r;
	return TA_OK;
}

static int load_keys(td_server *s)
{
	const ta_config *cfg = s->cfg;
	int r;

	if ((r = load_key_hash("api_key_file", ta_config_str(cfg, "api_key_file"), s->api_hash,
	                       &s->have_api, NULL, NULL)) != TA_OK)
		return r;
	if ((r = load_key_hash("admin_api_key_file", ta_config_str(cfg, "admin_api_key_file"),
	                       s->admin_hash, &s->have_admin, &s->admin_key, &s->admin_key_len)) !=
	    TA_OK)
		return r;
	/* one key for both would let every verifying host mint tokens */
	if (s->have_api && s->have_admin &&
	    ta_ct_eq(s->api_hash, s->admin_hash, sizeof(s->api_hash))) {
		td_log(TA_LOG_ERR, "api_key_file and admin_api_key_file hold the same key; "
		                   "verifying hosts could call /generate");
		return TA_ERR_CONFIG;
	}
	if (ta_config_str(cfg, "sign_key_file") != NULL &&
	    (r = read_secret("sign_key_file", ta_config_str(cfg, "sign_key_file"), KEY_MIN,
	                     &s->sign_key, &s->sign_key_len)) != TA_OK)
		return r;
	if (s->require_sig && s->sign_key == NULL) {
		td_log(TA_LOG_ERR, "require_signature = yes needs sign_key_file");
		return TA_ERR_CONFIG;
	}
	/* Not fatal: a service may serve validate alone.  Each request says it too. */
	if (s->have_admin && s->sign_key == NULL && !s->register_unsigned)
		td_log(TA_LOG_WARNING,
		       "no sign_key_file: PUT " TD_REGISTER_PREFIX "{admin} is refused "
		       "(code 11010) until one is set, or register_allow_unsigned = yes");
	if (s->register_unsigned)
		td_log(TA_LOG_WARNING, "register_allow_unsigned = yes: registrations are "
		                       "authenticated by the seed's cenToken and a single-use "
		                       "authToken only, their bodies are not signed");
	return load_tls(s);
}

/* ---- connections ------------------------------------------------------------ */

static void describe_unix(struct td_conn *k, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	k->local = 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
		snprintf(k->client, sizeof(k->client), "uid:?");
		snprintf(k->peer, sizeof(k->peer), "unix:?");
		return;
	}
	snprintf(k->client, sizeof(k->client), "uid:%u", (unsigned)uc.uid);
	snprintf(k->peer, sizeof(k->peer), "unix:uid=%u,gid=%u,pid=%ld", (unsigned)uc.uid,
	         (unsigned)uc.gid, (long)uc.pid);
}

/*
 * The limits key of a TCP peer: the IPv4 address, or the /64 of an IPv6
 * one (one host usually holds a whole /64, so per-address keys would give
 * it 2^64 fresh lockout counters).  IPv4-mapped addresses count as IPv4.
 */
static void client_key(char *out, size_t cap, const struct sockaddr *sa, const char *host)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr net;

	if (sa->sa_family == AF_INET6) {
		net = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&net)) {
			if (inet_ntop(AF_INET, &net.s6_addr[12], buf, sizeof(buf)) != NULL) {
				snprintf(out, cap, "%s", buf);
				return;
			}
		} else {
			memset(&net.s6_addr[8], 0, 8);
			if (inet_ntop(AF_INET6, &net, buf, sizeof(buf)) != NULL) {
				snprintf(out, cap, "%s/64", buf);
				return;
			}
		}
	}
	snprintf(out, cap, "%.63s", host);
}

static void describe_tcp(struct td_conn *k, const struct sockaddr *sa, int tls)
{
	char host[64] = "?", port[8] = "?";
	socklen_t len =
	    sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
	            NI_NUMERICHOST | NI_NUMERICSERV);
	client_key(k->client, sizeof(k->client), sa, host);
	snprintf(k->addr, sizeof(k->addr), "%s", host);
	k->tls = tls;
	snprintf(k->peer, sizeof(k->peer), "%s:%.63s:%.7s", tls ? "tls" : "tcp", host, port);
	k->local = (sa->sa_family == AF_INET &&
	            (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127) ||
	           (sa->sa_family == AF_INET6 &&
	            IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr));
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	const struct listener_ref *ref = cls;
	const union MHD_ConnectionInfo *ci;
	struct td_conn *k;

	int fd;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* before libmicrohttpd closes the descriptor: see conns.c */
		if ((k = *socket_context) != NULL && k->tab != NULL)
			td_conns_del(k->tab, &k->tr);
		free(k);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	fd = ci != NULL ? ci->connect_fd : -1;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR); /* untracked would mean undeadlined */
		return;
	}
	if (ref->l->is_unix) {
		describe_unix(k, fd);
	} else {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL)
			describe_tcp(k, ci->client_addr, ref->l->tls);
		else
			*k = unknown_conn;
	}
	*socket_context = k;
	k->tr.fd = fd;
	snprintf(k->tr.client, sizeof(k->tr.client), "%s", k->client);
	k->tab = ref->conns;
	if (td_conns_add(k->tab, &k->tr) != 0) {
		td_log(TA_LOG_DEBUG, "%s: refused, client %s holds %u connections", k->peer,
		       k->client, (unsigned)CLIENT_CONNS);
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR); /* the worker sees EOF and closes it */
	}
}

/* ---- answers ------------------------------------------------------------------ */

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void wipe_free_cb(void *p)
{
	ta_wipe_free(p);
}

/*
 * The request method as the log line shows it.  It is the client's own
 * bytes (libmicrohttpd accepts any token, and bytes above 0x7e): a method
 * of "user=root", "outcome=success" or a C1 CSI would forge a field or a
 * terminal sequence in front of ours.  Only an upper-case word of at most
 * 16 letters is shown as sent; anything else is "?".
 */
static const char *log_method(const char *method)
{
	size_t n = 0;

	if (method == NULL)
		return "?";
	while (method[n] >= 'A' && method[n] <= 'Z' && n <= 16)
		n++;
	return n > 0 && n <= 16 && method[n] == '\0' ? method : "?";
}

static void log_request(const struct td_req *rq, const char *method, const struct td_answer *a,
                        double secs)
{
	const char *tenant = a->tenant[0] ? a->tenant : "-";

	method = log_method(method);

	if (a->user[0] != '\0')
		td_log(TA_LOG_INFO,
		       "%s %s %s status=%u code=%d outcome=%s user=%s tenant=%s %.3fms",
		       rq->conn->peer, method, rq->route, a->status, (int)a->code,
		       a->outcome ? a->outcome : "-", TA_Q(a->user), TA_Q(tenant), secs * 1e3);
	else
		td_log(TA_LOG_INFO, "%s %s %s status=%u code=%d outcome=%s %.3fms", rq->conn->peer,
		       method, rq->route, a->status, (int)a->code, a->outcome ? a->outcome : "-",
		       secs * 1e3);
}

/*
 * Every answer under /my/ carries these, the errors answered before the
 * portal runs (405, 413, 429, 404 with the portal off) included.
 */
static const struct {
	const char *name, *value;
} portal_headers[] = {
    {"Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Content-Type-Options", "nosniff"},
    {"Cache-Control", "no-store"},
};

static const char nomem_body[] = "{\"code\":10010,\"message\":\"internal error\"}";

/* Queue a (ownership of a->body moves to libmicrohttpd), log, count. */
static enum MHD_Result send_answer(struct MHD_Connection *c, struct td_req *rq, const char *method,
                                   struct td_answer *a, const char *ctype, unsigned retry,
                                   const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char num[16];
	double secs;

	if (a->body != NULL)
		resp = MHD_create_response_from_buffer_with_free_callback(strlen(a->body), a->body,
		                                                          wipe_free_cb);
	else
		resp = MHD_create_response_from_buffer(sizeof(nomem_body) - 1, (void *)nomem_body,
		                                       MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO; /* a->body is still ours: the caller clears it */
	a->body = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        ctype ? ctype : "application/json");
	if (rq->ep == TD_EP_PORTAL)
		for (size_t i = 0; i < sizeof(portal_headers) / sizeof(portal_headers[0]); i++)
			MHD_add_response_header(resp, portal_headers[i].name, portal_headers[i].value);
	else
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (retry > 0) {
		snprintf(num, sizeof(num), "%u", retry);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, num);
	}
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	/* after a framing error nothing more on this connection can be trusted */
	if (rq->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, a->status, resp);
	MHD_destroy_response(resp);
	rq->answered = 1;
	secs = elapsed(&rq->t0);
	log_request(rq, method, a, secs);
	td_metrics_record(rq->ep, a->status, a->outcome, secs);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, struct td_req *rq, const char *method,
                                  enum td_code code, const char *detail, unsigned retry,
                                  const char *allow)
{
	struct td_answer a;
	enum td_style style = rq->ep == TD_EP_VALIDATE   ? TD_STYLE_VALIDATE
	                      : rq->ep == TD_EP_VERIFY   ? TD_STYLE_VERIFY
	                      : rq->ep == TD_EP_REGISTER ? TD_STYLE_REGISTER
	                                                 : TD_STYLE_PLAIN;
	enum MHD_Result ret;

	memset(&a, 0, sizeof(a));
	td_answer_error(&a, code, style, detail);
	ret = send_answer(c, rq, method, &a, NULL, retry, allow);
	td_answer_clear(&a);
	return ret;
}

/* ---- routing ------------------------------------------------------------------ */

/* Declared length above the cap: refuse before reading a byte of it. */
static int declared_too_large(struct MHD_Connection *c)
{
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long v;

	return cl != NULL && (ta_parse_uint(cl, 0, ~0ULL, &v) != TA_OK || v > TD_MAX_BODY);
}

struct hdr_scan {
	unsigned cl, te;
	int bad;
};

/* RFC 9110 token characters: what a header name may be made of. */
static int is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
	struct hdr_scan *h = cls;

	(void)kind;
	if (key == NULL || key_size == 0) {
		h->bad = 1;
		return MHD_NO;
	}
	for (size_t i = 0; i < key_size; i++)
		if (!is_tchar((unsigned char)key[i]))
			h->bad = 1;
	for (size_t i = 0; value != NULL && i < value_size; i++)
		if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
			h->bad = 1; /* NUL, bare CR or LF, other controls */
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		h->cl++;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		h->te++;
		if (value == NULL || strcasecmp(value, "chunked") != 0)
			h->bad = 1;
	}
	return h->bad ? MHD_NO : MHD_YES;
}

/*
 * Request smuggling: refuse every framing two parsers could read in two
 * ways (RFC 9112 §6.3): Content-Length with Transfer-Encoding, two
 * Content-Length or Transfer-Encoding headers, a coding other than
 * chunked, and header names or values with control bytes (NUL, bare CR).
 */
static int framing_ok(struct MHD_Connection *c)
{
	struct hdr_scan h = {0, 0, 0};

	MHD_get_connection_values_n(c, MHD_HEADER_KIND, scan_header, &h);
	return !h.bad && h.cl <= 1 && h.te <= 1 && !(h.cl && h.te);
}

static enum MHD_Result begin(td_server *s, struct MHD_Connection *c, const char *url,
                             const char *method, void **req_cls)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct td_route *rt = td_route_of(s->validate_path, url);
	struct td_req *rq = calloc(1, sizeof(*rq));
	unsigned retry = 0;
	int lim;

	if (rq == NULL)
		return MHD_NO;
	*req_cls = rq;
	clock_gettime(CLOCK_MONOTONIC, &rq->t0);
	rq->conn = ci != NULL && ci->socket_context != NULL ? ci->socket_context
	                                                    : (struct td_conn *)&unknown_conn;
	rq->ep = rt ? rt->ep : TD_EP_OTHER;
	rq->route = rt ? (rt->ep == TD_EP_VALIDATE ? s->validate_path : rt->name) : "-";
	if (rq->conn->tab != NULL)
		td_conns_request(rq->conn->tab, &rq->conn->tr);
	if (!framing_ok(c)) {
		rq->close = 1;
		return send_error(c, rq, method, TD_BAD_HTTP, NULL, 0, NULL);
	}
	if (rt == NULL)
		return send_error(c, rq, method, TD_NOT_FOUND, NULL, 0, NULL);
	if (rt->ep == TD_EP_PORTAL && (!s->portal || !rq->conn->tls))
		return send_error(c, rq, method, TD_NOT_FOUND, NULL, 0, NULL);
	if (strcmp(method, rt->method) != 0 &&
	    !(rt->ep == TD_EP_PORTAL && strcmp(method, "POST") == 0))
		return send_error(c, rq, method, TD_METHOD, NULL, 0,
		                  rt->ep == TD_EP_PORTAL ? "GET, POST" : rt->method);
	lim = rt->ep == TD_EP_HEALTHZ || rt->ep == TD_EP_METRICS
	          ? TD_LIMIT_OK
	          : td_limits_take(s->limits, rq->conn->client, &retry);
	/* A locked client may still prove a credential (finish decides); see is_locked_out. */
	if (lim == TD_LIMIT_LOCKED)
		rq->locked = retry;
	else if (lim != TD_LIMIT_OK)
		return send_error(c, rq, method, lim == TD_LIMIT_RATE ? TD_RATE : TD_CLIENT_LOCKED,
		                  NULL, retry, NULL);
	/* a locked client gets 11007 here too, exactly as before it could prove a key */
	if (declared_too_large(c))
		return send_error(c, rq, method, rq->locked ? TD_CLIENT_LOCKED : TD_TOO_LARGE,
		                  NULL, rq->locked, NULL);
	return MHD_YES;
}

static enum MHD_Result take_body(struct td_req *rq, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	rq->seen += n;
	if (rq->answered || rq->too_large)
		return rq->seen > DISCARD_MAX ? MHD_NO : MHD_YES;
	if (rq->len + n > TD_MAX_BODY) {
		rq->too_large = 1;
		ta_wipe(rq->body, rq->len);
		free(rq->body);
		rq->body = NULL;
		rq->len = 0;
		return MHD_YES;
	}
	if (rq->body == NULL && (rq->body = malloc(TD_MAX_BODY + 1)) == NULL)
		return MHD_NO;
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = '\0';
	return MHD_YES;
}

/* ---- authentication ----------------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* SPEC §5 signature: optional unless require_signature; a present one must be right. */
static enum td_code check_signature(td_server *s, struct MHD_Connection *c, struct td_req *rq,
                                    const char *method, const char *url)
{
	const char *ts = header(c, TA_HDR_TIMESTAMP), *nonce = header(c, TA_HDR_NONCE),
	           *sig = header(c, TA_HDR_SIGNATURE);
	int64_t now = (int64_t)time(NULL);
	int r;

	if (ts == NULL && nonce == NULL && sig == NULL)
		return s->require_sig ? TD_NEED_SIG : TD_OK;
	if (s->sign_key == NULL)
		return TD_BAD_SIG; /* cannot check it: refuse rather than ignore */
	r = ta_sign_check(s->sign_key, s->sign_key_len, ts, nonce, sig, method, url,
	                  rq->body ? rq->body : "", rq->len, now);
	if (r == TA_ERR_EXPIRED)
		return TD_STALE;
	if (r != TA_OK)
		return r == TA_ERR_INPUT && (ts == NULL || nonce == NULL || sig == NULL)
		           ? TD_NEED_SIG
		           : TD_BAD_SIG;
	/* Only a verified nonce is remembered: nobody without the key fills the cache. */
	r = ta_nonce_cache_add(s->nonces, nonce, now);
	if (r == TA_ERR_REPLAY)
		return TD_REPLAY;
	return r == TA_OK ? TD_OK : TD_RATE;
}

static enum td_code check_key(struct MHD_Connection *c, const uint8_t want[TA_SHA256_LEN])
{
	const char *got = header(c, "x-api-key");
	uint8_t h[TA_SHA256_LEN];
	int ok;

	if (got == NULL || got[0] == '\0')
		return TD_NEED_KEY;
	if (ta_sha256(got, strlen(got), h) != TA_OK)
		return TD_INTERNAL;
	ok = ta_ct_eq(h, want, TA_SHA256_LEN);
	ta_wipe(h, sizeof(h));
	return ok ? TD_OK : TD_BAD_KEY;
}

/* Failures that guess at a secret count toward the client's lockout. */
static int is_guess(enum td_code code)
{
	return code == TD_BAD_KEY || code == TD_BAD_SIG || code == TD_BAD_CENTOKEN;
}

/*
 * Registration enrols a secret for any user who has none: by default it
 * must carry a SPEC §5 signature (checked, nonce spent, by check_signature
 * before this), which binds body, path and a single-use nonce to the
 * request, so a captured request cannot be replayed, with this body or
 * another (issue 9, defect 5).  register_allow_unsigned = yes goes back to
 * the seed's cenToken alone; the authToken is single-use either way.
 */
static enum td_code register_allowed(const td_server *s, const struct td_req *rq)
{
	if (!s->have_admin)
		return TD_FORBIDDEN;
	if (s->register_unsigned || rq->proved)
		return TD_OK;
	return s->sign_key == NULL ? TD_REGISTER_OFF : TD_NEED_SIG;
}

/* Every check before the endpoint runs; TD_OK to go on. */
static enum td_code authenticate(td_server *s, struct MHD_Connection *c, struct td_req *rq,
                                 const char *method, const char *url)
{
	enum td_code code = TD_OK;

	if (rq->ep == TD_EP_HEALTHZ || rq->ep == TD_EP_PORTAL)
		return TD_OK; /* the portal checks its own sessions and logins */
	if (rq->ep == TD_EP_METRICS)
		return rq->conn->local ? TD_OK : TD_FORBIDDEN;
	if ((code = check_signature(s, c, rq, method, url)) != TD_OK)
		return code;
	rq->proved = header(c, TA_HDR_SIGNATURE) != NULL;
	if (rq->ep == TD_EP_REGISTER)
		return register_allowed(s, rq);
	if (rq->ep == TD_EP_GENERATE && !s->have_admin)
		return TD_FORBIDDEN;
	if (rq->ep == TD_EP_GENERATE || s->have_api)
		code = check_key(c, rq->ep == TD_EP_GENERATE ? s->admin_hash : s->api_hash);
	rq->proved |= code == TD_OK && (rq->ep == TD_EP_GENERATE || s->have_api);
	return code;
}

/*
 * The address lockout stops guessing, not the hosts that hold the key:
 * any process on a verifying host shares its address (or uid), so a
 * lockout that refused the right key too would let it lock that host out.
 * A locked client's request goes on only when it proved a credential (the
 * API or admin key, compared hash to hash in constant time, or a valid
 * SPEC §5 signature) before anything else ran; every other one gets the
 * same 429 11007 as before, whatever failed, so a locked client learns
 * per request only what an unlocked one learns: whether its key is right.
 * The rate limit applied to both in begin().
 */
static int is_locked_out(const struct td_req *rq, enum td_code code)
{
	return rq->locked > 0 && !(code == TD_OK && rq->proved);
}

/* ---- dispatch ----------------------------------------------------------------- */

static void ctx_destroy(void *p)
{
	ta_ctx_free(p);
}

/* The calling worker thread's context, made on its first request. */
static ta_ctx *thread_ctx(td_server *s)
{
	ta_ctx *ctx = pthread_getspecific(s->ctx_key);

	if (ctx == NULL && ta_ctx_new(s->cfg, td_core_log, NULL, &ctx) == TA_OK &&
	    pthread_setspecific(s->ctx_key, ctx) != 0) {
		ta_ctx_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int media_ok(struct MHD_Connection *c, enum td_endpoint ep)
{
	const char *ct = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);

	if (ep == TD_EP_INTROSPECT)
		return td_media_is(ct, "application/x-www-form-urlencoded");
	if (ep == TD_EP_VALIDATE || ep == TD_EP_GENERATE || ep == TD_EP_REGISTER)
		return ct == NULL || td_media_is(ct, "application/json");
	return 1;
}

static enum td_code run_endpoint(td_server *s, ta_ctx *ctx, struct MHD_Connection *c,
                                 struct td_req *rq, const char *url, struct td_answer *a)
{
	const char *body = rq->body ? rq->body : "";

	switch (rq->ep) {
	case TD_EP_VALIDATE: return td_api_validate(ctx, body, rq->len, rq->conn->peer, a);
	case TD_EP_GENERATE: return td_api_generate(ctx, body, rq->len, a);
	case TD_EP_VERIFY: return td_api_verify(ctx, header(c, "x-api-token"), a);
	case TD_EP_INTROSPECT: return td_api_introspect(ctx, body, rq->len, a);
	case TD_EP_REGISTER:
		return td_api_register(ctx, s->cfg, url, header(c, "x-auth-token"), s->admin_key,
		                       s->admin_key_len, body, rq->len, rq->conn->peer, a);
	default: return td_answer_error(a, TD_NOT_FOUND, TD_STYLE_PLAIN, NULL);
	}
}

static enum MHD_Result send_plain(struct MHD_Connection *c, struct td_req *rq, const char *method,
                                  char *body, const char *ctype)
{
	struct td_answer a;
	enum MHD_Result ret;

	memset(&a, 0, sizeof(a));
	a.status = body ? 200 : 500;
	a.code = body ? TD_OK : TD_INTERNAL;
	a.outcome = body ? "success" : "error";
	a.body = body;
	ret = send_answer(c, rq, method, &a, body ? ctype : NULL, 0, NULL);
	td_answer_clear(&a);
	return ret;
}

/* ---- the portal ---------------------------------------------------------------- */

static enum MHD_Result send_portal(struct MHD_Connection *c, struct td_req *rq, const char *method,
                                   struct td_portal_ans *a)
{
	static const char empty[] = "";
	struct MHD_Response *resp;
	enum MHD_Result ret;
	double secs;

	if (a->body != NULL)
		resp = MHD_create_response_from_buffer_with_free_callback(strlen(a->body), a->body,
		                                                          wipe_free_cb);
	else
		resp = MHD_create_response_from_buffer(0, (void *)empty, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	a->body = NULL;
	for (size_t i = 0; i < sizeof(portal_headers) / sizeof(portal_headers[0]); i++)
		MHD_add_response_header(resp, portal_headers[i].name, portal_headers[i].value);
	if (a->ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->ctype);
	if (a->set_cookie[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, a->set_cookie);
	if (a->location[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, a->location);
	ret = MHD_queue_response(c, a->status ? a->status : 500, resp);
	MHD_destroy_response(resp);
	rq->answered = 1;
	secs = elapsed(&rq->t0);
	if (a->user[0] != '\0')
		td_log(TA_LOG_INFO, "%s %s %s status=%u action=%s outcome=%s user=%s %.3fms",
		       rq->conn->peer, method, rq->route, a->status, a->action ? a->action : "-",
		       a->outcome ? a->outcome : "-", TA_Q(a->user), secs * 1e3);
	else
		td_log(TA_LOG_INFO, "%s %s %s status=%u action=%s outcome=%s %.3fms", rq->conn->peer,
		       method, rq->route, a->status, a->action ? a->action : "-",
		       a->outcome ? a->outcome : "-", secs * 1e3);
	td_metrics_record(rq->ep, a->status, a->outcome, secs);
	td_metrics_portal(a->action, a->outcome);
	return ret;
}

struct name_count {
	const char *name;
	unsigned n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
	struct name_count *nc = cls;

	(void)kind;
	(void)value;
	if (key != NULL && strcasecmp(key, nc->name) == 0)
		nc->n++;
	return MHD_YES;
}

/*
 * The trusted header's value, or NULL.  Sent twice, it names nobody: a
 * proxy that appends its header instead of replacing the client's would
 * otherwise let the client's copy, the first, choose the user.
 */
static const char *trusted_value(td_server *s, struct MHD_Connection *c, int *twice)
{
	struct name_count nc = {s->trusted_header, 0};

	*twice = 0;
	if (s->trusted_header == NULL)
		return NULL;
	MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &nc);
	if (nc.n > 1) {
		*twice = 1;
		return NULL;
	}
	return header(c, s->trusted_header);
}

static enum MHD_Result run_portal(td_server *s, struct MHD_Connection *c, struct td_req *rq,
                                  const char *url, const char *method)
{
	struct td_portal_req pr;
	struct td_portal_ans a;
	int twice = 0;
	const char *hv = trusted_value(s, c, &twice);
	char err[128];
	enum MHD_Result ret;
	ta_ctx *ctx = thread_ctx(s);

	if (ctx == NULL)
		return send_error(c, rq, method, TD_INTERNAL, NULL, 0, NULL);
	memset(&pr, 0, sizeof(pr));
	pr.method = method;
	pr.url = url;
	pr.cookie = header(c, "Cookie");
	pr.ctype = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
	pr.origin = header(c, "Origin");
	pr.host = header(c, MHD_HTTP_HEADER_HOST);
	pr.fetch_site = header(c, "Sec-Fetch-Site");
	pr.body = rq->body ? rq->body : "";
	pr.len = rq->len;
	pr.peer = rq->conn->peer;
	pr.client = rq->conn->client;
	pr.locked = rq->locked;
	if (hv != NULL && s->trusted_proxies != NULL &&
	    td_addr_listed(s->trusted_proxies, rq->conn->addr, err, sizeof(err)) == 1)
		pr.remote_user = hv;
	else if (hv != NULL)
		pr.header_untrusted = 1;
	if (twice)
		td_log(TA_LOG_WARNING, "%s portal: trusted header %s sent more than once: ignored",
		       rq->conn->peer, s->trusted_header);
	td_portal_handle(ctx, s->cfg, &pr, &a);
	if (a.guess)
		td_limits_fail(s->limits, rq->conn->client);
	else if (a.proved)
		td_limits_ok(s->limits, rq->conn->client);
	ret = send_portal(c, rq, method, &a);
	td_portal_ans_clear(&a);
	return ret;
}

static enum MHD_Result finish(td_server *s, struct MHD_Connection *c, struct td_req *rq,
                              const char *url, const char *method)
{
	struct td_answer a;
	enum MHD_Result ret;
	ta_ctx *ctx;
	enum td_code code;

	if (rq->too_large)
		return send_error(c, rq, method, rq->locked ? TD_CLIENT_LOCKED : TD_TOO_LARGE,
		                  NULL, rq->locked, NULL);
	code = authenticate(s, c, rq, method, url);
	if (rq->ep == TD_EP_PORTAL)
		return run_portal(s, c, rq, url, method); /* a locked client may not log in there */
	if (is_locked_out(rq, code)) {
		if (is_guess(code))
			td_limits_fail(s->limits, rq->conn->client);
		return send_error(c, rq, method, TD_CLIENT_LOCKED, NULL, rq->locked, NULL);
	}
	if (code != TD_OK) {
		if (is_guess(code))
			td_limits_fail(s->limits, rq->conn->client);
		return send_error(c, rq, method, code, NULL, 0, NULL);
	}
	if (rq->ep == TD_EP_HEALTHZ)
		return send_plain(c, rq, method, strdup("{\"status\":\"ok\"}"), "application/json");
	if (rq->ep == TD_EP_METRICS)
		return send_plain(c, rq, method, td_metrics_render(),
		                  "text/plain; version=0.0.4; charset=utf-8");
	if (!media_ok(c, rq->ep))
		return send_error(c, rq, method, TD_MEDIA_TYPE, NULL, 0, NULL);
	if ((ctx = thread_ctx(s)) == NULL)
		return send_error(c, rq, method, TD_INTERNAL, NULL, 0, NULL);
	memset(&a, 0, sizeof(a));
	run_endpoint(s, ctx, c, rq, url, &a);
	if (is_guess(a.code))
		td_limits_fail(s->limits, rq->conn->client);
	else if (rq->proved || (rq->ep == TD_EP_REGISTER && a.code == TD_OK))
		td_limits_ok(s->limits, rq->conn->client);
	ret = send_answer(c, rq, method, &a, NULL, 0, NULL);
	td_answer_clear(&a);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
	const struct listener_ref *ref = cls;
	struct td_req *rq = *req_cls;

	(void)version;
	if (rq == NULL)
		return begin(ref->s, c, url, method, req_cls);
	if (*upload_size > 0)
		return take_body(rq, upload, upload_size);
	if (rq->answered)
		return MHD_YES;
	return finish(ref->s, c, rq, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct td_req *rq = *req_cls;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct td_conn *k = ci != NULL ? ci->socket_context : NULL;

	(void)cls;
	(void)toe;
	/* the next request on this connection gets its own header deadline */
	if (k != NULL && k->tab != NULL)
		td_conns_idle(k->tab, &k->tr);
	if (rq == NULL)
		return;
	if (rq->body != NULL) {
		ta_wipe(rq->body, rq->len);
		free(rq->body);
	}
	free(rq);
	*req_cls = NULL;
}

/* Paths are matched and signed exactly as sent; td_parse.c decodes what it needs. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	td_log(TA_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

/* ---- start and stop ------------------------------------------------------------ */

static struct MHD_Daemon *start_one(td_server *s, struct listener_ref *ref)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
	                 MHD_USE_ERROR_LOG | (ref->l->tls ? MHD_USE_TLS : 0);
	struct MHD_OptionItem tls[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
	    {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
	    {MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_LIMIT, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	/* One address must not hold every slot; a Unix socket has no address. */
	struct MHD_OptionItem tcp[] = {{MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_LIMIT, NULL},
	                               {MHD_OPTION_END, 0, NULL}};
	struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};

	return MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, ref, MHD_OPTION_LISTEN_SOCKET, ref->l->fd,
	    MHD_OPTION_THREAD_POOL_SIZE, s->threads, MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, ref,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, ref, MHD_OPTION_UNESCAPE_CALLBACK,
	    keep_escaped, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_ARRAY,
	    ref->l->tls       ? tls
	    : ref->l->is_unix ? none
	                      : tcp,
	    MHD_OPTION_END);
}

static unsigned pool_size(const ta_config *cfg)
{
	unsigned long t = ta_config_uint(cfg, "threads");
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (t > 0)
		return (unsigned)t;
	return n > 0 && n <= 256 ? (unsigned)n : 2;
}

/* Every SWEEP_MS, shut down the connections past their deadline (conns.c). */
static void *sweep_main(void *arg)
{
	td_server *s = arg;
	struct timespec at;
	size_t n;

	pthread_mutex_lock(&s->sweep_lock);
	while (!s->sweep_stop) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += SWEEP_MS * 1000000L;
		at.tv_sec += at.tv_nsec / 1000000000L;
		at.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->sweep_cond, &s->sweep_lock, &at);
		if (s->sweep_stop)
			break;
		for (size_t i = 0; i < s->ls->n; i++) {
			if ((n = td_conns_sweep(s->refs[i].conns)) > 0)
				td_log(TA_LOG_INFO, "%s: closed %zu connection(s) past their deadline",
				       s->ls->v[i].spec, n);
		}
	}
	pthread_mutex_unlock(&s->sweep_lock);
	return NULL;
}

static int start_sweeper(td_server *s)
{
	pthread_condattr_t ca;
	int ok;

	if (pthread_condattr_init(&ca) != 0)
		return TA_ERR_NOMEM;
	ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	     pthread_cond_init(&s->sweep_cond, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ok)
		return TA_ERR_NOMEM;
	if (pthread_mutex_init(&s->sweep_lock, NULL) != 0) {
		pthread_cond_destroy(&s->sweep_cond);
		return TA_ERR_NOMEM;
	}
	if (pthread_create(&s->sweeper, NULL, sweep_main, s) != 0) {
		pthread_cond_destroy(&s->sweep_cond);
		pthread_mutex_destroy(&s->sweep_lock);
		return TA_ERR_NOMEM;
	}
	s->have_sweeper = 1;
	return TA_OK;
}

static void stop_sweeper(td_server *s)
{
	if (!s->have_sweeper)
		return;
	pthread_mutex_lock(&s->sweep_lock);
	s->sweep_stop = 1;
	pthread_cond_signal(&s->sweep_cond);
	pthread_mutex_unlock(&s->sweep_lock);
	pthread_join(s->sweeper, NULL);
	pthread_cond_destroy(&s->sweep_cond);
	pthread_mutex_destroy(&s->sweep_lock);
	s->have_sweeper = 0;
}

static int start_all(td_server *s)
{
	for (size_t i = 0; i < s->ls->n; i++) {
		s->refs[i].s = s;
		s->refs[i].l = &s->ls->v[i];
		if ((s->refs[i].conns = td_conns_new(CONN_LIMIT, CLIENT_CONNS)) == NULL)
			return TA_ERR_NOMEM;
		if ((s->mhd[i] = start_one(s, &s->refs[i])) == NULL) {
			td_log(TA_LOG_ERR, "cannot serve %s (libmicrohttpd refused to start%s)",
			       s->ls->v[i].spec,
			       s->ls->v[i].tls ? "; check tls_cert and tls_key" : "");
			return TA_ERR_UNAVAILABLE;
		}
		td_log(TA_LOG_NOTICE, "listening on %s%s", s->ls->v[i].spec,
		       s->ls->v[i].tls ? " (TLS >= 1.2)" : "");
	}
	return TA_OK;
}

/* portal = yes needs a TLS listener and a parseable proxy list (named on error). */
static int portal_check(const ta_config *cfg, const struct td_listeners *ls)
{
	const char *hdr = ta_config_str(cfg, "portal_trusted_header"),
	           *prox = ta_config_str(cfg, "portal_trusted_proxies");
	char err[160];
	int tls = 0;

	if (!ta_config_flag(cfg, "portal"))
		return TA_OK;
	for (size_t i = 0; ls != NULL && i < ls->n; i++)
		tls |= ls->v[i].tls;
	if (ls != NULL && !tls) {
		td_log(TA_LOG_ERR, "portal = yes needs a TCP listener with tls_cert and tls_key: "
		                   "the portal is served over TLS only");
		return TA_ERR_CONFIG;
	}
	if (prox != NULL && td_addr_listed(prox, "", err, sizeof(err)) < 0) {
		td_log(TA_LOG_ERR, "%s", err);
		return TA_ERR_CONFIG;
	}
	if ((hdr == NULL) != (prox == NULL)) {
		td_log(TA_LOG_ERR, "portal_trusted_header and portal_trusted_proxies go together: "
		                   "set both or neither");
		return TA_ERR_CONFIG;
	}
	for (const char *h = hdr; h != NULL && *h != '\0'; h++)
		if (!is_tchar((unsigned char)*h)) {
			td_log(TA_LOG_ERR, "portal_trusted_header = %.100s: not an HTTP header name", hdr);
			return TA_ERR_CONFIG;
		}
	return TA_OK;
}

int td_server_check(const ta_config *cfg)
{
	td_server *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL)
		return TA_ERR_NOMEM;
	s->cfg = cfg;
	s->require_sig = ta_config_flag(cfg, "require_signature");
	s->register_unsigned = ta_config_flag(cfg, "register_allow_unsigned");
	if ((r = portal_check(cfg, NULL)) != TA_OK) {
		free(s);
		return r;
	}
	r = load_keys(s);
	td_server_stop(s); /* nothing started: only wipes and frees the keys */
	return r;
}

int td_server_start(const ta_config *cfg, struct td_listeners *ls, ta_nonce_cache *nonces,
                    td_limits *limits, double rate_override, td_server **out)
{
	td_server *s = calloc(1, sizeof(*s));
	int r = TA_ERR_NOMEM;
	double rate = (double)ta_config_uint(cfg, "rate_limit");
	char err[512];

	*out = NULL;
	if (s == NULL)
		return r;
	if ((r = td_route_check_validate(ta_config_str(cfg, "validate_path"), err, sizeof(err))) !=
	    TA_OK) {
		td_log(TA_LOG_ERR, "%s", err);
		free(s);
		return r;
	}
	r = TA_ERR_NOMEM;
	s->cfg = cfg;
	s->ls = ls;
	s->nonces = nonces;
	s->limits = limits;
	s->validate_path = ta_config_str(cfg, "validate_path");
	s->require_sig = ta_config_flag(cfg, "require_signature");
	s->register_unsigned = ta_config_flag(cfg, "register_allow_unsigned");
	s->portal = ta_config_flag(cfg, "portal");
	s->trusted_header = ta_config_str(cfg, "portal_trusted_header");
	s->trusted_proxies = ta_config_str(cfg, "portal_trusted_proxies");
	if ((r = portal_check(cfg, ls)) != TA_OK) {
		free(s);
		return r;
	}
	s->threads = pool_size(cfg);
	if (rate_override >= 0)
		rate = rate_override;
	td_limits_configure(limits, rate, (unsigned)ta_config_uint(cfg, "max_failures"),
	                    ta_config_uint(cfg, "lockout"));
	if ((s->mhd = calloc(ls->n, sizeof(*s->mhd))) == NULL ||
	    (s->refs = calloc(ls->n, sizeof(*s->refs))) == NULL)
		goto fail;
	if (pthread_key_create(&s->ctx_key, ctx_destroy) != 0)
		goto fail;
	s->have_ctx_key = 1;
	if ((r = load_keys(s)) != TA_OK || (r = start_all(s)) != TA_OK ||
	    (r = start_sweeper(s)) != TA_OK)
		goto fail;
	td_log(TA_LOG_NOTICE,
	       "serving with %u worker thread(s) per listener, rate limit %g/s per client",
	       s->threads, rate);
	*out = s;
	return TA_OK;
fail:
	td_server_stop(s);
	return r;
}

static void free_secret(uint8_t **p, size_t len)
{
	if (*p != NULL) {
		ta_wipe(*p, len);
		free(*p);
		*p = NULL;
	}
}

int td_server_quiesce(td_server *s)
{
	int r = 0;

	for (size_t i = 0; s != NULL && s->mhd != NULL && i < s->ls->n; i++) {
		if (s->mhd[i] == NULL || s->quiesced)
			continue;
		/* Stop accepting but keep the listening socket for the next server. */
		if (MHD_quiesce_daemon(s->mhd[i]) == MHD_INVALID_SOCKET) {
			td_log(TA_LOG_ERR, "cannot quiesce listener %s", s->ls->v[i].spec);
			r = -1;
		}
	}
	if (s != NULL)
		s->quiesced = 1;
	return r;
}

/* Let connections in flight finish, for at most DRAIN_MS. */
static void drain(td_server *s)
{
	struct timespec step = {0, 10 * 1000 * 1000};

	for (int waited = 0; waited < DRAIN_MS; waited += 10) {
		unsigned open = 0;
		for (size_t i = 0; s->mhd != NULL && i < s->ls->n; i++) {
			const union MHD_DaemonInfo *info =
			    s->mhd[i] ? MHD_get_daemon_info(s->mhd[i],
			                                    MHD_DAEMON_INFO_CURRENT_CONNECTIONS)
			              : NULL;
			open += info ? info->num_connections : 0;
		}
		if (open == 0)
			return;
		nanosleep(&step, NULL);
	}
}

void td_server_stop(td_server *s)
{
	if (s == NULL)
		return;
	td_server_quiesce(s);
	drain(s); /* the sweeper still runs: slow clients do not hold the drain */
	stop_sweeper(s);
	for (size_t i = 0; s->mhd != NULL && i < s->ls->n; i++)
		if (s->mhd[i] != NULL)
			MHD_stop_daemon(s->mhd[i]);
	/* after the daemons: their last "closed" notifications use the tables */
	for (size_t i = 0; s->refs != NULL && i < s->ls->n; i++)
		td_conns_free(s->refs[i].conns);
	/* Worker threads are gone, and with them their contexts. */
	if (s->have_ctx_key)
		pthread_key_delete(s->ctx_key);
	free_secret(&s->admin_key, s->admin_key_len);
	free_secret(&s->sign_key, s->sign_key_len);
	free_secret(&s->tls_key, s->tls_key_len);
	free(s->tls_cert);
	ta_wipe(s->api_hash, sizeof(s->api_hash));
	ta_wipe(s->admin_hash, sizeof(s->admin_hash));
	free(s->mhd);
	free(s->refs);
	free(s);
}
