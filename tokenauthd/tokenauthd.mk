# tokenauthd - the verify service.  Included from the top Makefile, which
# provides CC, CLANG, CFLAGS, CPPFLAGS, LDFLAGS, B, CORE_SRC, CORE_HDR,
# CORE_LIB, CORE_LIBS, FRONT_CPPFLAGS, SAN_CFLAGS, SAN_LDFLAGS, and defines
# the core's FUZZ_BIN before including this file.
#
# The service sees only the core's public headers (common/include) plus its
# own: td_parse.c (request parsers), td_api.c (endpoints), routes.c (the
# route table), server.c (libmicrohttpd glue), ...

TOKENAUTHD_SRC  = $(wildcard tokenauthd/*.c)
# sd_notify (Type=notify) from libsystemd; main.c alone calls it.
SYSTEMD_CFLAGS := $(shell pkg-config --cflags libsystemd 2>/dev/null)
SYSTEMD_LIBS   := $(shell pkg-config --libs libsystemd 2>/dev/null || echo -lsystemd)
# the portal: PAM logins (libpam), QR codes (libqrencode), static files
# embedded from tokenauthd/static by scripts/embed.sh
TOKENAUTHD_LIBS = -lmicrohttpd -lpthread -lpam -lqrencode
TD_CPPFLAGS     = $(or $(FRONT_CPPFLAGS),-Icommon/include) -Itokenauthd -I$(B)/gen
TD_ASSETS       = $(B)/gen/portal_assets.h

$(TD_ASSETS): tokenauthd/static/portal.css tokenauthd/static/portal.js scripts/embed.sh
	@mkdir -p $(@D)
	{ sh scripts/embed.sh portal_css tokenauthd/static/portal.css && \
	  sh scripts/embed.sh portal_js tokenauthd/static/portal.js; } >$@.tmp && mv $@.tmp $@

$(B)/tokenauthd: $(TOKENAUTHD_SRC) tokenauthd/*.h $(CORE_LIB) $(TD_ASSETS)
	@mkdir -p $(@D)
	$(CC) $(TD_CPPFLAGS) $(SYSTEMD_CFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ $(TOKENAUTHD_SRC) \
	    $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) $(TOKENAUTHD_LIBS) $(SYSTEMD_LIBS)

# The service again under AddressSanitizer + UBSan, for the load test in check.
$(B)/asan/tokenauthd: $(TOKENAUTHD_SRC) tokenauthd/*.h common/*.c $(CORE_HDR) \
                      tokenauthd/static/*
	@$(MAKE) --no-print-directory B=$(B)/asan CFLAGS="$(SAN_CFLAGS)" \
	    LDFLAGS="$(SAN_LDFLAGS)" $(B)/asan/tokenauthd-inner

$(B)/tokenauthd-inner: $(B)/tokenauthd
	@:

PROGS         += $(B)/tokenauthd
CHECK_TARGETS += check-tokenauthd
BENCH_TARGETS += bench-tokenauthd

.PHONY: check-tokenauthd bench-tokenauthd

check-tokenauthd: $(B)/tokenauthd $(B)/tokenauth $(B)/asan/tokenauthd $(B)/tests/td_limits \
                  $(B)/tests/td_parse
	@$(B)/tests/td_limits >$(B)/tests/td_limits.log 2>&1 && echo "td_limits: passed" || \
	    { cat $(B)/tests/td_limits.log; echo "td_limits: FAILED"; exit 1; }
	@$(B)/tests/td_parse >$(B)/tests/td_parse.log 2>&1 && echo "td_parse: passed" || \
	    { cat $(B)/tests/td_parse.log; echo "td_parse: FAILED"; exit 1; }
	@bash tests/tokenauthd/run.sh $(B)

# 30 s of wrk against validate on 127.0.0.1 at 64 connections.
bench-tokenauthd: $(B)/tokenauthd $(B)/tokenauth
	@bash bench/tokenauthd.sh $(B) 30

# The per-client table with tiny sizes (cmocka), linked with limits.c alone.
$(B)/tests/td_limits: tests/tokenauthd/test_limits.c tokenauthd/limits.c tokenauthd/*.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(TD_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ tests/tokenauthd/test_limits.c \
	    tokenauthd/limits.c $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) -lcmocka

# The request parsers, the route table and the error answers (cmocka), good
# and bad inputs side by side; no context, no store.
TD_PARSE_TEST_SRC = tokenauthd/td_parse.c tokenauthd/routes.c tokenauthd/td_api.c
$(B)/tests/td_parse: tests/tokenauthd/test_parse.c $(TD_PARSE_TEST_SRC) tokenauthd/*.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(TD_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ tests/tokenauthd/test_parse.c \
	    $(TD_PARSE_TEST_SRC) $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) -lcmocka

# libFuzzer over the request parsers and the error answers alone (the corpus
# is tests/fuzz/corpus/fuzz_tokenauthd; check-fuzz runs it with the others).
TD_PARSE_FUZZ_SRC = tokenauthd/td_parse.c tokenauthd/td_api.c
FUZZ_BIN += $(B)/fuzz/fuzz_tokenauthd
$(B)/fuzz/fuzz_tokenauthd: tests/fuzz/fuzz_tokenauthd.c $(TD_PARSE_FUZZ_SRC) tokenauthd/*.h \
                           $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) -Itokenauthd -o $@ $< $(TD_PARSE_FUZZ_SRC) $(CORE_SRC) $(CORE_LIBS)

# libFuzzer over the whole request path: tokenauthd's libmicrohttpd daemon
# started in-process on a Unix socket, fed raw HTTP (tests/tokenauthd/fuzz_http.c),
# with every tokenauthd source but main.c: routes, parsers and endpoints too.
TD_FUZZ_SRC  = $(filter-out tokenauthd/main.c,$(TOKENAUTHD_SRC))
TD_FUZZ_TIME ?= 12
$(B)/fuzz/td_http: tests/tokenauthd/fuzz_http.c $(TD_FUZZ_SRC) tokenauthd/*.h $(CORE_SRC) $(CORE_HDR) \
                   $(TD_ASSETS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -Itokenauthd -I$(B)/gen -o $@ $< $(TD_FUZZ_SRC) $(CORE_SRC) $(CORE_LIBS) $(TOKENAUTHD_LIBS)

ATTACK_TARGETS += check-attacks-tokenauthd
.PHONY: check-attacks-tokenauthd

# The limits table with tiny sizes, then TD_FUZZ_TIME seconds of HTTP fuzzing.
# (tests/attacks/tokenauthd.sh runs with the other tests/attacks scripts.)
check-attacks-tokenauthd: $(B)/tests/td_limits $(B)/fuzz/td_http
	@$(B)/tests/td_limits >$(B)/tests/td_limits.log 2>&1 && echo "td_limits: passed" || \
	    { cat $(B)/tests/td_limits.log; echo "td_limits: FAILED"; exit 1; }
	@sh tests/tokenauthd/fuzz_http.sh $(B)/fuzz/td_http $(TD_FUZZ_TIME)

# ---- the self-service portal (/my/, issue 14) -------------------------------
# check-portal: the pure parts (cmocka), then tests/portal/run.sh: chromium
# driven by playwright-core (tests/portal/node_modules, from 'make deps')
# against a real tokenauthd with TLS and a PAM service under pam_wrapper.
# PORTAL_SHOTS=1 also writes the screenshots in docs/portal/.  nodes.sh: a
# session across two nodes on one PostgreSQL store (a private cluster).
CHECK_TARGETS  += check-portal
ATTACK_TARGETS += check-attacks-portal
.PHONY: check-portal check-attacks-portal

TD_PORTAL_TEST_SRC = tokenauthd/portal_parse.c tokenauthd/td_parse.c
$(B)/tests/td_portal: tests/tokenauthd/test_portal.c $(TD_PORTAL_TEST_SRC) tokenauthd/*.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(TD_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-conversion -o $@ tests/tokenauthd/test_portal.c \
	    $(TD_PORTAL_TEST_SRC) $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) -lcmocka

check-portal: $(B)/tokenauthd $(B)/tokenauth $(B)/pam_tokenauth.so $(B)/tests/td_portal
	@$(B)/tests/td_portal >$(B)/tests/td_portal.log 2>&1 && echo "td_portal: passed" || \
	    { cat $(B)/tests/td_portal.log; echo "td_portal: FAILED"; exit 1; }
	@bash tests/portal/run.sh $(B)
	@bash tests/portal/nodes.sh $(B)

# One check per attack of SECURITY.md's portal section (tests/portal/attacks.sh).
check-attacks-portal: $(B)/tokenauthd $(B)/tokenauth $(B)/pam_tokenauth.so
	@bash tests/portal/attacks.sh $(B)

# libFuzzer over the portal's form and cookie parsing, CSRF check and encoder.
FUZZ_BIN += $(B)/fuzz/fuzz_portal
$(B)/fuzz/fuzz_portal: tests/fuzz/fuzz_portal.c $(TD_PORTAL_TEST_SRC) tokenauthd/*.h $(CORE_SRC) \
                       $(CORE_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) -Itokenauthd -o $@ $< $(TD_PORTAL_TEST_SRC) $(CORE_SRC) $(CORE_LIBS)
