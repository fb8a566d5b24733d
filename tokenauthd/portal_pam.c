/*
 * portal_pam.c - the portal's login through PAM, and the table of pending
 * second steps.
 *
 * Two-step logins restart the PAM transaction: the first request runs the
 * stack until it asks a second question, which the conversation refuses
 * (PAM_CONV_ERR); the code form then reruns it answering the password
 * again, then the code.  No PAM handle, and no thread, waits between the
 * two requests, so a flood of half-logins holds nothing but 64 small
 * records, any worker (after a restart: none) can finish a login, and a
 * stack's modules always see one complete conversation.  The price: the
 * first module runs twice, and the password is held, wiped on every path,
 * for at most 120 s.
 */
#define _GNU_SOURCE
#include "td_portal.h"

#include "crypto.h"

#include <pthread.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PENDING_SLOTS 64
#define PENDING_SECS  120
#define PENDING_PER_CLIENT 8 /* the table needs 8 clients to fill */
#define PASS_MAX      512

struct conv_state {
	const char *password, *code;
	unsigned asked;
	int need_code;
};

static void free_replies(struct pam_response *r, int n)
{
	for (int i = 0; r != NULL && i < n; i++)
		if (r[i].resp != NULL) {
			ta_wipe(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *arg)
{
	struct conv_state *cs = arg;
	struct pam_response *r;

	*resp = NULL;
	if (n <= 0 || n > 32 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++) {
		const char *answer = NULL;
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue; /* info and error texts: nothing to answer */
		if (cs->asked == 0)
			answer = cs->password;
		else if (cs->asked == 1 && cs->code != NULL)
			answer = cs->code;
		cs->asked++;
		if (answer == NULL) {
			cs->need_code = cs->asked == 2;
			free_replies(r, n);
			return PAM_CONV_ERR;
		}
		if ((r[i].resp = strdup(answer)) == NULL) {
			free_replies(r, n);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/*
 * A module's pam_fail_delay (pam_unix, pam_tokenauth: 2 s) would sleep in
 * this worker thread after every failure, and the same threads answer
 * /validate: a few concurrent failing logins (or first steps of one's own
 * two-step login, which nothing counts) would stall the whole listener.
 * libpam calls this instead of sleeping; the portal's guesses are bounded
 * by the store's lockout and the per-client limits, checked before PAM.
 */
static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
	(void)retval;
	(void)usec_delay;
	(void)appdata;
}

enum td_pam_result td_pam_login(const char *service, const char *user, const char *password,
                                const char *code, char *user_out, size_t cap)
{
	struct conv_state cs = {password, code, 0, 0};
	struct pam_conv pc = {conv, &cs};
	pam_handle_t *pamh = NULL;
	const void *item = NULL;
	enum td_pam_result res = TD_PAM_ERROR;
	int rc;

	user_out[0] = '\0';
	if (pam_start(service, user, &pc, &pamh) != PAM_SUCCESS)
		return TD_PAM_ERROR;
	if (pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay) != PAM_SUCCESS) {
		pam_end(pamh, PAM_SYSTEM_ERR);
		return TD_PAM_ERROR;
	}
	rc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS && pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS &&
	    item != NULL && strlen(item) < cap) {
		memcpy(user_out, item, strlen(item) + 1);
		res = TD_PAM_OK;
	} else if (cs.need_code) {
		res = TD_PAM_NEED_CODE;
	} else if (rc != PAM_SUCCESS) {
		res = rc == PAM_ABORT || rc == PAM_BUF_ERR || rc == PAM_SYSTEM_ERR ? TD_PAM_ERROR
		                                                                    : TD_PAM_FAIL;
	}
	pam_end(pamh, rc);
	return res;
}

enum td_pam_result td_pam_account(const char *service, const char *user)
{
	struct conv_state cs = {NULL, NULL, 0, 0};
	struct pam_conv pc = {conv, &cs};
	pam_handle_t *pamh = NULL;
	int rc;

	if (pam_start(service, user, &pc, &pamh) != PAM_SUCCESS)
		return TD_PAM_ERROR;
	rc = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? TD_PAM_OK
	       : rc == PAM_ABORT || rc == PAM_BUF_ERR || rc == PAM_SYSTEM_ERR ? TD_PAM_ERROR
	                                                                      : TD_PAM_FAIL;
}

/* ---- pending second steps -------------------------------------------------------- */

struct pending {
	char id[TD_PENDING_ID_LEN + 1];
	char user[TA_MAX_USER + 1];
	char client[64]; /* the limits key of the client that started it */
	char password[PASS_MAX];
	time_t at; /* CLOCK_MONOTONIC seconds; 0: free */
};

static struct pending slots[PENDING_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static time_t mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + 1; /* never 0 */
}

static void clear_slot(struct pending *p)
{
	ta_wipe(p, sizeof(*p));
}

/*
 * Nothing counts a first step (the code prompt is no failure), so the
 * table must not be a prize: a user holds one pending login (a new first
 * step replaces the older one) and a client at most PENDING_PER_CLIENT (a
 * new one replaces that client's oldest), so one account or one address
 * cannot fill the table and lock every two-step user out.
 */
int td_pending_put(const char *user, const char *client, const char *password,
                   char id[TD_PENDING_ID_LEN + 1])
{
	uint8_t raw[TD_PENDING_ID_LEN / 2];
	time_t now = mono();
	struct pending *slot = NULL, *oldest = NULL;
	unsigned mine = 0;

	if (client == NULL)
		client = "";
	if (strlen(user) > TA_MAX_USER || strlen(client) >= sizeof(slots[0].client) ||
	    strlen(password) >= PASS_MAX || ta_random(raw, sizeof(raw)) != TA_OK)
		return -1;
	ta_hex(raw, sizeof(raw), id);
	pthread_mutex_lock(&slots_lock);
	for (size_t i = 0; i < PENDING_SLOTS; i++) {
		struct pending *p = &slots[i];
		if (p->at != 0 && (now - p->at > PENDING_SECS || strcmp(p->user, user) == 0))
			clear_slot(p); /* expired, or this user's earlier first step */
		if (p->at != 0 && strcmp(p->client, client) == 0) {
			mine++;
			if (oldest == NULL || p->at < oldest->at)
				oldest = p;
		}
	}
	if (mine >= PENDING_PER_CLIENT && oldest != NULL)
		clear_slot(oldest);
	for (size_t i = 0; i < PENDING_SLOTS && slot == NULL; i++)
		if (slots[i].at == 0)
			slot = &slots[i];
	if (slot != NULL) {
		memcpy(slot->id, id, TD_PENDING_ID_LEN + 1);
		memcpy(slot->user, user, strlen(user) + 1);
		memcpy(slot->client, client, strlen(client) + 1);
		memcpy(slot->password, password, strlen(password) + 1);
		slot->at = now;
	}
	pthread_mutex_unlock(&slots_lock);
	return slot != NULL ? 0 : -1;
}

int td_pending_take(const char *id, char *user, size_t ucap, char *password, size_t pcap)
{
	time_t now = mono();
	int r = -1;

	if (id == NULL || strlen(id) != TD_PENDING_ID_LEN)
		return -1;
	pthread_mutex_lock(&slots_lock);
	for (size_t i = 0; i < PENDING_SLOTS; i++) {
		struct pending *p = &slots[i];
		if (p->at == 0 || !ta_ct_eq(p->id, id, TD_PENDING_ID_LEN))
			continue;
		if (now - p->at <= PENDING_SECS && strlen(p->user) < ucap &&
		    strlen(p->password) < pcap) {
			memcpy(user, p->user, strlen(p->user) + 1);
			memcpy(password, p->password, strlen(p->password) + 1);
			r = 0;
		}
		clear_slot(p); /* one use, right or wrong */
	}
	pthread_mutex_unlock(&slots_lock);
	return r;
}
