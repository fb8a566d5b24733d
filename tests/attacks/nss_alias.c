/*
 * nss_alias.c - an LD_PRELOAD stand-in for a user database that gives one
 * account several names (SSSD or LDAP with case_sensitive = false, winbind
 * accepting DOMAIN\user): getpwnam_r of any name listed in NSS_ALIAS
 * ("typed=account,typed=account") answers with the account's entry under
 * the account's name; a name listed in NSS_FAIL ("a,b") fails with EIO, as
 * a directory that is down or a full descriptor table makes it fail, and
 * one in NSS_FAIL_ENOENT with ENOENT, as nss-pam-ldapd and SSSD report an
 * outage.
 * Other names go to the real getpwnam_r.
 * tests/attacks/pam.sh section 4.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, struct passwd **res)
{
	int (*real)(const char *, struct passwd *, char *, size_t, struct passwd **) =
	    (int (*)(const char *, struct passwd *, char *, size_t, struct passwd **))dlsym(
	        RTLD_NEXT, "getpwnam_r");
	const char *list = getenv("NSS_ALIAS"), *p = list;
	const char *fails[2] = {getenv("NSS_FAIL"), getenv("NSS_FAIL_ENOENT")};
	size_t nl = strlen(name);

	for (int k = 0; k < 2; k++)
		for (const char *f = fails[k]; f != NULL && *f;) {
			const char *end = strchr(f, ',');
			size_t fl = end ? (size_t)(end - f) : strlen(f);
			if (fl == nl && memcmp(f, name, nl) == 0) {
				*res = NULL;
				return k == 0 ? EIO : ENOENT;
			}
			f = end ? end + 1 : NULL;
		}
	while (p != NULL && *p) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if (eq != NULL && eq < end && (size_t)(eq - p) == nl && memcmp(p, name, nl) == 0) {
			size_t al = (size_t)(end - eq - 1);
			if (al + 8 > len)
				return ERANGE;
			memcpy(buf, eq + 1, al);
			buf[al] = '\0';
			memcpy(buf + al + 1, "x", 2);
			memcpy(buf + al + 3, "/", 2);
			memset(pw, 0, sizeof(*pw));
			pw->pw_name = buf;
			pw->pw_passwd = buf + al + 1;
			pw->pw_uid = pw->pw_gid = 4242;
			pw->pw_gecos = buf + al + 2; /* "" */
			pw->pw_dir = buf + al + 3;
			pw->pw_shell = buf + al + 3;
			*res = pw;
			return 0;
		}
		p = *end ? end + 1 : NULL;
	}
	return real(name, pw, buf, len, res);
}
