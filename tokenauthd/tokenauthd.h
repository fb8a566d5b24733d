/*
 * tokenauthd.h - internals of the verify service shared by its files.
 *
 * The service only translates between libmicrohttpd and the core: request
 * parsing lives in td_parse.c, the endpoints and their answers in
 * td_api.c, both over the core's public API.  What is here is what only a
 * long-running server needs: routes, listeners, per-client limits,
 * metrics, logging, reload.
 */
#ifndef TOKENAUTHD_H
#define TOKENAUTHD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "sign.h"
#include "ta.h"

/* ---- log.c ---------------------------------------------------------------- */

/* Log to stderr (foreground) or syslog (detached).  Thread-safe. */
void td_log_init(int foreground, int debug);
void td_log_set_debug(int debug);
void td_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The core's log callback: warnings and errors always, the rest with debug. */
void td_core_log(void *arg, int level, const char *msg);

/* ---- listen.c ------------------------------------------------------------- */

struct td_listener {
	char spec[512]; /* "unix:/path" or "host:port" as configured */
	int fd;
	int is_unix;
	int tls;      /* TCP with TLS */
	int loopback; /* TCP bound to a loopback address */
	dev_t dev;    /* of the socket file we made, to unlink only ours */
	ino_t ino;
};

struct td_listeners {
	struct td_listener *v;
	size_t n;
	char *listen; /* the "listen" value these were made from */
	unsigned long mode;
	char *group;
	int plain_ok; /* allow_plain_tcp when these were made */
};

/*
 * Create every listener of cfg's "listen": Unix sockets (stale sockets
 * replaced, other files refused, mode and group applied) and TCP sockets.
 * A TCP listener needs tls_cert/tls_key unless it is on loopback or
 * allow_plain_tcp is set.  Errors are logged; returns TA_OK or TA_ERR_CONFIG
 * / TA_ERR_UNAVAILABLE.
 */
int td_listeners_open(const ta_config *cfg, struct td_listeners *out);

/* Same listen value, mode and group: the sockets can be kept over a reload. */
int td_listeners_same(const struct td_listeners *l, const ta_config *cfg);

/* Close all sockets and unlink the Unix socket files we created. */
void td_listeners_close(struct td_listeners *l);

/* ---- limits.c ------------------------------------------------------------- */

typedef struct td_limits td_limits;

/*
 * A table of slots entries probed PROBE at a time (td_limits_new: 4096 and
 * 8), indexed by SipHash-2-4 under a random key of its own.  NULL on
 * allocation or RNG failure, or when probe is 0 or larger than slots.
 */
td_limits *td_limits_new(void);
td_limits *td_limits_new_sized(size_t slots, size_t probe);
void td_limits_free(td_limits *l);
/* rate: requests per second per client (0: no limit); lockout as SPEC §2. */
void td_limits_configure(td_limits *l, double rate, unsigned max_failures, unsigned long lockout);

enum { TD_LIMIT_OK = 0, TD_LIMIT_RATE = 1, TD_LIMIT_LOCKED = 2, TD_LIMIT_LOCKED_RATE = 3 };
/*
 * Account one request of client; *retry receives seconds to wait when
 * refused.  TD_LIMIT_RATE also when the client has no slot because every
 * slot it could take is held by a locked-out client.  A locked client
 * still spends rate tokens: TD_LIMIT_LOCKED when it had one (the request
 * may go on if it proves a valid credential), TD_LIMIT_LOCKED_RATE when
 * it had none (refuse).  *retry is the lock's remaining time for both.
 */
int td_limits_take(td_limits *l, const char *client, unsigned *retry);
/* An authentication failure / success of client. */
void td_limits_fail(td_limits *l, const char *client);
void td_limits_ok(td_limits *l, const char *client);

/* ---- conns.c -------------------------------------------------------------- */

/*
 * One open connection, as the deadline sweeper sees it; embedded in
 * server.c's per-connection record.  Fields are written under the table's
 * mutex only; fd and client are set before td_conns_add.
 */
struct td_track {
	struct td_track *prev, *next;
	int fd;
	int counted;    /* holds one of its client's slots */
	int killed;     /* shut down: refused or past its deadline */
	int in_request; /* headers complete */
	double start;   /* monotonic: accept, or the end of the previous request */
	double hdr_for; /* seconds from start allowed for the headers */
	char client[64];
};

typedef struct td_conns td_conns;

/*
 * The connections of one listener: at most per_client open per client key
 * (limits.c's key), in a table of 2 * limit + 16 counts.  NULL on
 * allocation or RNG failure.
 */
td_conns *td_conns_new(size_t limit, size_t per_client);
void td_conns_free(td_conns *t);
/*
 * Register a new connection (its deadline starts now).  Returns 0, or -1
 * when its client is at its cap or the count table is full: the caller
 * must shut the connection down; it stays registered until td_conns_del.
 */
int td_conns_add(td_conns *t, struct td_track *tr);
/* The connection is closing: call before its descriptor is closed. */
void td_conns_del(td_conns *t, struct td_track *tr);
/* Its request's headers are complete / its request is over. */
void td_conns_request(td_conns *t, struct td_track *tr);
void td_conns_idle(td_conns *t, struct td_track *tr);
/*
 * shutdown(SHUT_RDWR) every connection past its deadline: headers 5 s
 * after accept (10 s after the previous request on a kept-alive one, 1 s
 * for either while 3/4 of limit are open), the whole request 10 s after
 * that.  Returns how many.  Safe from any thread.
 */
size_t td_conns_sweep(td_conns *t);

/* ---- metrics.c ------------------------------------------------------------ */

enum td_endpoint {
	TD_EP_VALIDATE,
	TD_EP_GENERATE,
	TD_EP_VERIFY,
	TD_EP_INTROSPECT,
	TD_EP_REGISTER,
	TD_EP_HEALTHZ,
	TD_EP_METRICS,
	TD_EP_PORTAL, /* the self-service pages under /my/ (GET and POST) */
	TD_EP_OTHER,
	TD_EP_COUNT
};

const char *td_endpoint_name(enum td_endpoint ep);
void td_metrics_record(enum td_endpoint ep, unsigned status, const char *outcome, double seconds);
/* One portal action (login, create, ...) and its outcome. */
void td_metrics_portal(const char *action, const char *outcome);
/* Prometheus text exposition; malloc'd, caller frees. */
char *td_metrics_render(void);

/* ---- routes.c ------------------------------------------------------------- */

/* One route of the service: the single list of the paths it serves. */
struct td_route {
	enum td_endpoint ep;
	const char *method; /* the one method it answers */
	const char *path;   /* exact path, or the prefix; NULL for validate (configured) */
	int prefix;         /* serves every path starting with path */
	const char *owns;   /* a namespace it claims beyond path, or NULL */
	const char *name;   /* canonical path for logs: never the raw one */
};

/*
 * The route of url (as received, still percent-encoded), given the
 * configured validate path; NULL for none.  The validate path is matched
 * first: td_route_check_validate keeps it off every other route.
 */
const struct td_route *td_route_of(const char *validate_path, const char *url);

/*
 * May validate_path serve validate?  TA_OK, or TA_ERR_CONFIG with err
 * naming the problem: the path (or the namespace) of another route, such
 * as "/generate" or anything under "/token/".  Called at start, for -t and
 * on reload; the core's config check covers only the URL path syntax.
 */
int td_route_check_validate(const char *validate_path, char *err, size_t errlen);

/* ---- server.c ------------------------------------------------------------- */

typedef struct td_server td_server;

/*
 * Start serving cfg (borrowed, must outlive the server) on the listeners
 * (borrowed).  nonces and limits are shared across reloads.  Returns TA_OK
 * or an error (logged).
 */
/*
 * Read and check every key and certificate file cfg names, as a start
 * would, without serving (tokenauthd -t).  Returns TA_OK or the error,
 * which has been logged.
 */
int td_server_check(const ta_config *cfg);

int td_server_start(const ta_config *cfg, struct td_listeners *ls, ta_nonce_cache *nonces,
                    td_limits *limits, double rate_override, td_server **out);

/*
 * Stop accepting new connections, keeping the listening sockets open in
 * ls so a successor can start on them at once.  Returns -1 when a
 * listener could not be quiesced (its socket must then be reopened).
 */
int td_server_quiesce(td_server *s);

/*
 * Stop: quiesce if not done yet, let requests in flight finish (at most
 * 3 s), then end the worker threads.  The listening sockets stay open in
 * ls for the next server.  NULL is fine.
 */
void td_server_stop(td_server *s);

#endif
