/*
 * test_file.c - file.c: how files and their folders are opened (issue 9,
 * defect 8): no hang on a FIFO, every ancestor checked, no symbolic link
 * anywhere on the path, sticky folders like /tmp passed through, no window
 * between the check of a folder and its use, modes whatever the umask.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "file.h"
#include "ta.h"

static char top[64];

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/ta-file-XXXXXX");
	assert_non_null(mkdtemp(top));
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];
	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", top, top);
	return system(cmd) == 0 ? 0 : -1;
}

static void at(char *buf, size_t cap, const char *rel)
{
	assert_true((size_t)snprintf(buf, cap, "%s/%s", top, rel) < cap);
}

static void mkdir_m(const char *rel, mode_t mode)
{
	char p[256];
	at(p, sizeof(p), rel);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static void write_file(const char *rel, const char *text, mode_t mode)
{
	char p[256];
	FILE *f;
	at(p, sizeof(p), rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* ta_file_read (or, cached, ta_file_read_cached) of rel: the result code;
 * the content into out when TA_OK. */
static int read_any(const char *rel, int cached, char *out, size_t cap, char *err, size_t errlen)
{
	char p[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	at(p, sizeof(p), rel);
	err[0] = '\0';
	r = cached ? ta_file_read_cached(p, TA_FILE_PLAIN, 1024, &buf, &len, err, errlen)
	           : ta_file_read(p, TA_FILE_PLAIN, 1024, &buf, &len, err, errlen);
	if (r == TA_OK) {
		snprintf(out, cap, "%s", (const char *)buf);
		free(buf);
	}
	return r;
}

static int read_rel(const char *rel, char *out, size_t cap, char *err, size_t errlen)
{
	return read_any(rel, 0, out, cap, err, errlen);
}

static int read_cached_rel(const char *rel, char *out, size_t cap, char *err, size_t errlen)
{
	return read_any(rel, 1, out, cap, err, errlen);
}

/*
 * The configuration cache hands out the text it read only while the file
 * is the same file, unchanged: same size and content-writes, chmod, rename
 * over it and a symbolic link in its place all make it walk and check again.
 */
static void test_read_cached(void **state)
{
	char out[64], err[512], p[256], q[256];
	(void)state;
	write_file("c", "one", 0600);
	assert_int_equal(read_cached_rel("c", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_string_equal(out, "one");
	sleep(3); /* past the settling time: the next read is kept */
	assert_int_equal(read_cached_rel("c", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_int_equal(read_cached_rel("c", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_string_equal(out, "one");
	write_file("c", "two", 0600); /* same size, same inode */
	assert_int_equal(read_cached_rel("c", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_string_equal(out, "two");
	assert_int_equal(chmod((at(p, sizeof(p), "c"), p), 0620), 0);
	assert_int_equal(read_cached_rel("c", out, sizeof(out), err, sizeof(err)),
	                 TA_ERR_INSECURE);
	assert_non_null(strstr(err, "writable by group or others"));
	assert_int_equal(chmod(p, 0600), 0);
	write_file("d", "three", 0600);
	at(q, sizeof(q), "d");
	assert_int_equal(rename(q, p), 0);
	assert_int_equal(read_cached_rel("c", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_string_equal(out, "three");
	write_file("e", "evil", 0600);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("e", p), 0);
	assert_int_equal(read_cached_rel("c", out, sizeof(out), err, sizeof(err)),
	                 TA_ERR_INSECURE);
	assert_non_null(strstr(err, "symbolic link"));
}

static int read_cached_kind(const char *rel, ta_file_kind kind, char *err, size_t errlen)
{
	char p[256];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	at(p, sizeof(p), rel);
	r = ta_file_read_cached(p, kind, 1024, &buf, &len, err, errlen);
	if (buf != NULL)
		ta_wipe(buf, len);
	free(buf);
	return r;
}

/*
 * The master key goes through the same cache, kept with the checks it
 * passed: text kept as a plain file's never answers a secret's read (a
 * 0644 file is no secret), and a chmod that opens the kept key to others is seen.
 */
static void test_read_cached_secret(void **state)
{
	char err[512], p[256];
	(void)state;
	write_file("k", "0123", 0600);
	write_file("pub", "0123", 0644);
	sleep(3); /* past the settling time: reads are kept */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(read_cached_kind("k", TA_FILE_SECRET, err, sizeof(err)), TA_OK);
		assert_int_equal(read_cached_kind("pub", TA_FILE_PLAIN, err, sizeof(err)), TA_OK);
	}
	assert_int_equal(read_cached_kind("pub", TA_FILE_SECRET, err, sizeof(err)),
	                 TA_ERR_INSECURE);
	assert_int_equal(chmod((at(p, sizeof(p), "k"), p), 0604), 0);
	assert_int_equal(read_cached_kind("k", TA_FILE_SECRET, err, sizeof(err)), TA_ERR_INSECURE);
}

/*
 * Whether a file passes depends on who reads it (root or the effective
 * user may own it): text kept for one effective user is not handed to
 * another, who reads and checks the file afresh.
 */
static void test_read_cached_per_euid(void **state)
{
	char out[64], err[512], p[256];
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(chmod(top, 0755), 0);
	write_file("u", "theirs", 0644);
	at(p, sizeof(p), "u");
	assert_int_equal(chown(p, 1000, 1000), 0);
	sleep(3); /* past the settling time: kept */
	assert_int_equal(seteuid(1000), 0);
	assert_int_equal(read_cached_rel("u", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_int_equal(read_cached_rel("u", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_int_equal(seteuid(0), 0);
	assert_int_equal(read_cached_rel("u", out, sizeof(out), err, sizeof(err)),
	                 TA_ERR_INSECURE);
	assert_non_null(strstr(err, "owned by uid 1000"));
	assert_int_equal(chmod(top, 0700), 0);
}

static void test_plain_file_ok(void **state)
{
	char out[64], err[512];
	struct stat st;
	(void)state;
	/* mkdtemp's folder sits in /tmp: world-writable and sticky */
	assert_int_equal(stat("/tmp", &st), 0);
	assert_true((st.st_mode & S_IWOTH) && (st.st_mode & S_ISVTX));
	write_file("f", "hello", 0600);
	assert_int_equal(read_rel("f", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_string_equal(out, "hello");
	/* "//" and "." on the way are harmless */
	assert_int_equal(read_rel("./f", out, sizeof(out), err, sizeof(err)), TA_OK);
	assert_int_equal(read_rel("/f", out, sizeof(out), err, sizeof(err)), TA_OK);
}

static void test_relative_path(void **state)
{
	char cwd[4096], err[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	(void)state;
	write_file("rel", "x", 0600);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(top), 0);
	assert_int_equal(ta_file_read("rel", TA_FILE_PLAIN, 16, &buf, &len, err, sizeof(err)),
	                 TA_OK);
	free(buf);
	assert_int_equal(ta_file_check_dir("rel", err, sizeof(err)), TA_OK);
	assert_int_equal(chdir(cwd), 0);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test_file: ta_file_open blocked on a FIFO\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static void test_fifo_refused_without_hanging(void **state)
{
	char p[256], out[16], err[512];
	int fd = -1;
	(void)state;
	at(p, sizeof(p), "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	signal(SIGALRM, on_alarm);
	alarm(5); /* the old code blocked in open() for ever */
	assert_int_equal(read_rel("fifo", out, sizeof(out), err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "not a regular file"));
	assert_non_null(strstr(err, p));
	assert_int_equal(ta_file_open(p, O_RDWR, TA_FILE_SECRET, &fd, err, sizeof(err)),
	                 TA_ERR_INSECURE);
	assert_int_equal(fd, -1);
	assert_int_equal(ta_file_open(p, O_WRONLY, TA_FILE_SECRET, &fd, err, sizeof(err)),
	                 TA_ERR_INSECURE);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
}

static void test_descriptor_is_blocking(void **state)
{
	char p[256], err[512];
	int fd = -1;
	(void)state;
	write_file("blk", "x", 0600);
	at(p, sizeof(p), "blk");
	assert_int_equal(ta_file_open(p, O_RDONLY, TA_FILE_PLAIN, &fd, err, sizeof(err)), TA_OK);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void test_symlinked_ancestor_refused(void **state)
{
	char p[256], link[256], out[16], err[512];
	(void)state;
	mkdir_m("real", 0700);
	write_file("real/f", "real", 0600);
	at(p, sizeof(p), "real");
	at(link, sizeof(link), "link");
	assert_int_equal(symlink(p, link), 0);
	assert_int_equal(read_rel("link/f", out, sizeof(out), err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "symbolic link"));
	assert_non_null(strstr(err, link)); /* names the component */
	at(p, sizeof(p), "link/f");
	assert_int_equal(ta_file_check_dir(p, err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "symbolic link"));
	/* the last component as a link is refused as before */
	at(link, sizeof(link), "real/l");
	assert_int_equal(symlink("f", link), 0);
	assert_int_equal(read_rel("real/l", out, sizeof(out), err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "symbolic link"));
	/* the real path is fine */
	assert_int_equal(read_rel("real/f", out, sizeof(out), err, sizeof(err)), TA_OK);
}

static void test_writable_ancestor_refused(void **state)
{
	char p[256], out[16], err[512];
	(void)state;
	mkdir_m("g", 0770);
	mkdir_m("g/in", 0700);
	write_file("g/in/f", "x", 0600);
	assert_int_equal(read_rel("g/in/f", out, sizeof(out), err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "writable by group or others"));
	snprintf(p, sizeof(p), "%s/g: ", top); /* names the folder */
	assert_non_null(strstr(err, p));
	at(p, sizeof(p), "g/in/f");
	assert_int_equal(ta_file_check_dir(p, err, sizeof(err)), TA_ERR_INSECURE);
	/* world-writable without the sticky bit: same */
	at(p, sizeof(p), "g");
	assert_int_equal(chmod(p, 0777), 0);
	assert_int_equal(read_rel("g/in/f", out, sizeof(out), err, sizeof(err)), TA_ERR_INSECURE);
	assert_int_equal(chmod(p, 0700), 0);
	assert_int_equal(read_rel("g/in/f", out, sizeof(out), err, sizeof(err)), TA_OK);
}

static void test_sticky_ancestor_allowed(void **state)
{
	char p[256], out[16], err[512];
	(void)state;
	mkdir_m("pub", 01777);
	mkdir_m("pub/mine", 0700);
	write_file("pub/mine/f", "ok", 0600);
	write_file("pub/f", "ok", 0600);
	assert_int_equal(read_rel("pub/mine/f", out, sizeof(out), err, sizeof(err)), TA_OK);
	at(p, sizeof(p), "pub/mine/f");
	assert_int_equal(ta_file_check_dir(p, err, sizeof(err)), TA_OK);
	/* a file of ours directly in a sticky folder may be read ... */
	assert_int_equal(read_rel("pub/f", out, sizeof(out), err, sizeof(err)), TA_OK);
	/* ... but not used as a folder whose siblings we create (store, socket) */
	at(p, sizeof(p), "pub/f");
	assert_int_equal(ta_file_check_dir(p, err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "sticky bit is not enough"));
}

static void test_foreign_ancestor_refused(void **state)
{
	char p[256], out[16], err[512];
	(void)state;
	if (geteuid() != 0)
		skip();
	mkdir_m("other", 0755);
	mkdir_m("other/in", 0700);
	write_file("other/in/f", "x", 0600);
	at(p, sizeof(p), "other");
	assert_int_equal(chown(p, 65534, 65534), 0);
	assert_int_equal(read_rel("other/in/f", out, sizeof(out), err, sizeof(err)),
	                 TA_ERR_INSECURE);
	assert_non_null(strstr(err, "owned by uid 65534"));
}

static void test_not_a_folder_and_missing(void **state)
{
	char p[256], out[16], err[512];
	(void)state;
	write_file("plain", "x", 0600);
	assert_int_equal(read_rel("plain/f", out, sizeof(out), err, sizeof(err)), TA_ERR_INSECURE);
	assert_non_null(strstr(err, "not a folder"));
	assert_int_equal(read_rel("none/f", out, sizeof(out), err, sizeof(err)), TA_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "does not exist"));
	assert_int_equal(read_rel("none", out, sizeof(out), err, sizeof(err)), TA_ERR_NOT_FOUND);
	assert_non_null(strstr(err, "does not exist"));
	at(p, sizeof(p), "none/f");
	assert_int_equal(ta_file_check_dir(p, err, sizeof(err)), TA_ERR_NOT_FOUND);
	at(p, sizeof(p), "");
	assert_int_equal(ta_file_check_dir(p, err, sizeof(err)), TA_ERR_INPUT);
	assert_int_equal(ta_file_check_dir("", err, sizeof(err)), TA_ERR_INPUT);
}

/*
 * A component swapped while we open: "comp" is exchanged, atomically and
 * over and over, between a real folder holding "good" and a symbolic link
 * to a folder holding "evil" (both files pass every file check).  A check
 * by name followed by an open by name reads "evil" sooner or later; the
 * descriptor walk only ever reads "good" or refuses.
 */
static volatile int stop;

static void *swapper(void *arg)
{
	const char *dir = arg;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(dfd >= 0);
	while (!stop)
		if (renameat2(dfd, "comp", dfd, "alt", RENAME_EXCHANGE) != 0)
			break;
	close(dfd);
	return NULL;
}

static void test_swapped_component(void **state)
{
	char p[256], out[16], err[512];
	int good = 0, refused = 0, evil = 0, other = 0;
	pthread_t t;
	(void)state;
	mkdir_m("race", 0700);
	mkdir_m("race/comp", 0700);
	mkdir_m("race/evil", 0700);
	write_file("race/comp/f", "good", 0600);
	write_file("race/evil/f", "evil", 0600);
	at(p, sizeof(p), "race/alt");
	assert_int_equal(symlink("evil", p), 0);
	at(p, sizeof(p), "race");
	stop = 0;
	assert_int_equal(pthread_create(&t, NULL, swapper, p), 0);
	for (int i = 0; i < 20000; i++) {
		int r = read_rel("race/comp/f", out, sizeof(out), err, sizeof(err));
		if (r == TA_OK && strcmp(out, "good") == 0)
			good++;
		else if (r == TA_OK)
			evil++;
		else if (r == TA_ERR_INSECURE)
			refused++;
		else
			other++;
	}
	stop = 1;
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("swapped component: %d good, %d refused, %d evil, %d other\n", good, refused,
	              evil, other);
	assert_int_equal(evil, 0);
	assert_int_equal(other, 0);
}

static void test_modes_whatever_the_umask(void **state)
{
	static const mode_t masks[] = {0, 0777};
	char p[256], err[512];
	struct stat st;
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		mode_t old = umask(masks[i]);
		char rel[32];
		snprintf(rel, sizeof(rel), "mk%zu/a/b/key", i);
		at(p, sizeof(p), rel);
		assert_int_equal(ta_file_make_parent(p, err, sizeof(err)), TA_OK);
		assert_int_equal(ta_key_create(p, err, sizeof(err)), TA_OK);
		umask(old);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		*strrchr(p, '/') = '\0';
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
		*strrchr(p, '/') = '\0';
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	/* create refuses to go through a writable folder, and never replaces */
	mkdir_m("wr", 0777);
	at(p, sizeof(p), "wr/key");
	assert_int_equal(ta_key_create(p, err, sizeof(err)), TA_ERR_INSECURE);
	at(p, sizeof(p), "mk0/a/b/key");
	assert_int_equal(ta_key_create(p, err, sizeof(err)), TA_ERR_EXISTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain_file_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_relative_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_refused_without_hanging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_descriptor_is_blocking, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinked_ancestor_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writable_ancestor_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sticky_ancestor_allowed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_ancestor_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_folder_and_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_swapped_component, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modes_whatever_the_umask, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_cached_per_euid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_cached_secret, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
