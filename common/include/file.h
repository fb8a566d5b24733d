/*
 * file.h - opening files the careful way (SPEC §7, STYLE 12).
 *
 * Every file the core reads is opened with O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK
 * relative to a descriptor of its folder and checked with fstat: it must be
 * a regular file owned by root or the effective user, and not writable by
 * group or others.  Secret files must also not be readable by others.
 *
 * The folders on the way are opened one by one from "/" with
 * openat(O_DIRECTORY|O_NOFOLLOW) and each is fstat-checked on the
 * descriptor held: no component may be a symbolic link; each must be owned
 * by root or the effective user and not writable by group or others,
 * except that a sticky folder (like /tmp, 1777) may be passed through.
 * Relative paths are taken from the current folder, whose ancestors are
 * checked the same way.  Every message names the path and the problem.
 */
#ifndef TA_FILE_H
#define TA_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum {
	TA_FILE_PLAIN = 0,  /* config: not group/other writable */
	TA_FILE_SECRET = 1, /* keys: additionally not readable by others */
} ta_file_kind;

/*
 * Open path read-only (flags adds e.g. O_RDWR; O_CREAT and O_TRUNC are
 * ignored: this never creates or truncates) and check it and its
 * folders.  Never blocks on a FIFO or device (refused as not regular); the
 * descriptor returned is blocking unless flags has O_NONBLOCK.  Returns
 * TA_OK and the descriptor in *fd; TA_ERR_NOT_FOUND when the file or a
 * folder is missing; TA_ERR_INSECURE for a symlink, non-regular file, wrong
 * owner or mode of the file or of a folder; TA_ERR_UNAVAILABLE for other
 * errors.  err receives a message naming the path.
 */
/*
 * With O_PATH in flags the descriptor can only be checked (fstat), never
 * read: use it for files another library (SQLite) opens itself.  Closing
 * any other descriptor of a file drops every POSIX lock this process holds
 * on it, SQLite's included; closing an O_PATH one does not.
 */
int ta_file_open(const char *path, int flags, ta_file_kind kind, int *fd, char *err, size_t errlen);

/*
 * For files another library opens itself and a long-lived host uses again
 * and again (the store): the folders checked as for ta_file_open and the
 * holding one strictly (as ta_file_check_dir), then O_PATH descriptors of
 * the file (*fd) and of its folder (*dirfd), both for the caller to close.
 */
int ta_file_open_in(const char *path, ta_file_kind kind, int *fd, int *dirfd, char *err,
                    size_t errlen);
/*
 * The cheap re-check of what ta_file_open_in opened.  now is what lstat()
 * of path returned a moment ago (the caller needed it anyway, to find the
 * handle): it must still be the held file (dev, ino), whose type, owner and
 * mode must still pass, and the held folder must still not be writable by
 * group or others.  Folders above it are not walked again (SECURITY.md,
 * "Reused handles").  One fstat, of the folder.
 */
int ta_file_recheck(const char *path, const struct stat *now, dev_t dev, ino_t ino, int dirfd,
                    ta_file_kind kind, char *err, size_t errlen);

/* Check an open descriptor the same way. */
int ta_file_check_fd(int fd, const char *path, ta_file_kind kind, char *err, size_t errlen);

/*
 * Check every folder from "/" to the one holding path as above, and the
 * one holding path strictly: not writable by group or others even with the
 * sticky bit (others could plant its siblings: -wal, -shm, cache, socket).
 * path itself need not exist.  TA_OK, TA_ERR_NOT_FOUND, TA_ERR_INSECURE,
 * TA_ERR_INPUT (too long, names a folder) or TA_ERR_UNAVAILABLE.
 */
int ta_file_check_dir(const char *path, char *err, size_t errlen);

/*
 * Read a whole checked file of at most cap bytes into a malloc'd buffer
 * (NUL-terminated, the NUL not counted in *len).  The caller wipes and frees.
 */
int ta_file_read(const char *path, ta_file_kind kind, size_t cap, uint8_t **buf, size_t *len,
                 char *err, size_t errlen);

/*
 * ta_file_read of a file that a long-lived host reads again and again (the
 * configuration, once per PAM handle; the master key, once per OTP login).
 * The first read walks and checks as ta_file_read does for kind and keeps
 * the text with the file's identity (device, inode, size, mtime, ctime)
 * and kind; a later read of the same kind whose lstat of path shows the
 * same identity gets a copy without walking again.  Any write, chmod,
 * chown or rename over the path changes that identity.  Files changed in
 * the last two seconds are not kept (file times tick coarsely).  Folders
 * above the file are not walked again while it is unchanged (SECURITY.md,
 * "Reused handles").  A secret's text stays in the process's memory until
 * it is replaced or the process exits, and is wiped then; the caller
 * wipes its copy.
 */
int ta_file_read_cached(const char *path, ta_file_kind kind, size_t cap, uint8_t **buf,
                        size_t *len, char *err, size_t errlen);

/*
 * Create a new secret file with O_EXCL and mode 0600 (set with fchmod, so
 * whatever the umask), in a folder checked as for ta_file_open; write data,
 * fsync.  Fails with TA_ERR_EXISTS when the file exists.
 */
int ta_file_create_secret(const char *path, const void *data, size_t len, char *err, size_t errlen);

/*
 * Key files hold 32 bytes as 64 hex characters and a newline.
 * ta_key_create writes a fresh random one (O_EXCL, 0600; TA_ERR_EXISTS if
 * present).  ta_key_read checks the file like any secret file and decodes
 * it into key; TA_ERR_CORRUPT if it is not 64 hex characters.  It reads
 * through ta_file_read_cached.  Every buffer, and key itself on failure,
 * is wiped.
 */
int ta_key_create(const char *path, char *err, size_t errlen);
int ta_key_read(const char *path, uint8_t key[32], char *err, size_t errlen);

/*
 * mkdir -p of the folder holding path: missing folders are created 0700
 * (set with fchmod, whatever the umask), existing ones checked as for
 * ta_file_open.
 */
int ta_file_make_parent(const char *path, char *err, size_t errlen);

#endif
