/*
 * portal.c - the self-service portal's pages and actions under /my/:
 * login (PAM, or the trusted header from a listed proxy), the user's app
 * passwords (list, create shown once, revoke), TOTP enrol and remove,
 * logout.  Sessions live in the store (portal.h in the core); every page
 * goes through portal_parse.c's one HTML encoder.
 */
#include "td_portal.h"

#include "admin.h"
#include "crypto.h"
#include "otp.h"
#include "portal_parse.h"
#include "tokenauthd.h"

#include "portal_assets.h" /* generated: portal_css, portal_js */

#include "portal.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define FIELD_MAX  1024
#define PASS_MAX   512
#define SCOPE_MAX  2048
#define CODE_MAX   16
#define SECRET_B32 64

struct sess {
	char sid[TA_SESSION_ID_LEN + 1];
	char csrf[TD_CSRF_LEN + 1];
	struct ta_session_row row;
	int live;
};

struct pctx {
	ta_ctx *ctx;
	const ta_config *cfg;
	const struct td_portal_req *rq;
	struct td_portal_ans *a;
	struct sess s;
	unsigned long idle, max;
};

/* ---- answers ------------------------------------------------------------------ */

static void page_start(struct td_buf *b, const char *title, const struct sess *s)
{
	td_buf_put(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	              "<title>");
	td_buf_text(b, title);
	td_buf_put(b, " - tokenauth</title><link rel=\"stylesheet\" href=\"/my/static/portal.css\">"
	              "<script src=\"/my/static/portal.js\" defer></script></head><body>"
	              "<header><h1>tokenauth: my app passwords</h1>");
	if (s != NULL && s->live) {
		td_buf_put(b, "<form method=\"post\" action=\"/my/logout\"><span>Signed in as <b>");
		td_buf_text(b, s->row.user);
		td_buf_put(b, "</b></span> <input type=\"hidden\" name=\"csrf\" value=\"");
		td_buf_text(b, s->csrf);
		td_buf_put(b, "\"><button type=\"submit\" id=\"logout\">Log out</button></form>");
	}
	td_buf_put(b, "</header><main id=\"main\">");
}

static void page_end(struct td_buf *b)
{
	td_buf_put(b, "</main></body></html>\n");
}

static void send_page(struct pctx *p, unsigned status, struct td_buf *b, const char *outcome)
{
	page_end(b);
	p->a->status = status;
	p->a->ctype = "text/html; charset=utf-8";
	p->a->body = td_buf_take(b);
	p->a->outcome = outcome;
	if (p->a->body == NULL) {
		p->a->status = 500;
		p->a->outcome = "error";
	}
}

static void redirect(struct pctx *p, const char *to, const char *outcome)
{
	p->a->status = 303;
	snprintf(p->a->location, sizeof(p->a->location), "%s", to);
	p->a->outcome = outcome;
}

static void message_page(struct pctx *p, unsigned status, const char *title, const char *msg,
                         const char *outcome)
{
	struct td_buf b;

	td_buf_init(&b, TD_PAGE_MAX);
	page_start(&b, title, &p->s);
	td_buf_put(&b, "<section><h2>");
	td_buf_text(&b, title);
	td_buf_put(&b, "</h2><p class=\"error\" role=\"alert\">");
	td_buf_text(&b, msg);
	td_buf_put(&b, "</p><p><a href=\"/my/\">Back to my app passwords</a></p></section>");
	send_page(p, status, &b, outcome);
}

static void csrf_field(struct td_buf *b, const struct sess *s)
{
	td_buf_put(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	td_buf_text(b, s->csrf);
	td_buf_put(b, "\">");
}

static void fmt_time(char *out, size_t cap, int64_t t, const char *none)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, cap, "%s", none);
	else
		strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

/* ---- login ---------------------------------------------------------------------- */

static void login_page(struct pctx *p, unsigned status, const char *error, const char *pending,
                       const char *user)
{
	struct td_buf b;

	td_buf_init(&b, TD_PAGE_MAX);
	page_start(&b, "Log in", NULL);
	td_buf_put(&b, "<section><h2>Log in</h2>");
	if (error != NULL) {
		td_buf_put(&b, "<p class=\"error\" role=\"alert\" id=\"login-error\">");
		td_buf_text(&b, error);
		td_buf_put(&b, "</p>");
	}
	td_buf_put(&b, "<form method=\"post\" action=\"/my/login\">");
	if (pending == NULL) {
		td_buf_put(&b, "<label for=\"user\">User name</label><input type=\"text\" id=\"user\" "
		               "name=\"user\" autocomplete=\"username\" autocapitalize=\"none\" "
		               "required autofocus value=\"");
		td_buf_text(&b, user ? user : "");
		td_buf_put(&b, "\"><label for=\"password\">Password</label><input type=\"password\" "
		               "id=\"password\" name=\"password\" autocomplete=\"current-password\" "
		               "required>");
	} else {
		td_buf_put(&b, "<p>Signing in as <b>");
		td_buf_text(&b, user ? user : "");
		td_buf_put(&b, "</b>.</p><input type=\"hidden\" name=\"pending\" value=\"");
		td_buf_text(&b, pending);
		td_buf_put(&b, "\"><label for=\"code\">Code from your authenticator app</label>"
		               "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
		               "autocomplete=\"one-time-code\" pattern=\"[0-9]{6,8}\" required "
		               "autofocus>");
	}
	td_buf_put(&b, "<div><button type=\"submit\" id=\"login\">Log in</button></div></form>"
	               "</section>");
	send_page(p, status, &b, status == 200 ? "success" : "unauthorized");
}

static int start_session(struct pctx *p, const char *user)
{
	char sid[TA_SESSION_ID_LEN + 1];
	int r = ta_session_new(p->ctx, user, "", p->idle, p->max, sid);

	if (r != TA_OK)
		return r;
	snprintf(p->a->set_cookie, sizeof(p->a->set_cookie),
	         TD_PORTAL_COOKIE "=%s; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lu",
	         sid, p->max);
	ta_wipe(sid, sizeof(sid));
	return TA_OK;
}

static void login_failed(struct pctx *p, const char *user, const char *why)
{
	int r = ta_login_failed(p->ctx, user, "");

	td_log(TA_LOG_NOTICE, "%s portal login user=%s outcome=failed (%s)%s", p->rq->peer,
	       TA_Q(user), why, r == TA_ERR_LOCKED ? " locked" : "");
	p->a->guess = 1;
	p->a->action = "login";
	login_page(p, 401, "Login failed: wrong user name, password or code.", NULL, user);
	p->a->outcome = "unauthorized";
}

static void do_login(struct pctx *p)
{
	char user[TA_MAX_USER + 1] = "", pass[PASS_MAX] = "", code[CODE_MAX] = "",
	     pending[TD_PENDING_ID_LEN + 2] = "", settled[TA_MAX_USER + 1], id[TD_PENDING_ID_LEN + 1];
	const char *service = ta_config_str(p->cfg, "portal_pam_service");
	enum td_pam_result pr;
	int two = 0, lr;

	p->a->action = "login";
	if (td_form_get(p->rq->body, p->rq->len, "pending", pending, sizeof(pending)) > 0) {
		two = 1;
		if (td_form_get(p->rq->body, p->rq->len, "code", code, sizeof(code)) <= 0 ||
		    td_pending_take(pending, user, sizeof(user), pass, sizeof(pass)) != 0) {
			login_page(p, 401, "That sign-in has expired or the code was empty: start again.",
			           NULL, NULL);
			goto out;
		}
	} else if (td_form_get(p->rq->body, p->rq->len, "user", user, sizeof(user)) <= 0 ||
	           td_form_get(p->rq->body, p->rq->len, "password", pass, sizeof(pass)) <= 0 ||
	           !ta_name_ok(user, TA_MAX_USER)) {
		login_page(p, 400, "Enter a user name and a password.", NULL, NULL);
		p->a->outcome = "bad_request";
		goto out;
	}
	lr = ta_login_locked(p->ctx, user, "");
	if (p->rq->locked > 0 || lr == TA_ERR_LOCKED) {
		td_log(TA_LOG_NOTICE, "%s portal login user=%s outcome=locked", p->rq->peer,
		       TA_Q(user));
		login_page(p, 429, "Too many failed attempts: try again later.", NULL, user);
		p->a->outcome = "locked";
		goto out;
	}
	if (lr != TA_OK) { /* a guess that cannot be counted is not tried */
		td_log(TA_LOG_ERR, "%s portal login user=%s: failures cannot be read: %s",
		       p->rq->peer, TA_Q(user), ta_strerror(lr));
		login_page(p, 503, "The login service is not available.", NULL, user);
		p->a->outcome = "unavailable";
		goto out;
	}
	pr = td_pam_login(service, user, pass, two ? code : NULL, settled, sizeof(settled));
	if (pr == TD_PAM_NEED_CODE && !two) {
		if (td_pending_put(user, p->rq->client, pass, id) != 0) {
			login_page(p, 503, "Too many sign-ins in progress: try again in a minute.", NULL,
			           user);
			p->a->outcome = "unavailable";
			goto out;
		}
		login_page(p, 200, NULL, id, user);
		goto out;
	}
	if (pr == TD_PAM_ERROR) {
		td_log(TA_LOG_ERR, "%s portal login user=%s: PAM service %s failed", p->rq->peer,
		       TA_Q(user), service);
		login_page(p, 503, "The login service is not available.", NULL, user);
		p->a->outcome = "unavailable";
		goto out;
	}
	if (pr != TD_PAM_OK || !ta_name_ok(settled, TA_MAX_USER)) {
		login_failed(p, user, two ? "password or code" : "password");
		goto out;
	}
	ta_login_ok(p->ctx, settled, "");
	if (start_session(p, settled) != TA_OK) {
		message_page(p, 503, "Unavailable", "Cannot start a session now.", "unavailable");
		goto out;
	}
	td_log(TA_LOG_NOTICE, "%s portal login user=%s outcome=success%s", p->rq->peer,
	       TA_Q(settled), two ? " with code" : "");
	snprintf(p->a->user, sizeof(p->a->user), "%s", settled);
	p->a->proved = 1;
	redirect(p, "/my/", "success");
out:
	ta_wipe(pass, sizeof(pass));
	ta_wipe(code, sizeof(code));
	ta_wipe(pending, sizeof(pending));
}

/* The trusted header from a listed proxy: the proxy has authenticated the user. */
static void header_login(struct pctx *p)
{
	const char *user = p->rq->remote_user;

	p->a->action = "login";
	if (!ta_name_ok(user, TA_MAX_USER)) {
		message_page(p, 400, "Bad user name", "The proxy sent a user name we cannot use.",
		             "bad_request");
		return;
	}
	if (start_session(p, user) != TA_OK) {
		message_page(p, 503, "Unavailable", "Cannot start a session now.", "unavailable");
		return;
	}
	td_log(TA_LOG_NOTICE, "%s portal login user=%s outcome=success via trusted header",
	       p->rq->peer, TA_Q(user));
	snprintf(p->a->user, sizeof(p->a->user), "%s", user);
	redirect(p, "/my/", "success");
}

/* ---- the main page ------------------------------------------------------------- */

struct list_state {
	struct td_buf *b;
	const struct sess *s;
	int64_t now;
	unsigned shown;
};

static int token_row_cb(void *arg, const struct ta_token_row *row)
{
	struct list_state *ls = arg;
	struct td_buf *b = ls->b;
	char created[32], expires[32], used[32];

	if (strcmp(row->tenant, ls->s->row.tenant) != 0 || row->revoked != 0 ||
	    (row->expires != 0 && row->expires <= ls->now))
		return 0;
	fmt_time(created, sizeof(created), row->created, "-");
	fmt_time(expires, sizeof(expires), row->expires, "never");
	fmt_time(used, sizeof(used), row->last_used, "never");
	td_buf_put(b, "<tr><td data-label=\"Label\" class=\"label\">");
	td_buf_text(b, row->label[0] ? row->label : "(no label)");
	td_buf_put(b, "</td><td data-label=\"Created\">");
	td_buf_text(b, created);
	td_buf_put(b, "</td><td data-label=\"Expires\">");
	td_buf_text(b, expires);
	td_buf_put(b, "</td><td data-label=\"Last used\">");
	td_buf_text(b, used);
	td_buf_put(b, "</td><td><form method=\"post\" action=\"/my/revoke\">");
	csrf_field(b, ls->s);
	td_buf_put(b, "<input type=\"hidden\" name=\"id\" value=\"");
	td_buf_text(b, row->id);
	td_buf_put(b, "\"><button type=\"submit\" class=\"danger\" aria-label=\"Revoke ");
	td_buf_text(b, row->label[0] ? row->label : row->id);
	td_buf_put(b, "\">Revoke</button></form></td></tr>");
	ls->shown++;
	return 0;
}

static void main_page(struct pctx *p, const char *notice)
{
	struct td_buf b;
	struct list_state ls;
	int has_otp = 0;

	td_buf_init(&b, TD_PAGE_MAX);
	page_start(&b, "My app passwords", &p->s);
	if (notice != NULL) {
		td_buf_put(&b, "<p class=\"notice\" role=\"status\">");
		td_buf_text(&b, notice);
		td_buf_put(&b, "</p>");
	}
	td_buf_put(&b, "<section aria-labelledby=\"h-tokens\"><h2 id=\"h-tokens\">My app passwords"
	               "</h2><table id=\"tokens\"><thead><tr><th scope=\"col\">Label</th>"
	               "<th scope=\"col\">Created</th><th scope=\"col\">Expires</th>"
	               "<th scope=\"col\">Last used</th><th scope=\"col\"><span class=\"hint\">"
	               "Action</span></th></tr></thead><tbody>");
	ls = (struct list_state){&b, &p->s, (int64_t)time(NULL), 0};
	ta_token_list(p->ctx, p->s.row.user, token_row_cb, &ls);
	if (ls.shown == 0)
		td_buf_put(&b, "<tr><td colspan=\"5\" class=\"empty\">No app passwords yet.</td></tr>");
	td_buf_put(&b, "</tbody></table></section>");

	td_buf_put(&b, "<section aria-labelledby=\"h-new\"><h2 id=\"h-new\">New app password</h2>"
	               "<form method=\"post\" action=\"/my/tokens\">");
	csrf_field(&b, &p->s);
	td_buf_put(&b, "<label for=\"label\">Label</label><input type=\"text\" id=\"label\" "
	               "name=\"label\" maxlength=\"64\" required aria-describedby=\"label-hint\">"
	               "<p class=\"hint\" id=\"label-hint\">Where you will use it, such as "
	               "&quot;laptop mail&quot;.</p>"
	               "<label for=\"days\">Expires after (days)</label><input type=\"number\" "
	               "id=\"days\" name=\"days\" min=\"1\" aria-describedby=\"days-hint\">");
	td_buf_printf(&b, "<p class=\"hint\" id=\"days-hint\">Empty: the longest allowed (%lu days)."
	                  "</p>",
	              ta_config_uint(p->cfg, "portal_max_ttl") / 86400);
	td_buf_put(&b, "<label for=\"scope\">Scope (optional)</label><textarea id=\"scope\" "
	               "name=\"scope\" aria-describedby=\"scope-hint\"></textarea>"
	               "<p class=\"hint\" id=\"scope-hint\">One key=value per line; returned to "
	               "services that verify the password.</p>"
	               "<button type=\"submit\" id=\"create\">Create</button></form></section>");

	ta_otp_has(p->ctx, p->s.row.user, p->s.row.tenant, &has_otp);
	td_buf_put(&b, "<section aria-labelledby=\"h-2fa\"><h2 id=\"h-2fa\">My second factor</h2>");
	if (has_otp) {
		td_buf_put(&b, "<p id=\"totp-state\">An authenticator app is set up.</p>"
		               "<form method=\"post\" action=\"/my/totp/remove\">");
		csrf_field(&b, &p->s);
		td_buf_put(&b, "<label for=\"rm-code\">Current code (to remove it)</label>"
		               "<input type=\"text\" id=\"rm-code\" name=\"code\" inputmode=\"numeric\" "
		               "autocomplete=\"one-time-code\" required>"
		               "<div><button type=\"submit\" class=\"secondary\" id=\"totp-remove\">"
		               "Remove authenticator</button></div></form>");
	} else {
		td_buf_put(&b, "<p id=\"totp-state\">No authenticator app is set up.</p>"
		               "<p><a href=\"/my/totp\" id=\"totp-setup\">Set up an authenticator "
		               "app</a></p>");
	}
	td_buf_put(&b, "</section>");
	send_page(p, 200, &b, "success");
}

/* ---- actions --------------------------------------------------------------------- */

/* "a=b\nc=d" into pairs for ta_token_params (blank lines skipped). */
static int scope_params(const char *scope, char **json, char *err, size_t errlen)
{
	char buf[SCOPE_MAX], *pairs[32], *p;
	size_t n = 0;

	*json = NULL;
	snprintf(buf, sizeof(buf), "%s", scope);
	for (p = buf; *p != '\0';) {
		size_t len = strcspn(p, "\r\n");
		char *next = p + len + (p[len] != '\0');
		p[len] = '\0';
		p += strspn(p, " ");
		if (*p != '\0') {
			if (n == sizeof(pairs) / sizeof(pairs[0])) {
				snprintf(err, errlen, "scope: at most 32 lines");
				return TA_ERR_INPUT;
			}
			pairs[n++] = p;
		}
		p = next;
	}
	if (n == 0)
		return TA_OK;
	return ta_token_params((const char *const *)pairs, n, json, err, errlen);
}

static void created_page(struct pctx *p, const char *token, const char *label, int64_t expires)
{
	struct td_buf b;
	char exp[32];

	fmt_time(exp, sizeof(exp), expires, "never");
	td_buf_init(&b, TD_PAGE_MAX);
	page_start(&b, "New app password", &p->s);
	td_buf_put(&b, "<section aria-labelledby=\"h-created\"><h2 id=\"h-created\">New app password: ");
	td_buf_text(&b, label);
	td_buf_put(&b, "</h2><p class=\"notice\" role=\"status\">Copy it now: it is shown only once "
	               "and cannot be shown again.</p><code class=\"secret\" id=\"new-token\">");
	td_buf_text(&b, token);
	td_buf_put(&b, "</code><button type=\"button\" class=\"secondary\" data-copy=\"new-token\" "
	               "data-status=\"copy-status\" hidden>Copy</button>"
	               "<p class=\"status\" id=\"copy-status\" role=\"status\"></p><p>Expires: ");
	td_buf_text(&b, exp);
	td_buf_put(&b, "</p><p><a href=\"/my/\" id=\"done\">Done</a></p></section>");
	send_page(p, 200, &b, "success");
}

static void do_create(struct pctx *p)
{
	char label[TA_MAX_LABEL + 2] = "", days[24] = "", scope[SCOPE_MAX] = "", err[256] = "",
	     token[TA_TOKEN_LEN + 1], id[TA_TOKEN_ID_LEN + 1];
	unsigned long max_ttl = ta_config_uint(p->cfg, "portal_max_ttl"),
	              max_tokens = ta_config_uint(p->cfg, "portal_max_tokens");
	unsigned long long d = 0, ttl = max_ttl;
	unsigned active = 0;
	char *json = NULL;
	int64_t expires = 0;
	long n;
	int r = TA_OK;

	p->a->action = "create";
	if (td_form_get(p->rq->body, p->rq->len, "label", label, sizeof(label)) <= 0 ||
	    !ta_name_ok(label, TA_MAX_LABEL)) {
		message_page(p, 400, "Bad label",
		             "label: 1 to 64 characters, no control characters, no space at either end.",
		             "bad_request");
		return;
	}
	if ((n = td_form_get(p->rq->body, p->rq->len, "days", days, sizeof(days))) > 0) {
		if (ta_parse_uint(days, 1, 100000, &d) != TA_OK || d * 86400 > max_ttl) {
			snprintf(err, sizeof(err), "days: a whole number from 1 to %lu",
			         max_ttl / 86400 ? max_ttl / 86400 : 1);
			message_page(p, 400, "Bad lifetime", err, "bad_request");
			return;
		}
		ttl = d * 86400;
	} else if (n == -2) {
		message_page(p, 400, "Bad lifetime", "days: not a number", "bad_request");
		return;
	}
	if (td_form_get(p->rq->body, p->rq->len, "scope", scope, sizeof(scope)) == -2 ||
	    scope_params(scope, &json, err, sizeof(err)) != TA_OK) {
		message_page(p, 400, "Bad scope", err[0] ? err : "scope: too long or not text",
		             "bad_request");
		return;
	}
	/* the limit is checked again under the user's lock with the insert:
	 * this count words the message, the issue enforces it */
	if (ta_token_count_active(p->ctx, p->s.row.user, p->s.row.tenant, &active) != TA_OK) {
		/* a store that cannot count is an outage, not a full list
		 * (helper-53 F5) */
		free(json);
		message_page(p, 503, "Unavailable", "Cannot create an app password now.",
		             "unavailable");
		return;
	}
	if (active >= max_tokens ||
	    (r = ta_token_issue_label(p->ctx, p->s.row.user, p->s.row.tenant, ttl, json, label,
	                              (unsigned)max_tokens, token, id, &expires)) ==
	        TA_ERR_EXISTS) {
		free(json);
		snprintf(err, sizeof(err),
		         "You already have %u app passwords (at most %lu): revoke one "
		         "first.",
		         active < max_tokens ? (unsigned)max_tokens : active, max_tokens);
		message_page(p, 409, "Too many app passwords", err, "exists");
		return;
	}
	if (r != TA_OK) {
		free(json);
		message_page(p, 503, "Unavailable", "Cannot create an app password now.", "unavailable");
		return;
	}
	free(json);
	td_log(TA_LOG_NOTICE, "%s portal token create user=%s id=%s ttl=%llu", p->rq->peer,
	       TA_Q(p->s.row.user), id, ttl);
	created_page(p, token, label, expires);
	ta_wipe(token, sizeof(token));
}

static void do_revoke(struct pctx *p)
{
	char id[TA_TOKEN_ID_LEN + 2] = "";
	int r;

	p->a->action = "revoke";
	if (td_form_get(p->rq->body, p->rq->len, "id", id, sizeof(id)) <= 0)
		id[0] = '\0';
	r = ta_token_revoke_own(p->ctx, p->s.row.user, p->s.row.tenant, id);
	td_log(TA_LOG_NOTICE, "%s portal token revoke user=%s id=%s outcome=%s", p->rq->peer,
	       TA_Q(p->s.row.user), TA_Q(id[0] ? id : "-"),
	       r == TA_OK ? "success" : r == TA_ERR_NOT_FOUND ? "not_found" : "error");
	if (r == TA_ERR_NOT_FOUND)
		message_page(p, 404, "No such app password",
		             "You have no active app password with that id.", "not_found");
	else if (r != TA_OK)
		message_page(p, 503, "Unavailable", "Cannot revoke now.", "unavailable");
	else
		redirect(p, "/my/", "success");
}

static const struct ta_otp_params totp_params = {TA_OTP_TOTP, TA_HASH_SHA1, 6, 30};

static void qr_svg(struct td_buf *b, const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int w;

	if (qr == NULL) {
		td_buf_put(b, "<p class=\"error\">Cannot draw the QR code: use the key below.</p>");
		return;
	}
	w = qr->width;
	td_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"-4 -4 %d %d\" "
	                 "role=\"img\" aria-label=\"QR code of the key\" shape-rendering=\"crispEdges\">"
	                 "<rect x=\"-4\" y=\"-4\" width=\"%d\" height=\"%d\" fill=\"#fff\"/><path d=\"",
	              w + 8, w + 8, w + 8, w + 8);
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			if (qr->data[y * w + x] & 1)
				td_buf_printf(b, "M%d %dh1v1h-1z", x, y);
	td_buf_put(b, "\" fill=\"#000\"/></svg>");
	QRcode_free(qr);
}

static void totp_page(struct pctx *p, const char *b32, const char *error)
{
	uint8_t secret[TA_OTP_MAX_SECRET];
	char uri[1024];
	long n = ta_base32_decode(b32, strlen(b32), secret, sizeof(secret));
	struct td_buf b;

	td_buf_init(&b, TD_PAGE_MAX);
	page_start(&b, "Set up an authenticator", &p->s);
	td_buf_put(&b, "<section aria-labelledby=\"h-totp\"><h2 id=\"h-totp\">Set up an "
	               "authenticator app</h2>");
	if (error != NULL) {
		td_buf_put(&b, "<p class=\"error\" role=\"alert\">");
		td_buf_text(&b, error);
		td_buf_put(&b, "</p>");
	}
	if (n > 0 && ta_otp_uri(&totp_params, secret, (size_t)n, "tokenauth", p->s.row.user, 0, uri,
	                        sizeof(uri)) == TA_OK) {
		td_buf_put(&b, "<p>Scan the code with your app, or type the key.</p><div class=\"qr\">");
		qr_svg(&b, uri);
		td_buf_put(&b, "</div><p><span class=\"keylabel\" id=\"key-label\">Key</span>"
		               "<code class=\"secret\" id=\"totp-secret\" aria-labelledby=\"key-label\">");
		td_buf_text(&b, b32);
		td_buf_put(&b, "</code></p><p><a id=\"totp-uri\" href=\"");
		td_buf_text(&b, uri);
		td_buf_put(&b, "\">Open in an authenticator app on this device</a></p>");
	}
	td_buf_put(&b, "<form method=\"post\" action=\"/my/totp\">");
	csrf_field(&b, &p->s);
	td_buf_put(&b, "<input type=\"hidden\" name=\"secret\" value=\"");
	td_buf_text(&b, b32);
	td_buf_put(&b, "\"><label for=\"totp-code\">Code shown by the app</label>"
	               "<input type=\"text\" id=\"totp-code\" name=\"code\" inputmode=\"numeric\" "
	               "autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" required>"
	               "<div><button type=\"submit\" id=\"totp-confirm\">Turn on</button></div>"
	               "</form><p><a href=\"/my/\">Cancel</a></p></section>");
	ta_wipe(secret, sizeof(secret));
	ta_wipe(uri, sizeof(uri));
	send_page(p, error ? 400 : 200, &b, error ? "invalid" : "success");
}

static void totp_new(struct pctx *p)
{
	uint8_t secret[20];
	char b32[SECRET_B32];

	if (ta_random(secret, sizeof(secret)) != TA_OK ||
	    ta_base32_encode(secret, sizeof(secret), b32, sizeof(b32)) < 0) {
		message_page(p, 503, "Unavailable", "No random source.", "unavailable");
		return;
	}
	ta_wipe(secret, sizeof(secret));
	totp_page(p, b32, NULL);
	ta_wipe(b32, sizeof(b32));
}

/*
 * The secret comes back in the form: the page showed it anyway, and the
 * only user it can be enrolled for is the session's own, after a code
 * for it proves an app holds it.
 */
static void do_totp_enrol(struct pctx *p)
{
	char b32[SECRET_B32] = "", code[CODE_MAX] = "";
	uint8_t secret[TA_OTP_MAX_SECRET], out[TA_OTP_MAX_SECRET];
	uint64_t next = 0;
	size_t outlen = 0;
	long n = -1;
	int r;

	p->a->action = "totp_enrol";
	if (td_form_get(p->rq->body, p->rq->len, "secret", b32, sizeof(b32)) > 0)
		n = ta_base32_decode(b32, strlen(b32), secret, sizeof(secret));
	if (n != 20) {
		message_page(p, 400, "Bad key", "secret: not a key this page made (20 bytes, base32).",
		             "bad_request");
		goto out;
	}
	if (td_form_get(p->rq->body, p->rq->len, "code", code, sizeof(code)) <= 0 ||
	    ta_otp_check(&totp_params, secret, 20, code, strlen(code), 0, (int64_t)time(NULL),
	                 (unsigned)ta_config_uint(p->cfg, "otp_window"), 0, &next) != TA_OK) {
		td_log(TA_LOG_NOTICE, "%s portal totp enrol user=%s outcome=wrong_code", p->rq->peer,
		       TA_Q(p->s.row.user));
		totp_page(p, b32, "That code does not match: check the app's clock and try again.");
		goto out;
	}
	r = ta_otp_enroll(p->ctx, p->s.row.user, p->s.row.tenant, &totp_params, secret, 20, next, 0,
	                  out, &outlen);
	ta_wipe(out, sizeof(out));
	td_log(TA_LOG_NOTICE, "%s portal totp enrol user=%s outcome=%s", p->rq->peer,
	       TA_Q(p->s.row.user), r == TA_OK ? "success" : r == TA_ERR_EXISTS ? "exists" : "error");
	if (r == TA_ERR_EXISTS)
		message_page(p, 409, "Already set up", "Remove the current authenticator first.",
		             "exists");
	else if (r != TA_OK)
		message_page(p, 503, "Unavailable", "Cannot store the key now.", "unavailable");
	else
		redirect(p, "/my/?totp=on", "success");
out:
	ta_wipe(secret, sizeof(secret));
	ta_wipe(b32, sizeof(b32));
	ta_wipe(code, sizeof(code));
}

static void do_totp_remove(struct pctx *p)
{
	char code[CODE_MAX] = "";
	int r;

	p->a->action = "totp_remove";
	if (td_form_get(p->rq->body, p->rq->len, "code", code, sizeof(code)) <= 0)
		code[0] = '\0';
	r = ta_otp_remove_with_code(p->ctx, p->s.row.user, p->s.row.tenant, code);
	ta_wipe(code, sizeof(code));
	td_log(TA_LOG_NOTICE, "%s portal totp remove user=%s outcome=%s", p->rq->peer,
	       TA_Q(p->s.row.user),
	       r == TA_OK ? "success" : r == TA_ERR_LOCKED ? "locked" : "wrong_code");
	if (r == TA_OK)
		redirect(p, "/my/?totp=off", "success");
	else if (r == TA_ERR_LOCKED)
		message_page(p, 429, "Locked", "Too many failed attempts: try again later.", "locked");
	else {
		p->a->guess = 1;
		message_page(p, 403, "Not removed", "That is not a current code of your authenticator.",
		             "invalid");
	}
}

static void do_logout(struct pctx *p)
{
	p->a->action = "logout";
	ta_session_end(p->ctx, p->s.sid);
	td_log(TA_LOG_NOTICE, "%s portal logout user=%s", p->rq->peer, TA_Q(p->s.row.user));
	snprintf(p->a->set_cookie, sizeof(p->a->set_cookie),
	         TD_PORTAL_COOKIE "=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	redirect(p, "/my/", "success");
}

/* ---- dispatch ---------------------------------------------------------------------- */

static void load_session(struct pctx *p)
{
	long n = td_cookie_get(p->rq->cookie, TD_PORTAL_COOKIE, p->s.sid, sizeof(p->s.sid));

	if (n != TA_SESSION_ID_LEN)
		return;
	if (ta_session_check(p->ctx, p->s.sid, p->idle, p->max, &p->s.row) != TA_OK)
		return;
	if (td_csrf_token(p->s.sid, p->s.csrf) != 0)
		return;
	p->s.live = 1;
	snprintf(p->a->user, sizeof(p->a->user), "%s", p->s.row.user);
}

static void serve_static(struct pctx *p, const char *body, const char *ctype)
{
	p->a->status = 200;
	p->a->ctype = ctype;
	p->a->body = strdup(body);
	p->a->outcome = "success";
	p->a->action = "page";
}

static int is_form(const char *ctype)
{
	return ctype != NULL && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0 &&
	       (ctype[33] == '\0' || ctype[33] == ';');
}

/*
 * A browser says where a form came from: Sec-Fetch-Site (Chromium,
 * Firefox) and Origin.  A form from another site or origin is refused
 * before anything, the login included (login CSRF: a cross-site page
 * logging the victim in as the attacker).  Our own pages send Origin
 * "null" (Referrer-Policy: no-referrer), which an attacker's page can
 * send too, so "null" proves nothing either way and Sec-Fetch-Site
 * decides; clients that send neither (curl) are judged by the CSRF token
 * alone.
 */
static int same_origin(const struct td_portal_req *rq)
{
	char want[300];

	if (rq->fetch_site != NULL && strcmp(rq->fetch_site, "same-origin") != 0 &&
	    strcmp(rq->fetch_site, "none") != 0)
		return 0;
	if (rq->origin == NULL || strcmp(rq->origin, "null") == 0)
		return 1;
	if (rq->host == NULL || strlen(rq->host) > 255)
		return 0;
	snprintf(want, sizeof(want), "https://%s", rq->host);
	return strcmp(rq->origin, want) == 0;
}

/*
 * A session outlives the login that made it (portal_session_max): before
 * it mints a credential, PAM's account stack must still accept the user,
 * so an account disabled, expired or removed since (offboarding) gets no
 * new app password or authenticator from a session left open.
 */
static int account_ok(struct pctx *p)
{
	const char *service = ta_config_str(p->cfg, "portal_pam_service");
	enum td_pam_result pr = td_pam_account(service, p->s.row.user);

	if (pr == TD_PAM_OK)
		return 1;
	if (pr == TD_PAM_ERROR) {
		td_log(TA_LOG_ERR, "%s portal %s user=%s: PAM service %s failed", p->rq->peer,
		       p->a->action, TA_Q(p->s.row.user), service);
		message_page(p, 503, "Unavailable", "The login service is not available.",
		             "unavailable");
		return 0;
	}
	td_log(TA_LOG_NOTICE, "%s portal %s user=%s refused: the account is no longer valid; "
	                      "session ended", p->rq->peer, p->a->action, TA_Q(p->s.row.user));
	ta_session_end(p->ctx, p->s.sid);
	p->s.live = 0;
	snprintf(p->a->set_cookie, sizeof(p->a->set_cookie),
	         TD_PORTAL_COOKIE "=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
	message_page(p, 403, "Account not active", "Your account cannot use this service any more.",
	             "forbidden");
	return 0;
}

static void handle_post(struct pctx *p, const char *path)
{
	char csrf[TD_CSRF_LEN + 2] = "";

	if (!same_origin(p->rq)) {
		td_log(TA_LOG_WARNING, "%s portal %s refused: Origin %s is not this site", p->rq->peer,
		       path, TA_Q(p->rq->origin));
		message_page(p, 403, "Refused", "This form came from another site.", "forbidden");
		return;
	}
	if (!is_form(p->rq->ctype)) {
		message_page(p, 415, "Unsupported form", "Forms must be sent as "
		             "application/x-www-form-urlencoded.", "bad_request");
		return;
	}
	if (strcmp(path, "/my/login") == 0) {
		do_login(p);
		return;
	}
	if (!p->s.live) {
		message_page(p, 401, "Session ended", "Your session has ended: log in again.",
		             "unauthorized");
		return;
	}
	if (td_form_get(p->rq->body, p->rq->len, "csrf", csrf, sizeof(csrf)) <= 0 ||
	    !td_csrf_ok(p->s.sid, csrf)) {
		td_log(TA_LOG_WARNING, "%s portal %s user=%s refused: missing or wrong CSRF token",
		       p->rq->peer, path, TA_Q(p->s.row.user));
		message_page(p, 403, "Refused", "This form is out of date or came from another site: "
		             "reload the page and try again.", "forbidden");
		return;
	}
	if (strcmp(path, "/my/logout") == 0)
		do_logout(p);
	else if (strcmp(path, "/my/tokens") == 0) {
		p->a->action = "create";
		if (account_ok(p))
			do_create(p);
	}
	else if (strcmp(path, "/my/revoke") == 0)
		do_revoke(p);
	else if (strcmp(path, "/my/totp") == 0) {
		p->a->action = "totp_enrol";
		if (account_ok(p))
			do_totp_enrol(p);
	}
	else if (strcmp(path, "/my/totp/remove") == 0)
		do_totp_remove(p);
	else
		message_page(p, 404, "Not found", "No such page.", "not_found");
}

static void handle_get(struct pctx *p, const char *path, const char *query)
{
	p->a->action = "page";
	if (strcmp(path, "/my/static/portal.css") == 0) {
		serve_static(p, portal_css, "text/css; charset=utf-8");
		return;
	}
	if (strcmp(path, "/my/static/portal.js") == 0) {
		serve_static(p, portal_js, "text/javascript; charset=utf-8");
		return;
	}
	if (!p->s.live && strcmp(path, "/my/") == 0 && p->rq->remote_user != NULL) {
		header_login(p);
		return;
	}
	if (!p->s.live) {
		if (p->rq->header_untrusted)
			td_log(TA_LOG_WARNING, "%s portal: trusted header from a peer not in "
			                       "portal_trusted_proxies: ignored", p->rq->peer);
		login_page(p, strcmp(path, "/my/") == 0 ? 200 : 401, NULL, NULL, NULL);
		return;
	}
	if (strcmp(path, "/my/") == 0)
		main_page(p, query && strcmp(query, "totp=on") == 0    ? "Authenticator app turned on."
		             : query && strcmp(query, "totp=off") == 0 ? "Authenticator app removed."
		                                                       : NULL);
	else if (strcmp(path, "/my/totp") == 0)
		totp_new(p);
	else
		message_page(p, 404, "Not found", "No such page.", "not_found");
}

void td_portal_handle(ta_ctx *ctx, const ta_config *cfg, const struct td_portal_req *rq,
                      struct td_portal_ans *a)
{
	struct pctx p;
	char path[256];
	const char *q = strchr(rq->url, '?');
	size_t n = q ? (size_t)(q - rq->url) : strlen(rq->url);

	memset(a, 0, sizeof(*a));
	memset(&p, 0, sizeof(p));
	p.ctx = ctx;
	p.cfg = cfg;
	p.rq = rq;
	p.a = a;
	p.idle = ta_config_uint(cfg, "portal_session_idle");
	p.max = ta_config_uint(cfg, "portal_session_max");
	a->action = "page";
	if (n >= sizeof(path)) {
		message_page(&p, 404, "Not found", "No such page.", "not_found");
		return;
	}
	memcpy(path, rq->url, n);
	path[n] = '\0';
	load_session(&p);
	if (strcmp(rq->method, "POST") == 0)
		handle_post(&p, path);
	else
		handle_get(&p, path, q ? q + 1 : NULL);
	ta_wipe(&p.s, sizeof(p.s));
}

void td_portal_ans_clear(struct td_portal_ans *a)
{
	if (a->body != NULL)
		ta_wipe_free(a->body);
	a->body = NULL;
}
