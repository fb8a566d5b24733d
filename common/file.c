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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

int ta_file_check_fd(int fd, const char *path, ta_file_kind kind, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		return TA_ERR_UNAVAILABLE;
	}
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

int ta_file_open(const char *path, int flags, ta_file_kind kind, int *fd, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	const char *base = NULL;
	int dfd = -1, f = -1, ret, fl;

	*fd = -1;
	if ((ret = walk(path, 0, 0, abs, &dfd, &base, err, errlen)) != TA_OK)
		goto out;
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
		int e = errno;
		if (e == ENOENT) {
			snprintf(err, errlen, "%s: does not exist", path);
			ret = TA_ERR_NOT_FOUND;
		} else if (e == ELOOP) {
			snprintf(err, errlen, "%s: is a symbolic link; refusing to follow it",
			         path);
			ret = TA_ERR_INSECURE;
		} else if (e == ENXIO || e == EISDIR) {
			snprintf(err, errlen, "%s: not a regular file", path);
			ret = TA_ERR_INSECURE;
		} else {
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
			ret = TA_ERR_UNAVAILABLE;
		}
		goto out;
	}
	if ((ret = ta_file_check_fd(f, path, kind, err, errlen)) != TA_OK)
		goto out;
	if (!(flags & (O_NONBLOCK | O_PATH)) &&
	    ((fl = fcntl(f, F_GETFL)) < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) != 0)) {
		snprintf(err, errlen, "%s: fcntl: %s", path, strerror(errno));
		ret = TA_ERR_UNAVAILABLE;
		goto out;
	}
	*fd = f;
	f = -1;
out:
	if (f >= 0)
		close(f);
	if (dfd >= 0)
		close(dfd);
	return ret;
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

int ta_file_read(const char *path, ta_file_kind kind, size_t cap, uint8_t **buf, size_t *len,
                 char *err, size_t errlen)
{
	int fd = -1, ret;
	uint8_t *b = NULL;
	size_t n = 0;

	*buf = NULL;
	*len = 0;
	if ((ret = ta_file_open(path, O_RDONLY, kind, &fd, err, errlen)) != TA_OK)
		goto out;
	ret = TA_ERR_NOMEM;
	if ((b = malloc(cap + 1)) == NULL)
		goto out;
	for (;;) {
		ssize_t r = read(fd, b + n, cap + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
			ret = TA_ERR_UNAVAILABLE;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > cap) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, cap);
			ret = TA_ERR_CORRUPT;
			goto out;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	ret = TA_OK;
out:
	if (b != NULL) {
		ta_wipe(b, cap + 1);
		free(b);
	}
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
	int r = ta_file_read(path, TA_FILE_SECRET, KEY_FILE_MAX, &buf, &len, err, errlen);

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
