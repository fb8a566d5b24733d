/*
 * pamtest_util.h - what the PAM test programs share: a conversation
 * function that answers one no-echo prompt and records every message, and
 * a PAM_FAIL_DELAY hook that records the delay the modules asked for
 * instead of sleeping.
 *
 * Header-only (static functions) so each test program stays one file.
 */
#ifndef TA_PAMTEST_UTIL_H
#define TA_PAMTEST_UTIL_H

#include <security/pam_appl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One conversation: the answer to give and what the module sent. */
struct conv_rec {
	const char *answer; /* reply to PAM_PROMPT_ECHO_OFF; NULL: conversation error */
	int echo_off, echo_on, error_msg, text_info;
	char prompt[256];    /* text of the last no-echo prompt */
	unsigned delay_usec; /* largest delay requested through pam_fail_delay */
	int delay_calls;
};

static inline void conv_rec_reset(struct conv_rec *c, const char *answer)
{
	memset(c, 0, sizeof(*c));
	c->answer = answer;
}

static inline void free_responses(struct pam_response *r, int n)
{
	for (int i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
}

/* pam_conv: answers no-echo prompts with c->answer, counts everything. */
static inline int rec_conv(int n, const struct pam_message **msg, struct pam_response **resp,
                           void *arg)
{
	struct conv_rec *c = arg;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			c->echo_off++;
			snprintf(c->prompt, sizeof(c->prompt), "%s", msg[i]->msg);
			if (c->answer == NULL || (r[i].resp = strdup(c->answer)) == NULL) {
				free_responses(r, n);
				return PAM_CONV_ERR;
			}
			break;
		case PAM_PROMPT_ECHO_ON: c->echo_on++; break;
		case PAM_ERROR_MSG: c->error_msg++; break;
		case PAM_TEXT_INFO: c->text_info++; break;
		default: break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* PAM_FAIL_DELAY hook: appdata is the conversation's appdata_ptr. */
static inline void rec_delay(int retval, unsigned usec, void *appdata)
{
	struct conv_rec *c = appdata;

	(void)retval;
	c->delay_calls++;
	if (usec > c->delay_usec)
		c->delay_usec = usec;
}

/* Install the recording delay hook (the application may set it). */
static inline int set_delay_hook(pam_handle_t *ph)
{
	void (*fn)(int, unsigned, void *) = rec_delay;

	return pam_set_item(ph, PAM_FAIL_DELAY, (const void *)fn);
}

#endif
