/*
 * global.c - process-wide initialisation of the libraries the core uses
 * (libcurl today), done once per process however often it is asked for.
 *
 * This is the one place that touches process-global library state, so the
 * rules for privileged hosts (setuid sudo/su, daemons) live here too: see
 * SECURITY.md, "The caller's environment".
 *
 * A PAM module or SASL plugin runs inside setuid programs whose environment
 * the calling user chose.  Several libraries we link read that environment
 * with plain getenv(): libcurl opens the file named by SSLKEYLOGFILE for
 * appending at curl_global_init (lib/vtls/keylog.c), even for http:// URLs;
 * SQLite takes its temporary folder from SQLITE_TMPDIR and TMPDIR at
 * sqlite3_initialize; libpq takes host, port, user, password file, service
 * file and TLS files from PG*.  There is no library option that turns these
 * off, so in a privileged process (AT_SECURE, or real and effective ids
 * differ) we remove them from the environment, the way the dynamic loader
 * already removes LD_* and glibc's own list (TMPDIR among them).
 *
 * When: from an ELF constructor, i.e. when the PAM module or SASL plugin is
 * loaded (or the program starts), before any code of ours or of the
 * libraries above has read them; and again, idempotently, at the head of
 * ta_global_init.  unsetenv is not thread-safe against a concurrent getenv
 * in another thread; setuid hosts (sudo, su, passwd, pkexec) load PAM
 * modules while single-threaded, and the scrub runs only once per process.
 * In an unprivileged process nothing is touched: there the environment
 * belongs to whoever started the process, with the same rights it has.
 * Our own programs (tokenauth, tokenauthd) also drop every PG* at the top
 * of main, privileged or not (ta_global_scrub_pg): their store is the DSN
 * file alone, whoever runs them and with whatever sudo -E passed on.
 */
#include "ctx_int.h"
#include "lazy.h"
#include "verify.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <curl/curl.h>

extern char **environ;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_once_t scrub_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;
static char init_why[256]; /* why init_rc is not CURLE_OK */
static int init_err = TA_ERR_UNAVAILABLE; /* what a failed init answers */

/* Variables removed by exact name in a privileged process. */
static const char *const drop_names[] = {
    "SSLKEYLOGFILE",        /* libcurl: fopen(name, "a") at global init */
    "OPENSSL_CONF",         /* OpenSSL reads these with ossl_safe_getenv, */
    "OPENSSL_CONF_INCLUDE", /* i.e. ignores them under AT_SECURE already; */
    "OPENSSL_MODULES",      /* removed so that no other reader (an older */
    "OPENSSL_ENGINES",      /* library, a plain getenv) ever sees them */
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CTLOG_FILE",
    "RANDFILE",
    "SQLITE_TMPDIR", /* SQLite: temporary files (sorts, temp tables) */
    "TMPDIR",        /* SQLite's second choice; glibc drops it too */
    "NTLMUSER",      /* libcurl NTLM_WB (never enabled by us) */
};

/*
 * Variables removed by family: every PG* (libpq: PGHOST, PGPASSFILE,
 * PGSERVICEFILE, PGSSLROOTCERT, PGSYSCONFDIR, ...), every CURL_* (libcurl
 * knobs: CURL_SSL_BACKEND, CURL_HOME, CURL_DEBUG, ...) and every *_proxy in
 * any case (libcurl: http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY, ...).
 */
static int drop_family(const char *name, size_t len)
{
	static const char suffix[] = "_proxy";
	size_t sl = sizeof(suffix) - 1;

	if (len >= 2 && strncmp(name, "PG", 2) == 0)
		return 1;
	if (len >= 5 && strncmp(name, "CURL_", 5) == 0)
		return 1;
	return len >= sl && strncasecmp(name + len - sl, suffix, sl) == 0;
}

static int drop_exact(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(drop_names) / sizeof(drop_names[0]); i++)
		if (strlen(drop_names[i]) == len && memcmp(drop_names[i], name, len) == 0)
			return 1;
	return 0;
}

/*
 * Remove environ[i] by shifting the rest down: what unsetenv does, used
 * only for a name too long for our buffer (unsetenv needs the bare name).
 */
static void drop_entry(size_t i)
{
	do
		environ[i] = environ[i + 1];
	while (environ[i++] != NULL);
}

static int drop_any(const char *name, size_t len)
{
	return drop_exact(name, len) || drop_family(name, len);
}

static int drop_pg(const char *name, size_t len)
{
	return len >= 2 && strncmp(name, "PG", 2) == 0;
}

/* Remove every variable whose name drop() accepts. */
static void scrub_by(int (*drop)(const char *name, size_t len))
{
	char name[256];
	size_t i = 0;

	if (environ == NULL)
		return;
	while (environ[i] != NULL) {
		const char *e = environ[i], *eq = strchr(e, '=');
		size_t len = eq ? (size_t)(eq - e) : strlen(e);

		if (!drop(e, len)) {
			i++;
			continue;
		}
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, e, len);
			name[len] = '\0';
			/* removes every entry of that name; rescan from the same slot */
			if (unsetenv(name) == 0 && environ[i] != e)
				continue;
		}
		drop_entry(i);
	}
}

/* AT_SECURE: setuid, setgid or file capabilities at exec (see ld.so(8)). */
static int privileged(void)
{
	return getauxval(AT_SECURE) != 0 || getuid() != geteuid() || getgid() != getegid();
}

int ta_global_privileged(void)
{
	return privileged();
}

/*
 * Limits the caller set survive exec into a setuid host.  RLIMIT_FSIZE 0
 * with SIGXFSZ ignored makes every store write fail: the throttle then
 * refuses unchecked (verify.c), but the host's other files are ours to
 * protect too, so a privileged process gets back the room to write and
 * the descriptors to open its store.  Only ever raised, never lowered.
 */
static void restore_limits(void)
{
	struct rlimit fs = {RLIM_INFINITY, RLIM_INFINITY}, nf;

	/* without CAP_SYS_RESOURCE, at least the caller's soft limit goes (a
	 * limit left in place sends guesses the slower way: verify.c,
	 * commit_may_be_cut) */
	if (setrlimit(RLIMIT_FSIZE, &fs) != 0 && getrlimit(RLIMIT_FSIZE, &fs) == 0) {
		fs.rlim_cur = fs.rlim_max;
		(void)setrlimit(RLIMIT_FSIZE, &fs);
	}
	if (getrlimit(RLIMIT_NOFILE, &nf) == 0 && nf.rlim_cur < 1024) {
		nf.rlim_cur = 1024;
		if (nf.rlim_max < 1024)
			nf.rlim_max = 1024;
		(void)setrlimit(RLIMIT_NOFILE, &nf);
	}
}

static void scrub_if_privileged(void)
{
	if (privileged()) {
		scrub_by(drop_any);
		restore_limits();
	}
}

__attribute__((constructor)) static void scrub_at_load(void)
{
	pthread_once(&scrub_once, scrub_if_privileged);
}

static void init(void)
{
	pthread_once(&scrub_once, scrub_if_privileged);
	/* Only what we use: TLS.  (libcurl >= 7.57 initialises TLS whatever the
	 * flags say; CURL_GLOBAL_WIN32 means nothing here.) */
	/* libcurl that cannot be loaded is ta_lazy_curl's TA_ERR_CONFIG */
	if ((init_err = ta_lazy_curl(init_why, sizeof(init_why))) != TA_OK)
		init_rc = CURLE_FAILED_INIT;
	else if ((init_rc = curl_global_init(CURL_GLOBAL_SSL)) != CURLE_OK)
		init_err = TA_ERR_UNAVAILABLE;
	if (init_rc != CURLE_OK && init_why[0] == '\0')
		snprintf(init_why, sizeof(init_why), "curl_global_init: %s", curl_easy_strerror(init_rc));
}

void ta_global_scrub_pg(void)
{
	scrub_by(drop_pg);
}

int ta_global_init(void)
{
	pthread_once(&once, init);
	return init_rc == CURLE_OK ? TA_OK : init_err;
}

const char *ta_global_init_error(void)
{
	pthread_once(&once, init);
	return init_rc == CURLE_OK ? "" : init_why;
}

/* ---- the process id, one system call per process ------------------------- */

/* Written once (pthread_once) before any read; the page's word is the
 * only thing written after, atomically, and always with the same value.
 * The page is never unmapped: a thread still in ta_getpid at exit would
 * read unmapped memory (both front-ends stay loaded, -z nodelete). */
static struct {
	pthread_once_t once;
	pid_t *page; /* reads 0 in a forked child: MADV_WIPEONFORK */
	size_t len;
} pidk = {PTHREAD_ONCE_INIT, NULL, 0};

static void pid_page_init(void)
{
	long len = sysconf(_SC_PAGESIZE);
	void *p;

	if (len <= 0)
		return;
	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, (size_t)len, MADV_WIPEONFORK) != 0) { /* older kernel: getpid() */
		munmap(p, (size_t)len);
		return;
	}
	pidk.len = (size_t)len;
	pidk.page = p;
}

pid_t ta_getpid(void)
{
	pid_t pid;

	pthread_once(&pidk.once, pid_page_init);
	if (pidk.page == NULL)
		return getpid();
	if ((pid = __atomic_load_n(pidk.page, __ATOMIC_RELAXED)) == 0) {
		pid = getpid();
		__atomic_store_n(pidk.page, pid, __ATOMIC_RELAXED);
	}
	return pid;
}
