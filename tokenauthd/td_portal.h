/*
 * td_portal.h - tokenauthd's self-service portal under /my/ (issue 14):
 * server.c hands each /my/ request here and sends what comes back.
 */
#ifndef TD_PORTAL_H
#define TD_PORTAL_H

#include <stddef.h>

#include "config.h"
#include "ta.h"
#include "verify.h"

#define TD_PORTAL_PREFIX "/my/"
#define TD_PORTAL_COOKIE "__Host-tokenauth"

struct td_portal_req {
	const char *method, *url;  /* url as received */
	const char *cookie;        /* the Cookie header, or NULL */
	const char *remote_user;   /* the trusted header's value, only from a listed peer */
	int header_untrusted;      /* the trusted header came from an unlisted peer */
	const char *ctype;         /* Content-Type */
	const char *origin, *host; /* Origin and Host headers, or NULL */
	const char *fetch_site;    /* Sec-Fetch-Site, or NULL */
	const char *body;
	size_t len;
	const char *peer;          /* for the log */
	const char *client;        /* the limits key (IPv4 address, IPv6 /64, uid) */
	unsigned locked;           /* the client is locked out: seconds left */
};

struct td_portal_ans {
	unsigned status;
	char *body;             /* malloc'd; NULL: the status alone */
	const char *ctype;
	char set_cookie[256];   /* "" none */
	char location[128];     /* "" none (303 answers) */
	const char *outcome;    /* for metrics.c */
	const char *action;     /* login, logout, create, revoke, totp_enrol, totp_remove, page */
	char user[TA_MAX_USER + 1];
	int guess;              /* a failed login: counts toward the client's lockout */
	int proved;             /* a login succeeded: clears the client's failures */
};

/*
 * Answer one request.  ctx is the worker thread's context.  Always fills
 * a (a->body may be NULL on allocation failure: send 500).
 */
void td_portal_handle(ta_ctx *ctx, const ta_config *cfg, const struct td_portal_req *rq,
                      struct td_portal_ans *a);
void td_portal_ans_clear(struct td_portal_ans *a);

/* ---- portal_pam.c ----------------------------------------------------------- */

enum td_pam_result { TD_PAM_OK, TD_PAM_FAIL, TD_PAM_NEED_CODE, TD_PAM_ERROR };

/*
 * pam_authenticate + pam_acct_mgmt in service for user, answering the
 * first question with password and a second one with code (NULL: a second
 * question ends the attempt with TD_PAM_NEED_CODE).  user_out receives the
 * PAM_USER PAM settled on.
 */
enum td_pam_result td_pam_login(const char *service, const char *user, const char *password,
                                const char *code, char *user_out, size_t cap);

/*
 * pam_acct_mgmt alone in service for user (no password asked): is the
 * account still valid?  TD_PAM_OK, TD_PAM_FAIL (expired, locked, gone) or
 * TD_PAM_ERROR.
 */
enum td_pam_result td_pam_account(const char *service, const char *user);

#define TD_PENDING_ID_LEN 32
/*
 * The pending second step of a login: user and password kept (in a
 * bounded table, 64 slots, each for at most 120 s) under a random id, so
 * the code form needs no password field.  put: 0 with id set, -1 when the
 * table is full of live entries; it first drops the user's earlier entry
 * and, past 8 entries of one client (the limits key), that client's oldest.  take: removes the entry; 0 with user and
 * password copied (wipe password), -1 when unknown or expired.
 */
int td_pending_put(const char *user, const char *client, const char *password,
                   char id[TD_PENDING_ID_LEN + 1]);
int td_pending_take(const char *id, char *user, size_t ucap, char *password, size_t pcap);

#endif
