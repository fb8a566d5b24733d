# sasl.mk - rules for the Cyrus SASL plugin libtokenauth.so and its tests.
# Included from the top-level Makefile, which defines CC, CLANG, CFLAGS,
# CPPFLAGS, LDFLAGS, B, CORE_SRC, CORE_LIB and CORE_LIBS.

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
SASL_SAN    = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SASL_FUZZ   = $(SASL_TESTS)/fuzz_sasl
SASL_FUZZ_TIME ?= 5

PROGS += $(SASL_SO)
CHECK_TARGETS += check-sasl

.PHONY: check-sasl check-sasl-e2e

# -z defs: the plugin needs nothing from libsasl2 beyond the utils it is
# handed, so every undefined symbol must come from the core's libraries.
# -z nodelete: like the PAM module, stay resident if the host unloads us,
# so process-wide initialisation (curl_global_init) runs once.
$(SASL_SO): $(SASL_SRC) $(SASL_MAP) $(CORE_LIB) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -shared -o $@ $(SASL_SRC) $(CORE_LIB) \
	    $(LDFLAGS) -Wl,--version-script=$(SASL_MAP) -Wl,-z,defs -Wl,-z,nodelete $(CORE_LIBS)

$(SASL_UNIT): tests/sasl/test_sasl_msg.c $(CORE_LIB) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-conversion -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) -lcmocka

$(SASL_LOOP): tests/sasl/sasl_loop.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDFLAGS) -lsasl2 -lpthread

$(SASL_ASAN_SO): $(SASL_SRC) $(SASL_MAP) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=gnu11 -fPIC -fvisibility=hidden $(SASL_SAN) -shared -o $@ \
	    $(SASL_SRC) $(CORE_SRC) -Wl,--version-script=$(SASL_MAP) $(CORE_LIBS)

$(SASL_ASAN_LOOP): tests/sasl/sasl_loop.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(SASL_SAN) -o $@ $< -lsasl2 -lpthread

$(SASL_FUZZ): tests/fuzz/fuzz_sasl.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(CLANG) -std=gnu11 -g -O1 -Icommon/include -Icommon -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(CORE_SRC) $(CORE_LIBS)

# $(PAM_SO) (from pam.mk, when present) serves the saslauthd -> PAM test.
check-sasl: $(SASL_SO) $(SASL_UNIT) $(SASL_LOOP) $(SASL_ASAN_SO) $(SASL_ASAN_LOOP) \
            $(SASL_FUZZ) $(B)/tokenauth $(PAM_SO)
	@FUZZ_TIME=$(SASL_FUZZ_TIME) sh tests/sasl/run.sh $(B)

# Only the end-to-end part (Postfix, Cyrus IMAP, saslauthd); needs root.
check-sasl-e2e: $(SASL_SO) $(B)/tokenauth $(PAM_SO)
	@SASL_ONLY=e2e sh tests/sasl/run.sh $(B)
