# pam.mk - rules for pam_tokenauth.so, its tests and its benchmarks.
# Included from the top-level Makefile, which defines CC, CFLAGS, CPPFLAGS,
# LDFLAGS, B, CORE_LIB, CORE_LIBS, CORE_CPPFLAGS, FRONT_CPPFLAGS, SAN_CFLAGS
# and SAN_LDFLAGS.

PAM_SO      = $(B)/pam_tokenauth.so
PAM_MAP     = pam_tokenauth/pam_tokenauth.map
PAM_TEST    = $(B)/tests/pam/test_pam
PAM_LOOP    = $(B)/tests/pam/pam_loop
PAM_RETRY   = $(B)/tests/attacks/pam_retry
PAM_BENCH   = $(B)/bench_pam
PAM_REMOTE  = $(B)/bench_remote
PAM_HOST    = $(B)/bench_pam_host
# The benchmarks include tests/pam/pamtest_util.h.
PAM_BENCH_CPPFLAGS = $(CORE_CPPFLAGS) -Itests/pam

PROGS         += $(PAM_SO)
CHECK_TARGETS += check-pam check-pam-asan check-pam-sshd
BENCH_TARGETS += bench-pam bench-pam-handle bench-remote bench-apache

.PHONY: check-pam check-pam-asan bench-pam bench-pam-handle bench-remote bench-apache check-pam-sshd

# -z defs: every symbol the module needs must come from a library it names.
# -z nodelete: libpam dlopens the module at every pam_start and dlcloses it
# at pam_end; staying loaded keeps the core's once-per-process state (the
# pthread_once around curl_global_init) really once per process, and spares
# a server that runs one PAM transaction per request from reloading libcurl,
# OpenSSL and SQLite each time.
$(PAM_SO): pam_tokenauth/pam_tokenauth.c $(PAM_MAP) pam_tokenauth/pam.mk $(CORE_LIB) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(FRONT_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -shared -o $@ pam_tokenauth/pam_tokenauth.c \
	    $(CORE_LIB) $(LDFLAGS) -Wl,--version-script=$(PAM_MAP) -Wl,-z,defs -Wl,-z,nodelete \
	    $(CORE_LIBS) -lpam

# Test programs drive the module through libpam under pam_wrapper.
$(PAM_TEST): tests/pam/test_pam.c tests/pam/pamtest_util.h
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-conversion -o $@ $< $(LDFLAGS) -lpamtest \
	    -lpam -lcmocka -ldl -lpthread

$(PAM_LOOP): tests/pam/pam_loop.c tests/pam/pamtest_util.h
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpam

# The attack driver (tests/attacks/pam.sh): one handle retried, real libpam.
$(PAM_RETRY): tests/attacks/pam_retry.c tests/pam/pamtest_util.h
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) -Itests/pam $(CFLAGS) -o $@ $< $(LDFLAGS) -lpam

# tests/attacks/run.sh runs tests/attacks/pam.sh, which needs the driver.
check-attacks: $(PAM_SO) $(PAM_RETRY) $(B)/tokenauth

# The benchmarks use the core only to write the users file and compute codes.
$(PAM_BENCH): bench/bench_pam.c tests/pam/pamtest_util.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(PAM_BENCH_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(CORE_LIB) $(LDFLAGS) \
	    $(CORE_LIBS) -lpam

# A host's process: libpam only, nothing of the core.
$(PAM_HOST): bench/bench_pam_host.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(LDFLAGS) -lpam

$(PAM_REMOTE): bench/bench_remote.c
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpam -lcurl

check-pam: $(PAM_SO) $(PAM_TEST) $(PAM_LOOP) $(B)/tokenauth
	@sh tests/pam/run.sh $(B)

# The same suite with the module, core and test programs under ASan+UBSan
# (valgrind and the globals check are skipped there).
check-pam-asan:
	@$(MAKE) --no-print-directory B=$(B)/asan CFLAGS="$(SAN_CFLAGS)" \
	    LDFLAGS="$(SAN_LDFLAGS)" $(B)/asan/pam_tokenauth.so \
	    $(B)/asan/tests/pam/test_pam $(B)/asan/tests/pam/pam_loop $(B)/asan/tokenauth
	@TA_PRELOAD=$$($(CC) -print-file-name=libasan.so) sh tests/pam/run.sh $(B)/asan

# End-to-end through OpenSSH; needs root, prints SKIP otherwise.
check-pam-sshd: $(PAM_SO) $(B)/tokenauth
	@sh tests/pam/sshd.sh $(B)

bench-pam: $(PAM_SO) $(PAM_BENCH) $(B)/tokenauth
	@sh bench/pam.sh $(B)

# A new PAM handle per login (pam_start, pam_authenticate, pam_end):
# pam_permit against pam_tokenauth in token and in TOTP mode, one run.
bench-pam-handle: $(PAM_SO) $(PAM_BENCH) $(PAM_HOST) $(B)/tokenauth
	@sh bench/pam_handle.sh $(B)

# Apache WebDAV through mod_authnz_pam, loaded with wrk.
bench-apache: $(PAM_SO) $(B)/tokenauth
	@sh bench/apache.sh $(B)

bench-remote: $(PAM_REMOTE) $(B)/tokenauth $(PAM_SO)
	@sh bench/remote.sh $(B)
