/*
 * bench_pam.c - pam_tokenauth.so against Debian's pam_oath.so, through
 * libpam (under pam_wrapper, see pam.sh).
 *
 *   bench_pam gen N FILE
 *       write a pam_oath users file of N TOTP users (u000000...), SHA1,
 *       6 digits, 30 s, each with its own secret derived from its number.
 *   bench_pam seq SERVICE N START BUDGET MAX
 *       one PAM handle, repeated pam_authenticate: user after user, each
 *       with the current valid code, until MAX logins or BUDGET seconds.
 *   bench_pam seqnew SERVICE N START BUDGET MAX
 *       the same with a new handle (pam_start .. pam_end) for every login,
 *       as a server that runs one PAM transaction per request does.
 *   bench_pam conc SERVICE N COUNT
 *       COUNT processes, COUNT different users, one valid code each, all
 *       released at the same instant; prints how many succeeded.
 *   bench_pam handle BUDGET ROUNDS N TOKEN_FILE
 *       a new handle per login (pam_start .. pam_end), one process, for the
 *       services permit (pam_permit), token (user bench-token, the token
 *       in TOKEN_FILE) and totp (users of N, each login a user not used
 *       before in the run, with its current code); ROUNDS rounds of BUDGET
 *       seconds per service, each round cut into SLICES slices in which
 *       the services take turns (order rotated every slice), so that all
 *       rows of a round see the same stretch of a shared machine; prints
 *       the median round of each, and against pam_permit the median of
 *       the rounds' own ratios (see pam_handle.sh).  Exits 1 when any
 *       login was refused.
 *
 * Fairness.  A TOTP code is good once per user and time step (pam_oath
 * refuses a replay too), so every login is a different user with that
 * user's current code.  Users are visited in the order i*7919 mod N, a
 * permutation that spreads them over the whole file, so neither module
 * gains from a user sitting at the start of a file or index.  All codes
 * are computed before the clock starts; a run that crosses a 30 s step
 * still passes because both modules allow one step of drift (window=1 /
 * otp_window 1).  Failed logins are counted and reported, never as
 * successes.  Both modules see the same users and secrets: our store is
 * imported from the very file pam_oath reads.  On one handle
 * pam_tokenauth keeps its store open between calls; pam_oath has nothing
 * to keep and reads and rewrites its whole file on every login.  seqnew
 * measures pam_tokenauth without that advantage.
 */
#include <security/pam_appl.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "otp.h"
#include "pamtest_util.h"

#define STRIDE     7919ULL /* prime, coprime with 10^k: i*STRIDE mod N permutes */
#define SECRET_LEN 20
#define PERIOD     30
#define MAX_CONC   256
#define MAX_ROUNDS 15
#define SLICES     50 /* interleaved slices per round of the kept rows */
#define WARMUP     50 /* untimed logins per service before the first round */

struct login {
	char user[24], code[8];
};

static int parse_ul(const char *s, unsigned long max, unsigned long *out)
{
	char *end = NULL;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out <= max;
}

static void user_name(unsigned long i, char name[24])
{
	snprintf(name, 24, "u%06lu", i);
}

/* The secret of user i: SHA-256("tokenauth-bench-<i>"), first 20 bytes. */
static void user_secret(unsigned long i, uint8_t secret[SECRET_LEN])
{
	uint8_t h[TA_SHA256_LEN];
	char seed[64];

	snprintf(seed, sizeof(seed), "tokenauth-bench-%lu", i);
	ta_sha256(seed, strlen(seed), h);
	memcpy(secret, h, SECRET_LEN);
}

/* User number i and its TOTP code at time t. */
static void make_login(unsigned long i, time_t t, struct login *l)
{
	uint8_t secret[SECRET_LEN];
	uint32_t c = 0;

	user_name(i, l->user);
	user_secret(i, secret);
	ta_otp_code(secret, SECRET_LEN, TA_HASH_SHA1, 6, (uint64_t)t / PERIOD, &c);
	snprintf(l->code, sizeof(l->code), "%06u", (unsigned)c);
}

/* The j-th user visited: a permutation spread over the whole file. */
static unsigned long nth_user(unsigned long j, unsigned long n)
{
	return (unsigned long)(((unsigned long long)j * STRIDE) % n);
}

static int gen(unsigned long n, const char *path)
{
	FILE *f = fopen(path, "w");
	uint8_t secret[SECRET_LEN];
	char name[24], hex[2 * SECRET_LEN + 1];

	if (f == NULL) {
		perror(path);
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		user_name(i, name);
		user_secret(i, secret);
		ta_hex(secret, SECRET_LEN, hex);
		fprintf(f, "HOTP/T30/6\t%s\t-\t%s\n", name, hex);
	}
	return fclose(f) == 0 ? 0 : 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One login on its own handle: pam_start, pam_authenticate, pam_end. */
static int login_fresh(const char *service, const char *user, const char *answer)
{
	struct conv_rec rec;
	struct pam_conv conv = {rec_conv, &rec};
	pam_handle_t *ph = NULL;
	int r;

	conv_rec_reset(&rec, answer);
	if (pam_start(service, user, &conv, &ph) != PAM_SUCCESS)
		return PAM_SYSTEM_ERR;
	set_delay_hook(ph);
	r = pam_authenticate(ph, 0);
	pam_end(ph, r);
	return r;
}

/*
 * Logins l[0..count) until budget seconds: on one handle (ph) or, when ph
 * is NULL, each on a handle of its own.  Returns how many were tried.
 */
static unsigned long timed_logins(const char *service, pam_handle_t *ph, struct conv_rec *rec,
                                  const struct login *l, unsigned long count, double budget,
                                  unsigned long *ok, double *elapsed)
{
	double t0 = now_s();
	unsigned long done = 0;

	for (; done < count && now_s() - t0 < budget; done++) {
		int r;
		if (ph == NULL) {
			r = login_fresh(service, l[done].user, l[done].code);
		} else {
			pam_set_item(ph, PAM_USER, l[done].user);
			rec->answer = l[done].code;
			r = pam_authenticate(ph, 0);
		}
		*ok += r == PAM_SUCCESS;
	}
	*elapsed = now_s() - t0;
	return done;
}

static int seq(const char *service, unsigned long n, unsigned long start, double budget,
               unsigned long max, int fresh)
{
	struct conv_rec rec;
	struct pam_conv conv = {rec_conv, &rec};
	pam_handle_t *ph = NULL;
	struct login *l;
	unsigned long count = max < n - start ? max : n - start, done, ok = 0;
	time_t t = time(NULL);
	double el = 0;
	int rc = 1;

	if ((l = calloc(count, sizeof(*l))) == NULL)
		return 1;
	for (unsigned long j = 0; j < count; j++)
		make_login(nth_user(start + j, n), t, &l[j]);
	conv_rec_reset(&rec, NULL);
	if (!fresh && pam_start(service, l[0].user, &conv, &ph) != PAM_SUCCESS)
		goto out;
	if (ph != NULL)
		set_delay_hook(ph); /* failures must not sleep inside the timing */
	done = timed_logins(service, ph, &rec, l, count, budget, &ok, &el);
	if (ph != NULL)
		pam_end(ph, PAM_SUCCESS);
	printf("logins=%lu ok=%lu seconds=%.3f per_second=%.1f\n", done, ok, el,
	       el > 0 ? (double)ok / el : 0.0);
	rc = 0;
out:
	free(l);
	return rc;
}

/*
 * One child: pam_start, report ready, wait for the start signal, log in
 * once, exit with the PAM code.  pam_start (where pam_wrapper sets up its
 * private folder and libpam loads the modules) is done one child at a
 * time, so only pam_authenticate itself runs simultaneously.
 */
static void conc_child(const char *service, const struct login *l, int ready, int gate)
{
	struct conv_rec rec;
	struct pam_conv conv = {rec_conv, &rec};
	pam_handle_t *ph = NULL;
	char c = 'r';
	int r = PAM_SYSTEM_ERR;

	conv_rec_reset(&rec, l->code);
	if (pam_start(service, l->user, &conv, &ph) != PAM_SUCCESS)
		_exit(255);
	set_delay_hook(ph);
	if (write(ready, &c, 1) != 1 || read(gate, &c, 1) < 0) /* EOF: go */
		_exit(255);
	r = pam_authenticate(ph, 0);
	pam_end(ph, r);
	/* exit, not _exit: pam_wrapper's destructor removes the private folder
	 * this child's pam_start created. */
	exit(r >= 0 && r < 255 ? r : 255);
}

/* Fork k children, each ready to log in; 0 on success. */
static int conc_fork(const char *service, unsigned long n, unsigned long k, pid_t *pids,
                     const int gate[2])
{
	struct login l;
	time_t t = time(NULL);
	int ready[2];
	char c;

	if (pipe(ready) != 0)
		return 1;
	for (unsigned long j = 0; j < k; j++) {
		make_login(nth_user(j, n), t, &l);
		if ((pids[j] = fork()) == 0) {
			close(ready[0]);
			close(gate[1]); /* else the gate never reads EOF */
			conc_child(service, &l, ready[1], gate[0]);
		}
		if (pids[j] < 0 || read(ready[0], &c, 1) != 1)
			return 1;
	}
	close(ready[0]);
	close(ready[1]);
	return 0;
}

static int conc(const char *service, unsigned long n, unsigned long k)
{
	pid_t pids[MAX_CONC] = {0};
	int gate[2], codes[256] = {0}, r;

	if (k > MAX_CONC || k > n || pipe(gate) != 0)
		return 1;
	r = conc_fork(service, n, k, pids, gate);
	close(gate[0]);
	close(gate[1]); /* every child sees EOF at once: go */
	for (unsigned long j = 0; j < k; j++) {
		int st = 0;
		if (pids[j] > 0 && waitpid(pids[j], &st, 0) == pids[j] && WIFEXITED(st))
			codes[WEXITSTATUS(st)]++;
	}
	printf("simultaneous=%lu ok=%d", k, codes[PAM_SUCCESS]);
	for (int c = 1; c < 256; c++)
		if (codes[c] > 0)
			printf(" pam_code_%d=%d", c, codes[c]);
	printf("\n");
	return r;
}

/* ---- handle: pam_permit against pam_tokenauth, a new handle each ------- */

struct hrow {
	const char *label, *service;
	double rate[MAX_ROUNDS]; /* successful logins per second, per round */
	unsigned long tried, ok;
};

/*
 * Fresh-handle logins until budget seconds: l[0..count), each once, or,
 * when answer is set, user l[0].user with answer every time.  Adds to
 * r->tried and r->ok; returns the successful logins per second.
 */
static double handle_round(struct hrow *r, const struct login *l, unsigned long count,
                           const char *answer, double budget)
{
	double t0 = now_s(), el;
	unsigned long done = 0, ok = 0;

	for (; (answer != NULL || done < count) && now_s() - t0 < budget; done++) {
		const struct login *li = &l[answer != NULL ? 0 : done];
		ok += login_fresh(r->service, li->user, answer != NULL ? answer : li->code) ==
		      PAM_SUCCESS;
	}
	el = now_s() - t0;
	if (answer == NULL && done == count)
		fprintf(stderr, "bench_pam: %s ran out of users after %.2f s\n", r->label, el);
	r->tried += done;
	r->ok += ok;
	return el > 0 ? (double)ok / el : 0.0;
}

/*
 * Where a row is within its logins of one round: l[0..count) each once,
 * or l[0].user with answer every time; the time and successes so far.
 */
struct hcur {
	const struct login *l;
	unsigned long count, next, ok;
	const char *answer;
	double el;
	int out; /* ran out of logins (said once) */
};

/* One slice of a round: fresh-handle logins from c until budget seconds. */
static void handle_slice(struct hrow *r, struct hcur *c, double budget)
{
	double t0 = now_s();

	for (; (c->answer != NULL || c->next < c->count) && now_s() - t0 < budget; c->next++) {
		const struct login *li = &c->l[c->answer != NULL ? 0 : c->next];
		c->ok += login_fresh(r->service, li->user, c->answer != NULL ? c->answer : li->code) ==
		         PAM_SUCCESS;
		r->tried++;
	}
	c->el += now_s() - t0;
	if (c->answer == NULL && c->next == c->count && !c->out) {
		c->out = 1; /* said once; the row's rate stays right, its round shorter */
		fprintf(stderr, "bench_pam: %s ran out of users\n", r->label);
	}
}

/*
 * Round k of the kept rows: SLICES slices, each row budget / SLICES seconds
 * per slice, the order rotated every slice, so that every row is measured
 * over the same stretch of the machine's time (a shared machine drifts
 * over seconds; the rows see the same drift).  The totp row takes users
 * [k*per, (k+1)*per) of the permutation, each once.
 */
static int kept_round(struct hrow *rows, unsigned nrows, unsigned k, unsigned long n,
                      unsigned long per, const char *token, double budget)
{
	static const struct login tok = {"bench-token", ""};
	struct hcur cur[3];
	struct login *l = calloc(per, sizeof(*l));
	time_t t = time(NULL);

	if (l == NULL || nrows > 3) {
		free(l);
		return -1;
	}
	for (unsigned long j = 0; j < per; j++)
		make_login(nth_user(k * per + j, n), t, &l[j]);
	for (unsigned i = 0; i < nrows; i++) {
		struct hcur c = {&tok, 1, 0, 0, token, 0.0, 0};
		if (i == 2) { /* the totp row */
			c.l = l;
			c.count = per;
			c.answer = NULL;
		}
		cur[i] = c;
	}
	for (unsigned sl = 0; sl < SLICES; sl++)
		for (unsigned i = 0; i < nrows; i++) {
			unsigned x = (i + sl + k) % nrows;
			handle_slice(&rows[x], &cur[x], budget / SLICES);
		}
	for (unsigned i = 0; i < nrows; i++) {
		rows[i].ok += cur[i].ok;
		rows[i].rate[k] = cur[i].el > 0 ? (double)cur[i].ok / cur[i].el : 0.0;
	}
	ta_wipe(l, per * sizeof(*l));
	free(l);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, unsigned k)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, k * sizeof(*s));
	qsort(s, k, sizeof(*s), cmp_double);
	return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

static void handle_row(const struct hrow *r, unsigned rounds, const char *vs)
{
	double m = median(r->rate, rounds);

	printf("%-28s %9.0f %10.0f %13s  ", r->label, m, m > 0 ? 1e6 / m : 0.0, vs);
	for (unsigned k = 0; k < rounds; k++)
		printf(" %.0f", r->rate[k]);
	printf("\n");
}

/* rows[0] is the anchor; extra (may be NULL) is shown after, unrated. */
static void handle_table(struct hrow *rows, unsigned nrows, unsigned rounds,
                         const struct hrow *extra)
{
	double base = median(rows[0].rate, rounds);

	printf("%-28s %9s %10s %13s   %s\n", "new PAM handle per login", "logins/s", "us/login",
	       "vs pam_permit", "rounds (logins/s)");
	for (unsigned i = 0; i < nrows; i++) {
		double over[MAX_ROUNDS];
		unsigned paired = 0;
		char vs[32];
		/* each round's rows ran interleaved: the median of the rounds' own
		 * ratios, not the ratio of the medians */
		for (unsigned k = 0; k < rounds; k++)
			if (rows[i].rate[k] > 0 && rows[0].rate[k] > 0)
				over[paired++] = rows[0].rate[k] / rows[i].rate[k] - 1;
		if (i == 0)
			snprintf(vs, sizeof(vs), "1.00");
		else if (paired == rounds && base > 0)
			snprintf(vs, sizeof(vs), "%+.0f %%", median(over, paired) * 100);
		else
			snprintf(vs, sizeof(vs), "-");
		handle_row(&rows[i], rounds, vs);
	}
	if (extra != NULL)
		handle_row(extra, rounds, "(not kept)");
	if (extra == NULL || base <= 0 || median(extra->rate, rounds) <= 0)
		return;
	/* What the module adds, in time, and that time against a transaction
	 * whose modules libpam loads and unloads, as it does outside a bench. */
	printf("added per login:");
	for (unsigned i = 1; i < nrows; i++) {
		double m = median(rows[i].rate, rounds);
		double us = m > 0 ? 1e6 / m - 1e6 / base : 0.0;

		printf("%s %s %+.0f us (%+.0f %% of the reloaded pam_permit transaction)",
		       i > 1 ? "," : "", rows[i].service, us,
		       us * median(extra->rate, rounds) / 1e4);
	}
	printf("\n");
}

/* Read the token (one line) from file; 0 on success. */
static int read_token(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	int ok = f != NULL && fgets(buf, (int)cap, f) != NULL;

	if (f != NULL)
		fclose(f);
	buf[ok ? strcspn(buf, "\r\n") : 0] = '\0';
	return ok && buf[0] != '\0' ? 0 : 1;
}

/* dlopen, never to be unloaded, every module of list (paths, ':' between). */
static int keep_loaded(const char *list)
{
	char path[4096];

	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ":");

		if (n >= sizeof(path)) {
			fprintf(stderr, "bench_pam: BENCH_PAM_KEEP: a path is too long\n");
			return 1;
		}
		memcpy(path, p, n);
		path[n] = '\0';
		if (n > 0 && dlopen(path, RTLD_NOW | RTLD_NODELETE) == NULL) {
			fprintf(stderr, "bench_pam: cannot keep %s loaded: %s\n", path, dlerror());
			return 1;
		}
		p += n + (p[n] == ':');
	}
	return 0;
}

/* Untimed logins, so that module loading and first opens stay out of round 1. */
static void warm_up(const char *service, const char *user, const char *answer)
{
	for (int i = 0; i < WARMUP; i++)
		(void)login_fresh(service, user, answer);
}

static int handle(double budget, unsigned rounds, unsigned long n, const char *token_file)
{
	struct hrow rows[] = {{"pam_permit", "permit", {0}, 0, 0},
	                      {"pam_tokenauth token", "token", {0}, 0, 0},
	                      {"pam_tokenauth totp", "totp", {0}, 0, 0}};
	struct hrow reloaded = {"pam_permit, reloaded", "permit", {0}, 0, 0};
	const unsigned nrows = sizeof(rows) / sizeof(rows[0]);
	const struct login tok = {"bench-token", ""};
	char token[256];
	int rc = 0;

	if (read_token(token_file, token, sizeof(token)) != 0) {
		fprintf(stderr, "bench_pam: no token in %s\n", token_file);
		return 1;
	}
	/* First, as libpam really runs pam_permit.so: loaded and unloaded with
	 * every handle (shown, not the anchor). */
	warm_up("permit", tok.user, token);
	for (unsigned k = 0; k < rounds; k++)
		reloaded.rate[k] = handle_round(&reloaded, &tok, 1, token, budget);
	/*
	 * libpam dlopens every module at pam_start and dlcloses it at pam_end:
	 * those of the service's file and those of "other", which libpam reads
	 * for every service.  pam_tokenauth.so is linked -z nodelete and stays;
	 * the others would be loaded again for every handle.  Keep them loaded
	 * too (BENCH_PAM_KEEP), so that the anchor row costs libpam's own work
	 * and nothing of the loader's.
	 */
	if (keep_loaded(getenv("BENCH_PAM_KEEP")) != 0)
		return 1;
	warm_up("permit", tok.user, token);
	warm_up("token", tok.user, token);
	for (unsigned k = 0; k < rounds; k++)
		if (kept_round(rows, nrows, k, n, n / rounds, token, budget) != 0) {
			fprintf(stderr, "bench_pam: out of memory\n");
			return 1;
		}
	ta_wipe(token, sizeof(token));
	handle_table(rows, nrows, rounds, &reloaded);
	for (unsigned i = 0; i < nrows; i++) {
		if (rows[i].ok == rows[i].tried)
			continue;
		printf("FAILED: %s: %lu of %lu logins refused\n", rows[i].label,
		       rows[i].tried - rows[i].ok, rows[i].tried);
		rc = 1;
	}
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_pam gen N FILE\n"
	                "       bench_pam seq|seqnew SERVICE N START BUDGET_SECONDS MAX\n"
	                "       bench_pam conc SERVICE N COUNT\n"
	                "       bench_pam handle BUDGET_SECONDS ROUNDS N TOKEN_FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long n = 0, a, b, c;
	int fresh = argc == 7 && strcmp(argv[1], "seqnew") == 0;

	if (argc == 4 && strcmp(argv[1], "gen") == 0 && parse_ul(argv[2], 10000000, &n) && n > 0)
		return gen(n, argv[3]);
	if (argc == 7 && (strcmp(argv[1], "seq") == 0 || fresh) &&
	    parse_ul(argv[3], 10000000, &n) && n > 0 && parse_ul(argv[4], n - 1, &a) &&
	    parse_ul(argv[5], 3600, &b) && parse_ul(argv[6], 10000000, &c) && c > 0)
		return seq(argv[2], n, a, (double)b, c, fresh);
	if (argc == 5 && strcmp(argv[1], "conc") == 0 && parse_ul(argv[3], 10000000, &n) && n > 0 &&
	    parse_ul(argv[4], MAX_CONC, &a))
		return conc(argv[2], n, a);
	if (argc == 6 && strcmp(argv[1], "handle") == 0 && parse_ul(argv[2], 3600, &a) && a > 0 &&
	    parse_ul(argv[3], MAX_ROUNDS, &b) && b > 0 && parse_ul(argv[4], 10000000, &n) && n >= b)
		return handle((double)a, (unsigned)b, n, argv[5]);
	return usage();
}
