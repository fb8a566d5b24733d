/*
 * file.c - safe opening, reading and creating of files.
 */
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

int ta_file_open(const char *path, int flags, ta_file_kind kind, int *fd, char *err, size_t errlen)
{
	int f, ret;

	*fd = -1;
	f = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (f < 0) {
		int e = errno;
		if (e == ENOENT) {
			snprintf(err, errlen, "%s: does not exist", path);
			return TA_ERR_NOT_FOUND;
		}
		if (e == ELOOP) {
			snprintf(err, errlen, "%s: is a symbolic link; refusing to follow it",
			         path);
			return TA_ERR_INSECURE;
		}
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return TA_ERR_UNAVAILABLE;
	}
	if ((ret = ta_file_check_fd(f, path, kind, err, errlen)) != TA_OK) {
		close(f);
		return ret;
	}
	*fd = f;
	return TA_OK;
}

static int dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return snprintf(dir, cap, ".") >= (int)cap ? -1 : 0;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= cap)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

int ta_file_check_dir(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;

	if (dir_of(path, dir, sizeof(dir)) != 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return TA_ERR_INPUT;
	}
	if (stat(dir, &st) != 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen, "%s: folder does not exist", dir);
		else
			snprintf(err, errlen, "%s: cannot stat folder: %s", dir, strerror(e));
		return e == ENOENT ? TA_ERR_NOT_FOUND : TA_ERR_UNAVAILABLE;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a folder", dir);
		return TA_ERR_INSECURE;
	}
	if (!owner_ok(st.st_uid) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen,
		         "%s: folder must be owned by root or uid %u and not writable by group "
		         "or others (owner %u, mode %04o)",
		         dir, (unsigned)geteuid(), (unsigned)st.st_uid,
		         (unsigned)(st.st_mode & 07777));
		return TA_ERR_INSECURE;
	}
	return TA_OK;
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
	const uint8_t *p = data;
	int fd, ret = TA_ERR_UNAVAILABLE;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return errno == EEXIST ? TA_ERR_EXISTS : TA_ERR_UNAVAILABLE;
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
		unlink(path);
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
	char dir[PATH_MAX];

	if (dir_of(path, dir, sizeof(dir)) != 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return TA_ERR_INPUT;
	}
	for (char *p = dir + 1;; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: cannot create folder: %s", dir, strerror(errno));
			return TA_ERR_UNAVAILABLE;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return TA_OK;
}
