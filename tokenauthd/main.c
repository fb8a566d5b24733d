/*
 * main.c - tokenauthd: options, configuration, detaching, signals.
 *
 *   tokenauthd [-c CONFIG] [-f] [-p PIDFILE] [-r RATE] [-t]
 *
 * SIGHUP reloads the configuration (a bad file keeps the running one);
 * SIGTERM and SIGINT stop cleanly: no new connections, running requests
 * end, the Unix socket is removed.
 *
 * Under systemd (Type=notify: NOTIFY_SOCKET set) the service says READY=1
 * once its sockets accept connections, RELOADING=1 ... READY=1 around a
 * reload and STOPPING=1 when it stops; without NOTIFY_SOCKET these are no-ops.
 */
#define _GNU_SOURCE /* pipe2, struct ucred */
#include "tokenauthd.h"
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define NONCE_CACHE_SIZE 500000 /* signed requests per 600 s generation; 16 MB */

struct opts {
	const char *config, *pidfile;
	int foreground, test_only;
	double rate; /* -1: from the configuration */
};

struct state {
	struct opts o;
	ta_config *cfg;
	struct td_listeners ls;
	ta_nonce_cache *nonces;
	td_limits *limits;
	td_server *srv;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tokenauthd [-c CONFIG] [-f] [-p PIDFILE] [-r RATE] [-t]\n"
	           "  -c CONFIG   configuration file (default " TA_DEFAULT_CONFIG ")\n"
	           "  -f          stay in the foreground and log to stderr\n"
	           "  -p PIDFILE  write the process id there once serving\n"
	           "  -r RATE     requests per second per client (0: no limit)\n"
	           "  -t          check the configuration and exit\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->config = TA_DEFAULT_CONFIG;
	o->rate = -1;
	while ((c = getopt(argc, argv, "c:fp:r:th")) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'p': o->pidfile = optarg; break;
		case 'r':
			if (ta_parse_uint(optarg, 0, 1000000, &v) != TA_OK) {
				fprintf(stderr, "tokenauthd: -r '%s': expected 0 to 1000000\n",
				        optarg);
				return 2;
			}
			o->rate = (double)v;
			break;
		case 't': o->test_only = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static ta_config *load_config(const char *path)
{
	ta_config *cfg = ta_config_new();
	char err[512];

	if (cfg == NULL) {
		td_log(TA_LOG_ERR, "out of memory");
		return NULL;
	}
	if (ta_config_load(cfg, path, 0, err, sizeof(err)) != TA_OK) {
		td_log(TA_LOG_ERR, "%s", err);
		ta_config_free(cfg);
		return NULL;
	}
	/* the core checks the syntax of validate_path; which paths are taken is ours */
	if (td_route_check_validate(ta_config_str(cfg, "validate_path"), err, sizeof(err)) !=
	    TA_OK) {
		td_log(TA_LOG_ERR, "%s: %s", path, err);
		ta_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * Detach: the parent waits until the child says it serves (or dies), so
 * that "tokenauthd" returns 0 only when the service is up.
 */
static int detach(int *ready_fd)
{
	int p[2], fd;
	char ok = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &ok, 1) < 0 && errno == EINTR)
			;
		_exit(ok == '1' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0 || (pid = fork()) < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0 || (fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		_exit(1);
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	*ready_fd = p[1];
	return 0;
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		td_log(TA_LOG_ERR, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Start on cfg, rebinding the listeners when they changed. */
static int serve(struct state *st, const ta_config *cfg)
{
	if (st->ls.v == NULL || !td_listeners_same(&st->ls, cfg)) {
		td_listeners_close(&st->ls);
		if (td_listeners_open(cfg, &st->ls) != TA_OK)
			return -1;
	}
	return td_server_start(cfg, &st->ls, st->nonces, st->limits, st->o.rate, &st->srv) == TA_OK
	           ? 0
	           : -1;
}

static void reload(struct state *st)
{
	ta_config *ncfg = load_config(st->o.config);

	if (ncfg == NULL) {
		td_log(TA_LOG_ERR, "reload: keeping the running configuration");
		return;
	}
	/* Same sockets: the new server starts on them while the old one lets
	 * its requests finish, so no connection is refused or cut off.
	 * Different sockets (or a failed quiesce): stop first, then reopen. */
	td_server *old = st->srv;
	st->srv = NULL;
	if (!td_listeners_same(&st->ls, ncfg) || td_server_quiesce(old) != 0) {
		td_server_stop(old);
		old = NULL;
		td_listeners_close(&st->ls);
	}
	if (serve(st, ncfg) == 0) {
		td_server_stop(old);
		ta_config_free(st->cfg);
		st->cfg = ncfg;
		td_log_set_debug(ta_config_flag(st->cfg, "debug"));
		td_log(TA_LOG_NOTICE, "configuration reloaded from %s", st->o.config);
		return;
	}
	td_server_stop(old);
	ta_config_free(ncfg);
	td_log(TA_LOG_ERR, "reload: new configuration does not start; going back to the old one");
	if (serve(st, st->cfg) != 0) {
		td_log(TA_LOG_ERR, "cannot restart with the old configuration either; exiting");
		exit(1);
	}
}

/*
 * Tell systemd (NOTIFY_SOCKET) where the service stands; a no-op without it.
 * RELOADING=1 carries MONOTONIC_USEC, which systemd >= 253 requires of
 * Type=notify-reload services and older ones ignore.
 */
/* The notify protocol is one NAME=value per line: the config path goes
 * in STATUS= with every control byte as '?', so it cannot add a line. */
static void notify_ready(const char *config)
{
	char path[256];
	size_t i;

	for (i = 0; config[i] != '\0' && i < sizeof(path) - 1; i++)
		path[i] = (unsigned char)config[i] < 0x20 || config[i] == 0x7f ? '?' : config[i];
	path[i] = '\0';
	sd_notifyf(0, "READY=1\nSTATUS=serving (config %s)", path);
}

static void notify_reloading(void)
{
	struct timespec ts;
	unsigned long long usec = 0;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
		usec = (unsigned long long)ts.tv_sec * 1000000ULL +
		       (unsigned long long)ts.tv_nsec / 1000ULL;
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading", usec);
}

/* Signals are taken synchronously by the main thread; workers never see them. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void wait_loop(struct state *st, const sigset_t *set)
{
	int sig = 0;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			/* READY=1 after a failed reload too: the old configuration serves */
			notify_reloading();
			reload(st);
			notify_ready(st->o.config);
			continue;
		}
		td_log(TA_LOG_NOTICE, "signal %d: stopping", sig);
		sd_notify(0, "STOPPING=1\nSTATUS=stopping");
		return;
	}
}

static int setup(struct state *st, int *ready_fd)
{
	if ((st->cfg = load_config(st->o.config)) == NULL)
		return 1;
	td_log_set_debug(ta_config_flag(st->cfg, "debug"));
	if (st->o.test_only) {
		/* the key and certificate files too: a reload would read them */
		if (td_server_check(st->cfg) != TA_OK)
			return 1;
		printf("%s: configuration OK\n", st->o.config);
		return -1;
	}
	/* Bind before detaching so that a busy port is reported to the caller. */
	if (td_listeners_open(st->cfg, &st->ls) != TA_OK)
		return 1;
	if (!st->o.foreground) {
		if (detach(ready_fd) != 0) {
			td_log(TA_LOG_ERR, "cannot detach: %s", strerror(errno));
			return 1;
		}
		td_log_init(0, ta_config_flag(st->cfg, "debug"));
	}
	st->nonces = ta_nonce_cache_new(NONCE_CACHE_SIZE);
	st->limits = td_limits_new();
	if (st->nonces == NULL || st->limits == NULL) {
		td_log(TA_LOG_ERR, "out of memory");
		return 1;
	}
	if (td_server_start(st->cfg, &st->ls, st->nonces, st->limits, st->o.rate, &st->srv) !=
	    TA_OK)
		return 1;
	if (st->o.pidfile != NULL && write_pidfile(st->o.pidfile) != 0)
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct state st;
	sigset_t set;
	int ready_fd = -1, r;

	memset(&st, 0, sizeof(st));
	/* single-threaded yet: the PostgreSQL store is the DSN file alone */
	ta_global_scrub_pg();
	if ((r = parse_opts(argc, argv, &st.o)) != 0)
		return r;
	td_log_init(1, 0);
	umask(077);
	/* keys (admin, signing, TLS) live in memory: keep them out of core dumps */
	prctl(PR_SET_DUMPABLE, 0);
	block_signals(&set);
	r = setup(&st, &ready_fd);
	if (r == 0) {
		if (ready_fd >= 0 && write(ready_fd, "1", 1) == 1)
			close(ready_fd);
		notify_ready(st.o.config);
		td_log(TA_LOG_NOTICE, "tokenauthd ready (config %s)", st.o.config);
		wait_loop(&st, &set);
	}
	td_server_stop(st.srv);
	td_listeners_close(&st.ls);
	ta_nonce_cache_free(st.nonces);
	td_limits_free(st.limits);
	ta_config_free(st.cfg);
	if (r == 0 && st.o.pidfile != NULL)
		unlink(st.o.pidfile);
	return r < 0 ? 0 : r;
}
