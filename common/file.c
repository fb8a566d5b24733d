/*
 * file.c - safe opening, reading and creating of files.
 */
#define _GNU_SOURCE /* O_PATH */
#include "file.h"
#include "crypto.h"
#include "ta.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* The type, owner and mode rules of a file we open, on its fstat. */
static int check_file_st(const struct stat *sp, const char *path, ta_file_kind kind, char *err,
                         size_t errlen)
{
	const struct stat st = *sp;

	if (S_ISLNK(st.st_mode)) { /* only an O_PATH descriptor can name a link */
		snprintf(err, errlen, "%s: is a symbolic link; refusing to follow it", path);
		return TA_ERR_INSECURE;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return TA_ERR_INSECURE;
	}
	if (!owner_ok(st.st_uid)) {
		snprintf(err, errlen, "%s: owned by uid %u, expected root or uid %u", path,
		         (unsigned)st.st_uid, (unsigned)geteuid());
		return TA_ERR_INSECURE;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by group or others (mode %04o)", path,
		         (unsigned)(st.st_mode & 07777));
		return TA_ERR_INSECURE;
	}
	if (kind == TA_FILE_SECRET && (st.st_mode & S_IROTH)) {
		snprintf(err, errlen, "%s: secret file readable by others (mode %04o)", path,
		         (unsigned)(st.st_mode & 07777));
		return TA_ERR_INSECURE;
	}
	return TA_OK;
}

int ta_file_check_fd(int fd, const char *path, ta_file_kind kind, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		return TA_ERR_UNAVAILABLE;
	}
	return check_file_st(&st, path, kind, err, errlen);
}

/*
 * Folders.  Every folder from "/" down to the one holding the file is
 * opened in turn with openat(O_DIRECTORY|O_NOFOLLOW) relative to the one
 * before, and checked with fstat on the descriptor we hold, so a component
 * cannot be swapped between the check and the use, and no component may be
 * a symbolic link.  Each folder must be owned by root or the effective
 * user.  A folder writable by group or others is accepted on the way down
 * only when it has the sticky bit (like /tmp, 1777): there nobody but its
 * owner, root, and the owner of an entry can rename or remove that entry,
 * and the next step checks that the entry is ours.  The folder that holds
 * the file must not be writable by group or others at all when others
 * could plant its siblings (the store's -wal and -shm files, the cache, a
 * socket): "strict" below.
 */
#ifdef O_PATH
#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#else
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#endif

static int check_dir_st(const struct stat *st, const char *shown, int strict, char *err,
                        size_t errlen)
{
	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "%s: not a folder", shown);
		return TA_ERR_INSECURE;
	}
	if (!owner_ok(st->st_uid)) {
		snprintf(err, errlen, "%s: folder owned by uid %u, expected root or uid %u", shown,
		         (unsigned)st->st_uid, (unsigned)geteuid());
		return TA_ERR_INSECURE;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && (strict || !(st->st_mode & S_ISVTX))) {
		snprintf(err, errlen, "%s: folder writable by group or others (mode %04o)%s", shown,
		         (unsigned)(st->st_mode & 07777),
		         (st->st_mode & S_ISVTX) ? "; the sticky bit is not enough for the folder "
		                                   "that holds the file"
		                                 : "");
		return TA_ERR_INSECURE;
	}
	return TA_OK;
}

/*
 * Why openat(dfd, name, DIR_FLAGS) failed with e, as an error and message.
 * Decided by errno first: the name may change again before fstatat.
 */
static int dir_open_error(int dfd, const char *name, const char *shown, int e, char *err,
                          size_t errlen)
{
	struct stat st;

	if (e == ELOOP || (e == ENOTDIR && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	                   S_ISLNK(st.st_mode))) {
		snprintf(err, errlen,
		         "%s: is a symbolic link; refusing to follow it (name the real path)",
		         shown);
		return TA_ERR_INSECURE;
	}
	if (e == ENOTDIR) {
		snprintf(err, errlen, "%s: not a folder", shown);
		return TA_ERR_INSECURE;
	}
	if (e == ENOENT) {
		snprintf(err, errlen, "%s: folder does not exist", shown);
		return TA_ERR_NOT_FOUND;
	}
	snprintf(err, errlen, "%s: cannot open folder: %s", shown, strerror(e));
	return TA_ERR_UNAVAILABLE;
}

/* mkdir name in dfd, mode 0700 whatever the umask.  TA_OK if it exists. */
static int make_dir(int dfd, const char *name, const char *shown, char *err, size_t errlen)
{
	int fd;

	if (mkdirat(dfd, name, 0700) != 0) {
		if (errno == EEXIST)
			return TA_OK;
		snprintf(err, errlen, "%s: cannot create folder: %s", shown, strerror(errno));
		return TA_ERR_UNAVAILABLE;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0700) != 0) {
		snprintf(err, errlen, "%s: cannot set mode 0700: %s", shown, strerror(errno));
		if (fd >= 0)
			close(fd);
		return TA_ERR_UNAVAILABLE;
	}
	close(fd);
	return TA_OK;
}

/* One step down: open name (NUL-terminated inside abs) below *dfd, check it. */
static int step(int *dfd, const char *name, const char *abs, int create, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	fd = openat(*dfd, name, DIR_FLAGS);
	if (fd < 0 && errno == ENOENT && create) {
		if ((r = make_dir(*dfd, name, abs, err, errlen)) != TA_OK)
			return r;
		fd = openat(*dfd, name, DIR_FLAGS);
	}
	if (fd < 0)
		return dir_open_error(*dfd, name, abs, errno, err, errlen);
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat folder: %s", abs, strerror(errno));
		close(fd);
		return TA_ERR_UNAVAILABLE;
	}
	if ((r = check_dir_st(&st, abs, 0, err, errlen)) != TA_OK) {
		close(fd);
		return r;
	}
	close(*dfd);
	*dfd = fd;
	return TA_OK;
}

/* Check the folder holding the file (fd; its name is abs up to base) strictly. */
static int check_holder(int fd, char *abs, char *base, char *err, size_t errlen)
{
	struct stat st;
	char save = base[-1];
	int r;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat its folder: %s", abs, strerror(errno));
		return TA_ERR_UNAVAILABLE;
	}
	if (base - 1 == abs)
		return check_dir_st(&st, "/", 1, err, errlen);
	base[-1] = '\0';
	r = check_dir_st(&st, abs, 1, err, errlen);
	base[-1] = save;
	return r;
}

/* path as an absolute path in abs (relative ones are taken from the cwd). */
static int absolute(const char *path, char *abs, size_t cap, char *err, size_t errlen)
{
	size_t n = strlen(path), c = 0;

	if (n == 0) {
		snprintf(err, errlen, "empty path");
		return TA_ERR_INPUT;
	}
	if (path[0] != '/') {
		if (getcwd(abs, cap) == NULL) {
			snprintf(err, errlen, "%s: cannot find the current folder: %s", path,
			         strerror(errno));
			return TA_ERR_UNAVAILABLE;
		}
		c = strlen(abs);
		if (c > 0 && abs[c - 1] != '/' && c + 1 < cap)
			abs[c++] = '/';
	}
	if (c + n >= cap) {
		snprintf(err, errlen, "%s: path too long", path);
		return TA_ERR_INPUT;
	}
	memcpy(abs + c, path, n + 1);
	return TA_OK;
}

/*
 * Walk to the folder that holds path's last component: *dirfd receives a
 * descriptor of it (the caller closes it), *base the last component inside
 * abs (PATH_MAX bytes).  strict: the holding folder may not be group/other
 * writable even with the sticky bit.  create: make missing folders 0700.
 */
static int walk(const char *path, int strict, int create, char *abs, int *dirfd, const char **base,
                char *err, size_t errlen)
{
	struct stat st;
	char *p, *b, *q;
	int fd = -1, r;

	*dirfd = -1;
	if ((r = absolute(path, abs, PATH_MAX, err, errlen)) != TA_OK)
		return r;
	b = strrchr(abs, '/') + 1;
	if (*b == '\0' || strcmp(b, ".") == 0 || strcmp(b, "..") == 0) {
		snprintf(err, errlen, "%s: names a folder, not a file", path);
		return TA_ERR_INPUT;
	}
	if ((fd = open("/", DIR_FLAGS)) < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "/: cannot open folder: %s", strerror(errno));
		r = TA_ERR_UNAVAILABLE;
		goto out;
	}
	if ((r = check_dir_st(&st, "/", 0, err, errlen)) != TA_OK)
		goto out;
	for (p = abs + 1; p < b; p = q + 1) {
		q = strchr(p, '/'); /* never NULL and never past b - 1 */
		if (q == p || (q == p + 1 && *p == '.'))
			continue;
		*q = '\0';
		r = step(&fd, p, abs, create, err, errlen);
		*q = '/';
		if (r != TA_OK)
			goto out;
	}
	/* The holding folder again, strictly: wherever "//", "." or ".." led. */
	if (strict && (r = check_holder(fd, abs, b, err, errlen)) != TA_OK)
		goto out;
	*dirfd = fd;
	fd = -1;
	*base = b;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Open the entry base of the checked folder dfd (path names it for errors). */
static int open_entry(int dfd, const char *base, const char *path, int flags, ta_file_kind kind,
                      int *fd, char *err, size_t errlen)
{
	int f, e, ret, fl;

	/* O_NONBLOCK: a FIFO (or a device) at the path must not block us; it
	 * is refused by the type check below.  Cleared again for the caller.
	 * O_PATH: a descriptor to check, never to read (see file.h). */
	if (flags & O_PATH)
		f = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	else
		f = openat(dfd, base,
		           (flags & ~(O_CREAT | O_TRUNC)) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		               O_NONBLOCK);
	if (f < 0) {
		e = errno;
		if (e == ENOENT) {
			snprintf(err, errlen, "%s: does not exist", path);
			return TA_ERR_NOT_FOUND;
		}
		if (e == ELOOP) {
			snprintf(err, errlen, "%s: is a symbolic link; refusing to follow it", path);
			return TA_ERR_INSECURE;
		}
		if (e == ENXIO || e == EISDIR) {
			snprintf(err, errlen, "%s: not a regular file", path);
			return TA_ERR_INSECURE;
		}
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return TA_ERR_UNAVAILABLE;
	}
	ret = ta_file_check_fd(f, path, kind, err, errlen);
	if (ret == TA_OK && !(flags & (O_NONBLOCK | O_PATH)) &&
	    ((fl = fcntl(f, F_GETFL)) < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) != 0)) {
		snprintf(err, errlen, "%s: fcntl: %s", path, strerror(errno));
		ret = TA_ERR_UNAVAILABLE;
	}
	if (ret != TA_OK) {
		close(f);
		return ret;
	}
	*fd = f;
	return TA_OK;
}

int ta_file_open(const char *path, int flags, ta_file_kind kind, int *fd, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	const char *base = NULL;
	int dfd = -1, ret;

	*fd = -1;
	if ((ret = walk(path, 0, 0, abs, &dfd, &base, err, errlen)) == TA_OK)
		ret = open_entry(dfd, base, path, flags, kind, fd, err, errlen);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

int ta_file_open_in(const char *path, ta_file_kind kind, int *fd, int *dirfd, char *err,
                    size_t errlen)
{
	char abs[PATH_MAX];
	const char *base = NULL;
	int dfd = -1, ret;

	*fd = *dirfd = -1;
	if ((ret = walk(path, 1, 0, abs, &dfd, &base, err, errlen)) == TA_OK &&
	    (ret = open_entry(dfd, base, path, O_PATH, kind, fd, err, errlen)) == TA_OK) {
		*dirfd = dfd;
		dfd = -1;
	}
	if (dfd >= 0)
		close(dfd);
	return ret;
}

int ta_file_recheck(const char *path, const struct stat *now, dev_t dev, ino_t ino, int dirfd,
                    ta_file_kind kind, char *err, size_t errlen)
{
	struct stat dir;
	int r;

	if (now->st_dev != dev || now->st_ino != ino) {
		snprintf(err, errlen, "%s: now names another file", path);
		return TA_ERR_INSECURE;
	}
	/* the same inode: its lstat is the held file's own metadata */
	if ((r = check_file_st(now, path, kind, err, errlen)) != TA_OK)
		return r;
	if (fstat(dirfd, &dir) != 0) {
		snprintf(err, errlen, "%s: cannot stat its folder: %s", path, strerror(errno));
		return TA_ERR_UNAVAILABLE;
	}
	return check_dir_st(&dir, path, 1, err, errlen);
}

int ta_file_check_dir(const char *path, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	const char *base = NULL;
	int dfd = -1, r = walk(path, 1, 0, abs, &dfd, &base, err, errlen);

	if (dfd >= 0)
		close(dfd);
	return r;
}

/* Read all of fd, at most cap bytes, into a malloc'd NUL-terminated buffer. */
static int read_fd(int fd, const char *path, size_t cap, uint8_t **buf, size_t *len, char *err,
                   size_t errlen)
{
	uint8_t *b = malloc(cap + 1);
	size_t n = 0;
	int ret = TA_OK;

	if (b == NULL)
		return TA_ERR_NOMEM;
	for (;;) {
		ssize_t r = read(fd, b + n, cap + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
			ret = TA_ERR_UNAVAILABLE;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > cap) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, cap);
			ret = TA_ERR_CORRUPT;
			break;
		}
	}
	if (ret != TA_OK) {
		ta_wipe(b, cap + 1);
		free(b);
		return ret;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return TA_OK;
}

int ta_file_read(const char *path, ta_file_kind kind, size_t cap, uint8_t **buf, size_t *len,
                 char *err, size_t errlen)
{
	int fd = -1, ret;

	*buf = NULL;
	*len = 0;
	if ((ret = ta_file_open(path, O_RDONLY, kind, &fd, err, errlen)) == TA_OK)
		ret = read_fd(fd, path, cap, buf, len, err, errlen);
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * The cache of ta_file_read_cached: a few files' text with the identity
 * they had when read and checked.  Process-wide, every access under the
 * lock; a forked child may use what its parent read (plain memory).
 */
#define RCACHE_SLOTS 4
#define RCACHE_SETTLE 2 /* seconds a file's times must lie in the past to be cached */

struct rslot {
	char *path;
	ta_file_kind kind; /* the checks it passed: a secret's are stricter */
	size_t cap;
	uid_t euid; /* the owner check depends on who reads */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	uint8_t *text;
	size_t len;
};

static struct {
	pthread_mutex_t lock;
	struct rslot slot[RCACHE_SLOTS];
	unsigned next;
} rcache = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};

static int same_file(const struct rslot *e, const char *path, ta_file_kind kind, size_t cap,
                     const struct stat *st)
{
	return e->path != NULL && strcmp(e->path, path) == 0 && e->kind == kind && e->cap == cap &&
	       e->euid == geteuid() &&
	       e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void slot_clear(struct rslot *e)
{
	free(e->path);
	if (e->text != NULL)
		ta_wipe(e->text, e->len); /* a secret's text, maybe */
	free(e->text);
	memset(e, 0, sizeof(*e));
}

/* A copy of the text cached for path as st shows it, or NULL. */
static uint8_t *rcache_get(const char *path, ta_file_kind kind, size_t cap, const struct stat *st,
                           size_t *len)
{
	uint8_t *copy = NULL;

	pthread_mutex_lock(&rcache.lock);
	for (unsigned i = 0; i < RCACHE_SLOTS; i++) {
		const struct rslot *e = &rcache.slot[i];
		if (!same_file(e, path, kind, cap, st))
			continue;
		if ((copy = malloc(e->len + 1)) != NULL) {
			memcpy(copy, e->text, e->len + 1);
			*len = e->len;
		}
		break;
	}
	pthread_mutex_unlock(&rcache.lock);
	return copy;
}

/*
 * Remember text as path's, identified by st (the descriptor it was read
 * from).  Only a file whose times lie RCACHE_SETTLE seconds in the past:
 * file times tick coarsely, and a second write in the tick of the first
 * would leave them unchanged.
 */
static void rcache_put(const char *path, ta_file_kind kind, size_t cap, const struct stat *st,
                       const uint8_t *text, size_t len)
{
	struct rslot e = {0};
	time_t now = time(NULL);

	if (st->st_mtim.tv_sec > now - RCACHE_SETTLE || st->st_ctim.tv_sec > now - RCACHE_SETTLE)
		return;
	if ((e.path = strdup(path)) == NULL || (e.text = malloc(len + 1)) == NULL) {
		slot_clear(&e);
		return;
	}
	memcpy(e.text, text, len + 1);
	e.len = len;
	e.kind = kind;
	e.cap = cap;
	e.euid = geteuid();
	e.dev = st->st_dev;
	e.ino = st->st_ino;
	e.size = st->st_size;
	e.mtime = st->st_mtim;
	e.ctime = st->st_ctim;
	pthread_mutex_lock(&rcache.lock);
	slot_clear(&rcache.slot[rcache.next]);
	rcache.slot[rcache.next] = e;
	rcache.next = (rcache.next + 1) % RCACHE_SLOTS;
	pthread_mutex_unlock(&rcache.lock);
}

__attribute__((destructor)) static void rcache_free(void)
{
	pthread_mutex_lock(&rcache.lock);
	for (unsigned i = 0; i < RCACHE_SLOTS; i++)
		slot_clear(&rcache.slot[i]);
	pthread_mutex_unlock(&rcache.lock);
}

int ta_file_read_cached(const char *path, ta_file_kind kind, size_t cap, uint8_t **buf,
                        size_t *len, char *err, size_t errlen)
{
	struct stat now, held;
	int fd = -1, ret;

	*buf = NULL;
	*len = 0;
	if (lstat(path, &now) == 0 && S_ISREG(now.st_mode) &&
	    (*buf = rcache_get(path, kind, cap, &now, len)) != NULL)
		return TA_OK;
	if ((ret = ta_file_open(path, O_RDONLY, kind, &fd, err, errlen)) == TA_OK &&
	    (ret = read_fd(fd, path, cap, buf, len, err, errlen)) == TA_OK &&
	    fstat(fd, &held) == 0 && lstat(path, &now) == 0 && now.st_dev == held.st_dev &&
	    now.st_ino == held.st_ino)
		rcache_put(path, kind, cap, &held, *buf, *len);
	if (fd >= 0)
		close(fd);
	return ret;
}

int ta_file_create_secret(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	const char *base = NULL, *p = data;
	int dfd = -1, fd = -1, ret;

	if ((ret = walk(path, 0, 0, abs, &dfd, &base, err, errlen)) != TA_OK)
		return ret;
	ret = TA_ERR_UNAVAILABLE;
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	            0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		ret = errno == EEXIST ? TA_ERR_EXISTS : TA_ERR_UNAVAILABLE;
		close(dfd);
		return ret;
	}
	/* 0600 exactly: the umask may only have taken bits away */
	if (fchmod(fd, 0600) != 0) {
		snprintf(err, errlen, "%s: fchmod: %s", path, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	ret = TA_OK;
out:
	close(fd);
	if (ret != TA_OK)
		unlinkat(dfd, base, 0);
	close(dfd);
	return ret;
}

#define KEY_BYTES    32
#define KEY_FILE_MAX 256

int ta_key_create(const char *path, char *err, size_t errlen)
{
	uint8_t raw[KEY_BYTES];
	char hex[2 * KEY_BYTES + 2];
	int r = ta_random(raw, sizeof(raw));

	if (r == TA_OK) {
		ta_hex(raw, sizeof(raw), hex);
		hex[2 * KEY_BYTES] = '\n';
		r = ta_file_create_secret(path, hex, 2 * KEY_BYTES + 1, err, errlen);
	}
	ta_wipe(raw, sizeof(raw));
	ta_wipe(hex, sizeof(hex));
	return r;
}

int ta_key_read(const char *path, uint8_t key[KEY_BYTES], char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0, n;
	/* cached: a host reads it for every OTP login (ta_file_read_cached) */
	int r = ta_file_read_cached(path, TA_FILE_SECRET, KEY_FILE_MAX, &buf, &len, err, errlen);

	if (r != TA_OK)
		return r;
	for (n = len; n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'); n--)
		;
	if (ta_unhex((const char *)buf, n, key, KEY_BYTES) != KEY_BYTES) {
		ta_wipe(key, KEY_BYTES);
		snprintf(err, errlen, "%s: expected 64 hex characters", path);
		r = TA_ERR_CORRUPT;
	}
	ta_wipe(buf, len);
	free(buf);
	return r;
}

int ta_file_make_parent(const char *path, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	const char *base = NULL;
	int dfd = -1, r = walk(path, 0, 1, abs, &dfd, &base, err, errlen);

	if (dfd >= 0)
		close(dfd);
	return r;
}
