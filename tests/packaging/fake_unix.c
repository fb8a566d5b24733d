/*
 * fake_unix.c - a stand-in for pam_unix (and, with use_first_pass, for
 * pam_sss) in tests/packaging/pam_profile_stack.sh: like pam_unix it gets
 * the password through pam_get_authtok(), which prompts "Password: " and
 * leaves the answer in PAM_AUTHTOK whether or not it is right, prompts a
 * user it does not know too, and returns PAM_USER_UNKNOWN for that user and
 * PAM_AUTH_ERR for a wrong password.  passdb=FILE: "user:password" lines.
 */
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <string.h>

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const char *user = NULL, *tok = NULL, *db = NULL;
	int use_first = 0, known = 0, ok = 0;
	char line[512];
	FILE *f;

	(void)flags;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "passdb=", 7) == 0)
			db = argv[i] + 7;
		else if (strcmp(argv[i], "use_first_pass") == 0)
			use_first = 1;
	}
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL)
		return PAM_USER_UNKNOWN;
	if (use_first) {
		const void *item = NULL;
		if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS || item == NULL)
			return PAM_AUTH_ERR;
		tok = item;
	} else if (pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL) != PAM_SUCCESS) {
		return PAM_AUTH_ERR;
	}
	if (db == NULL || (f = fopen(db, "r")) == NULL)
		return PAM_AUTHINFO_UNAVAIL;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		colon[strcspn(colon + 1, "\n") + 1] = '\0';
		if (strcmp(line, user) == 0) {
			known = 1;
			ok = strcmp(colon + 1, tok) == 0;
		}
	}
	fclose(f);
	return !known ? PAM_USER_UNKNOWN : ok ? PAM_SUCCESS : PAM_AUTH_ERR;
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
