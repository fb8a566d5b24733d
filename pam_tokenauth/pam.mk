# pam.mk - rules for pam_tokenauth.so, its tests and its benchmark.
# Included from the top-level Makefile, which defines CC, CFLAGS, CPPFLAGS,
# LDFLAGS, B, CORE_LIB and CORE_LIBS.

PAM_SO      = $(B)/pam_tokenauth.so
PAM_MAP     = pam_tokenauth/pam_tokenauth.map
PAM_TEST    = $(B)/tests/pam/test_pam
PAM_LOOP    = $(B)/tests/pam/pam_loop
PAM_BENCH   = $(B)/tests/pam/bench_pam
PAM_MKSTORE = $(B)/tests/pam/mkstore

PROGS += $(PAM_SO)

.PHONY: check-pam bench-pam check-pam-sshd

# -z defs: every symbol the module needs must come from a library it names.
$(PAM_SO): pam_tokenauth/pam_tokenauth.c $(PAM_MAP) $(CORE_LIB) common/*.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ pam_tokenauth/pam_tokenauth.c $(CORE_LIB) \
	    $(LDFLAGS) -Wl,--version-script=$(PAM_MAP) -Wl,-z,defs $(CORE_LIBS) -lpam

# Test programs drive the module through libpam under pam_wrapper.
$(PAM_TEST): tests/pam/test_pam.c tests/pam/pamtest_util.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-conversion -o $@ $< $(LDFLAGS) -lpamtest -lpam -lcmocka -ldl -lpthread

$(PAM_LOOP): tests/pam/pam_loop.c tests/pam/pamtest_util.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lpam

$(PAM_BENCH): tests/pam/bench_pam.c tests/pam/pamtest_util.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(LDFLAGS) -lpam

# Builds the benchmark stores straight through the core (one transaction).
$(PAM_MKSTORE): tests/pam/mkstore.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS)

check-pam: $(PAM_SO) $(PAM_TEST) $(PAM_LOOP) $(B)/tokenauth
	@sh tests/pam/run.sh $(B)

# End-to-end through OpenSSH; needs root, prints SKIP otherwise.
check-pam-sshd: $(PAM_SO) $(B)/tokenauth
	@sh tests/pam/sshd.sh $(B)

bench-pam: $(PAM_SO) $(PAM_BENCH) $(PAM_MKSTORE)
	@sh tests/pam/bench.sh $(B)
