# sasl.mk - rules for the Cyrus SASL plugin libtokenauth.so and its tests.
# Included from the top-level Makefile, which defines CC, CFLAGS, CPPFLAGS,
# LDFLAGS, B, CORE_SRC, CORE_LIB, CORE_LIBS, CORE_CPPFLAGS, FRONT_CPPFLAGS,
# SAN_CFLAGS, SAN_LDFLAGS, FUZZ_CC and FUZZ_BIN.

SASL_SO     = $(B)/libtokenauth.so
SASL_SRC    = sasl_tokenauth/sasl_tokenauth.c
SASL_MAP    = sasl_tokenauth/sasl_tokenauth.map
SASL_TESTS  = $(B)/tests/sasl
SASL_UNIT   = $(SASL_TESTS)/test_sasl_msg
SASL_LOOP   = $(SASL_TESTS)/sasl_loop
# The plugin, its core and the loop driver again under ASan + UBSan.
SASL_ASAN_DIR  = $(B)/sasl-asan
SASL_ASAN_SO   = $(SASL_ASAN_DIR)/libtokenauth.so
SASL_ASAN_LOOP = $(SASL_ASAN_DIR)/sasl_loop
# The SASL message fuzzer: built once in $(B)/fuzz (check-fuzz runs it),
# linked where tests/sasl/run.sh looks for it.
SASL_FUZZ      = $(B)/fuzz/fuzz_sasl
SASL_FUZZ_LINK = $(SASL_TESTS)/fuzz_sasl
SASL_FUZZ_TIME ?= 5

PROGS += $(SASL_SO)
CHECK_TARGETS += check-sasl
FUZZ_BIN += $(SASL_FUZZ)

.PHONY: check-sasl check-sasl-e2e

# -z defs: the plugin needs nothing from libsasl2 beyond the utils it is
# handed, so every undefined symbol must come from the core's libraries.
# -z nodelete: like the PAM module, stay resident if the host unloads us,
# so process-wide initialisation (curl_global_init) runs once.
$(SASL_SO): $(SASL_SRC) $(SASL_MAP) $(CORE_LIB) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(FRONT_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $(SASL_SRC) $(CORE_LIB) \
	    $(LDFLAGS) -Wl,--version-script=$(SASL_MAP) -Wl,-z,defs -Wl,-z,nodelete $(CORE_LIBS)

$(SASL_UNIT): tests/sasl/test_sasl_msg.c $(CORE_LIB) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-conversion -o $@ $< $(CORE_LIB) $(LDFLAGS) \
	    $(CORE_LIBS) -lcmocka

$(SASL_LOOP): tests/sasl/sasl_loop.c
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lsasl2 -lpthread

# One command over the plugin and the core's sources, so it needs the
# core's private headers too.
$(SASL_ASAN_SO): $(SASL_SRC) $(SASL_MAP) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) -std=gnu11 -fPIC -fvisibility=hidden $(SAN_CFLAGS) \
	    -shared -o $@ $(SASL_SRC) $(CORE_SRC) $(SAN_LDFLAGS) -Wl,--version-script=$(SASL_MAP) \
	    $(CORE_LIBS)

$(SASL_ASAN_LOOP): tests/sasl/sasl_loop.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(SAN_CFLAGS) -o $@ $< $(SAN_LDFLAGS) -lsasl2 -lpthread

$(SASL_FUZZ): tests/fuzz/fuzz_sasl.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) -o $@ $< $(CORE_SRC) $(CORE_LIBS)

$(SASL_FUZZ_LINK): $(SASL_FUZZ)
	@mkdir -p $(@D)
	ln -sf ../../fuzz/fuzz_sasl $@

# $(PAM_SO) (from pam.mk, when present) serves the saslauthd -> PAM test.
check-sasl: $(SASL_SO) $(SASL_UNIT) $(SASL_LOOP) $(SASL_ASAN_SO) $(SASL_ASAN_LOOP) \
            $(SASL_FUZZ_LINK) $(B)/tokenauth $(PAM_SO)
	@FUZZ_TIME=$(SASL_FUZZ_TIME) sh tests/sasl/run.sh $(B)

# Only the end-to-end part (Postfix, Cyrus IMAP, saslauthd); needs root.
check-sasl-e2e: $(SASL_SO) $(B)/tokenauth $(PAM_SO)
	@SASL_ONLY=e2e sh tests/sasl/run.sh $(B)
