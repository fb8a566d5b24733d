/*
 * lazy.h - libpq and libcurl, loaded on first use (internal to the core).
 *
 * Only the PostgreSQL store needs libpq and only the network backends
 * (remote, jwt) need libcurl; with their own dependencies they are some
 * thirty libraries.  Linked, they were mapped into every host that loads
 * the PAM module or the SASL plugin, and libpam's loading and unloading of
 * the other modules of each transaction walks every loaded object: a
 * pam_permit transaction cost about 13 % more in a process that had
 * loaded pam_tokenauth.so.  lazy.c defines the functions the core calls
 * (hidden, under their own names, so the call sites and curl's type
 * checks stay as they are) and loads the library by its soname, from the
 * dynamic loader's own search path, the first time one is called.
 */
#ifndef TA_LAZY_H
#define TA_LAZY_H

#include <stddef.h>

/* Load libpq / libcurl now: TA_OK, or TA_ERR_CONFIG with the loader's
 * reason in err ("cannot load libpq.so.5: ..."): a library that cannot
 * be loaded fails the login, never as an outage a stack may skip. */
int ta_lazy_pq(char *err, size_t errlen);
int ta_lazy_curl(char *err, size_t errlen);

#endif
