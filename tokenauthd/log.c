/*
 * log.c - one line per event, to stderr in the foreground (systemd's
 * journal adds the time) or to syslog when detached.  Lines never hold a
 * token, code, key or body: callers pass only names and verdicts, and
 * control characters are replaced here as a last guard.
 */
#include "tokenauthd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* Set once at start (and debug on reload) from the main thread. */
static int use_stderr = 1;
static volatile int log_debug;

void td_log_init(int foreground, int debug)
{
	use_stderr = foreground;
	log_debug = debug;
	if (!foreground)
		openlog("tokenauthd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
}

void td_log_set_debug(int debug)
{
	log_debug = debug;
}

static const char *level_name(int level)
{
	switch (level) {
	case TA_LOG_ERR: return "error";
	case TA_LOG_WARNING: return "warning";
	case TA_LOG_NOTICE: return "notice";
	case TA_LOG_INFO: return "info";
	}
	return "debug";
}

static void emit(int level, char *msg)
{
	char line[1200];
	int n;

	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (!use_stderr) {
		syslog(level, "%s", msg);
		return;
	}
	n = snprintf(line, sizeof(line), "tokenauthd[%ld]: %s: %s\n", (long)getpid(),
	             level_name(level), msg);
	if (n > 0) {
		size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
		/* one write per line, so lines of concurrent threads do not mix */
		ssize_t w = write(STDERR_FILENO, line, len);
		(void)w;
	}
}

void td_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level == TA_LOG_DEBUG && !log_debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, msg);
}

void td_core_log(void *arg, int level, const char *msg)
{
	char copy[1024];

	(void)arg;
	/* The request line already tells the verdict; keep the core's own lines for trouble. */
	if (level > TA_LOG_WARNING && !log_debug)
		return;
	snprintf(copy, sizeof(copy), "%s", msg);
	emit(level, copy);
}
