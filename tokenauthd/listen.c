/*
 * listen.c - the listening sockets: Unix sockets made by us (so mode and
 * group are ours to set) and TCP sockets, handed to libmicrohttpd.
 */
#include "tokenauthd.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BACKLOG 1024

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* A socket file somebody still listens on must not be taken over. */
static int socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), alive;

	if (fd < 0)
		return 0;
	/* Only a refused connection proves nobody listens; anything else
	 * (EACCES, EAGAIN with a full backlog) leaves the socket alone. */
	alive = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno != ECONNREFUSED;
	close(fd);
	return alive;
}

static int group_id(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
		return -1;
	*gid = gr.gr_gid;
	return 0;
}

/* Replace a stale socket file; anything else at the path is an error. */
static int clear_path(const struct sockaddr_un *sa)
{
	struct stat st;

	if (lstat(sa->sun_path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		td_log(TA_LOG_ERR, "listen: %s exists and is not a socket; not touching it",
		       sa->sun_path);
		return -1;
	}
	if (socket_alive(sa)) {
		td_log(TA_LOG_ERR, "listen: %s is in use by another process, or cannot be probed",
		       sa->sun_path);
		return -1;
	}
	return unlink(sa->sun_path);
}

/* Give the socket file its configured group and mode. */
static int set_perms(const char *path, unsigned long mode, const char *group)
{
	gid_t gid;

	if (group_id(group, &gid) != 0) {
		td_log(TA_LOG_ERR, "listen: socket_group '%s': no such group", group);
		return -1;
	}
	if (gid != getegid() && lchown(path, (uid_t)-1, gid) != 0) {
		td_log(TA_LOG_ERR, "listen: chgrp %s %s: %s", group, path, strerror(errno));
		return -1;
	}
	/* never through a link: the folder is checked, but be exact anyway */
	if (fchmodat(AT_FDCWD, path, (mode_t)mode, AT_SYMLINK_NOFOLLOW) != 0) {
		td_log(TA_LOG_ERR, "listen: chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int open_unix(struct td_listener *l, const char *path, unsigned long mode, const char *group)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd = -1, r = TA_ERR_UNAVAILABLE;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		td_log(TA_LOG_ERR, "listen: unix:%s: path too long", path);
		return TA_ERR_CONFIG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* root unlinks and chmods here: a folder others can write to would let
	 * them swap the path for a link (SPEC §7) */
	{
		char err[512];
		if (ta_file_check_dir(path, err, sizeof(err)) != TA_OK) {
			td_log(TA_LOG_ERR, "listen: unix:%s: %s", path, err);
			return TA_ERR_CONFIG;
		}
	}
	if (clear_path(&sa) != 0)
		goto out;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto out;
	old = umask(0177); /* born private; opened up by set_perms() */
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0 || set_perms(path, mode, group) != 0 || listen(fd, BACKLOG) != 0 ||
	    set_nonblock(fd) != 0 || stat(path, &st) != 0) {
		r = TA_ERR_UNAVAILABLE;
		td_log(TA_LOG_ERR, "listen: unix:%s: %s", path, strerror(errno));
		goto out;
	}
	l->is_unix = 1;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->fd = fd;
	fd = -1;
	r = TA_OK;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

/* Split "host:port" / "[v6]:port"; "*" means every address. */
static int split_hostport(const char *spec, char *host, size_t hcap, const char **port)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - spec);
	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	if (n == 0 || n >= hcap)
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

static int bind_tcp(struct td_listener *l, const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, BACKLOG) != 0 ||
	    set_nonblock(fd) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	l->fd = fd;
	l->loopback = is_loopback(ai->ai_addr);
	return 0;
}

static int open_tcp(struct td_listener *l, const char *spec, int tls, int plain_ok)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *port = NULL;
	int e, r = TA_ERR_CONFIG;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (split_hostport(spec, host, sizeof(host), &port) != 0) {
		td_log(TA_LOG_ERR, "listen: '%s': expected host:port", spec);
		return TA_ERR_CONFIG;
	}
	if ((e = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res)) != 0) {
		td_log(TA_LOG_ERR, "listen: '%s': %s", spec, gai_strerror(e));
		return TA_ERR_CONFIG;
	}
	if (bind_tcp(l, res) != 0) {
		td_log(TA_LOG_ERR, "listen: '%s': %s", spec, strerror(errno));
		r = TA_ERR_UNAVAILABLE;
	} else if (!tls && !l->loopback && !plain_ok) {
		td_log(TA_LOG_ERR,
		       "listen: '%s' is not a loopback address: set tls_cert and tls_key "
		       "(plain HTTP is only allowed on loopback)",
		       spec);
		close(l->fd);
		l->fd = -1;
	} else {
		l->tls = tls;
		r = TA_OK;
	}
	freeaddrinfo(res);
	return r;
}

static int tls_configured(const ta_config *cfg, int *tls)
{
	const char *cert = ta_config_str(cfg, "tls_cert"), *key = ta_config_str(cfg, "tls_key");

	*tls = cert != NULL && key != NULL;
	if ((cert == NULL) != (key == NULL)) {
		td_log(TA_LOG_ERR, "tls_cert and tls_key must be set together");
		return TA_ERR_CONFIG;
	}
	return TA_OK;
}

/* Fill out->v from the comma-separated listen value. */
static int open_all(const ta_config *cfg, const char *listen, struct td_listeners *out)
{
	const char *p = listen, *group = ta_config_str(cfg, "socket_group");
	unsigned long mode = ta_config_uint(cfg, "socket_mode");
	int tls = 0, plain_ok = ta_config_flag(cfg, "allow_plain_tcp");
	int r = tls_configured(cfg, &tls);

	out->plain_ok = plain_ok;

	while (r == TA_OK && p != NULL && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct td_listener *l = &out->v[out->n];
		memset(l, 0, sizeof(*l));
		l->fd = -1;
		if (n >= sizeof(l->spec)) {
			td_log(TA_LOG_ERR, "listen: item too long: %.64s...", p);
			return TA_ERR_CONFIG;
		}
		memcpy(l->spec, p, n);
		l->spec[n] = '\0';
		if (strncmp(l->spec, "unix:", 5) == 0)
			r = open_unix(l, l->spec + 5, mode, group ? group : "root");
		else
			r = open_tcp(l, l->spec, tls, plain_ok);
		if (r == TA_OK)
			out->n++;
		p = comma ? comma + 1 : NULL;
	}
	return r;
}

int td_listeners_open(const ta_config *cfg, struct td_listeners *out)
{
	const char *listen = ta_config_str(cfg, "listen"),
	           *group = ta_config_str(cfg, "socket_group");
	size_t items = 1;
	int r;

	memset(out, 0, sizeof(*out));
	if (listen == NULL || *listen == '\0') {
		td_log(TA_LOG_ERR, "listen: nothing to listen on");
		return TA_ERR_CONFIG;
	}
	for (const char *p = listen; *p; p++)
		items += *p == ',';
	out->v = calloc(items, sizeof(*out->v));
	out->listen = strdup(listen);
	out->group = strdup(group ? group : "root");
	out->mode = ta_config_uint(cfg, "socket_mode");
	if (out->v == NULL || out->listen == NULL || out->group == NULL)
		r = TA_ERR_NOMEM;
	else
		r = open_all(cfg, listen, out);
	if (r != TA_OK)
		td_listeners_close(out);
	return r;
}

int td_listeners_same(const struct td_listeners *l, const ta_config *cfg)
{
	const char *listen = ta_config_str(cfg, "listen"),
	           *group = ta_config_str(cfg, "socket_group");
	int tls = 0;

	if (tls_configured(cfg, &tls) != TA_OK)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].is_unix && l->v[i].tls != tls)
			return 0;
	/* turning allow_plain_tcp off must close plain listeners: reopen */
	return l->listen != NULL && listen != NULL && strcmp(l->listen, listen) == 0 &&
	       l->plain_ok == ta_config_flag(cfg, "allow_plain_tcp") &&
	       l->mode == ta_config_uint(cfg, "socket_mode") &&
	       strcmp(l->group, group ? group : "root") == 0;
}

void td_listeners_close(struct td_listeners *l)
{
	struct stat st;

	for (size_t i = 0; l->v != NULL && i < l->n; i++) {
		struct td_listener *x = &l->v[i];
		if (x->fd >= 0)
			close(x->fd);
		/* Unlink only the very socket we made, not one a successor made since. */
		if (x->is_unix && lstat(x->spec + 5, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    st.st_dev == x->dev && st.st_ino == x->ino)
			unlink(x->spec + 5);
	}
	free(l->v);
	free(l->listen);
	free(l->group);
	memset(l, 0, sizeof(*l));
}
