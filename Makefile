# tokenauth - plain Makefile.  Honours CC, CFLAGS, CPPFLAGS, LDFLAGS,
# DESTDIR, PREFIX; project flags are added with +=.

CC       ?= cc
CLANG    ?= clang
CFLAGS   ?= -O2 -g
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share/tokenauth
PAMDIR   ?= /lib/$(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/security
SYSCONFDIR ?= /etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

B := build

WARN      = -Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -Wconversion -Wno-sign-conversion \
            -Wvla -Wpointer-arith
HARDEN    = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC -fvisibility=hidden
override CFLAGS   += -std=gnu11 $(WARN) $(HARDEN)
override LDFLAGS  += -Wl,-z,relro,-z,now -Wl,--as-needed

# Include paths: the core, its tests, fuzzers and benchmarks see the core's
# private headers too; a front-end (PAM module, SASL plugin, CLI, service)
# sees only the public API in common/include.
# libpq's headers live in a folder of their own.
PQ_CPPFLAGS   := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
CORE_CPPFLAGS  = -Icommon/include -Icommon $(PQ_CPPFLAGS)
FRONT_CPPFLAGS = -Icommon/include

# The one sanitizer recipe (AddressSanitizer + UndefinedBehaviorSanitizer),
# for every instrumented build: CFLAGS="$(SAN_CFLAGS)" LDFLAGS="$(SAN_LDFLAGS)".
SAN_CFLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LDFLAGS = -fsanitize=address,undefined

# The one libFuzzer recipe: $(FUZZ_CC) -o $@ HARNESS... $(CORE_SRC) $(CORE_LIBS).
FUZZ_FLAGS = -std=gnu11 -g -O1 $(CORE_CPPFLAGS) -fsanitize=fuzzer,address,undefined
FUZZ_CC    = $(CLANG) $(FUZZ_FLAGS)

# libpq and libcurl are not linked: lazy.c loads them when first used.
CORE_LIBS = -lsqlite3 -lcjson -lcjose -lssl -lcrypto -lpthread
CORE_SRC  = $(wildcard common/*.c)
CORE_HDR  = $(wildcard common/*.h common/include/*.h)
CORE_OBJ  = $(CORE_SRC:common/%.c=$(B)/common/%.o)
CORE_LIB  = $(B)/libtacore.a

UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

# The core's libFuzzer harnesses; the front-ends' harnesses in tests/fuzz
# are built by their own .mk files, which add them to FUZZ_BIN.
FUZZ_FRONT = tests/fuzz/fuzz_sasl.c tests/fuzz/fuzz_tokenauthd.c tests/fuzz/fuzz_portal.c
FUZZ_SRC   = $(filter-out $(FUZZ_FRONT),$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN   = $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

PROGS = $(B)/tokenauth
# Suites and benchmarks of the front-ends, run by check and bench in order.
CHECK_TARGETS =
BENCH_TARGETS =
# Adversarial suites of the front-ends, run by check-attacks after tests/attacks.
ATTACK_TARGETS =

.DEFAULT_GOAL := all
.PHONY: all deps check check-unit check-asan check-cli check-fuzz check-concurrency check-remote \
        check-attacks \
        demo bench bench-core install uninstall rpm clean

# Front-ends bring their own rules.  A front-end .mk file
#   - compiles its own sources with $(FRONT_CPPFLAGS) $(CPPFLAGS) (public
#     headers only), its tests with $(CORE_CPPFLAGS) $(CPPFLAGS);
#   - adds its programs to PROGS, its suites to CHECK_TARGETS, its
#     benchmarks to BENCH_TARGETS, its adversarial suites to ATTACK_TARGETS;
#   - builds an instrumented copy with CFLAGS="$(SAN_CFLAGS)"
#     LDFLAGS="$(SAN_LDFLAGS)";
#   - adds each of its libFuzzer harnesses with FUZZ_BIN += $(B)/fuzz/NAME
#     and a rule of its own that links it with $(FUZZ_CC); check-fuzz runs
#     every FUZZ_BIN for FUZZ_TIME seconds, with tests/fuzz/corpus/NAME.
-include pam_tokenauth/pam.mk
-include sasl_tokenauth/sasl.mk
-include tokenauthd/tokenauthd.mk
include jwt.mk
include pg.mk
include packaging.mk

all: $(PROGS)

deps:
	@sh scripts/install-deps.sh

$(B)/common/%.o: common/%.c $(CORE_HDR)
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(CORE_LIB): $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/tokenauth: cli/tokenauth.c $(CORE_LIB)
	$(CC) $(FRONT_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) \
	    -lqrencode

# ---- tests -----------------------------------------------------------------

# A unit test may replace core functions to inject faults (ld --wrap).
WRAP_test_verify_faults = -Wl,--wrap=ta_store_commit,--wrap=ta_store_begin_user \
    -Wl,--wrap=sqlite3_step,--wrap=sqlite3_exec
WRAP_test_pg_faults = -Wl,--wrap=PQsendQueryParams

$(B)/tests/%: tests/unit/%.c tests/unit/*.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -Wno-conversion -o $@ $< $(CORE_LIB) $(LDFLAGS) \
	    $(WRAP_$*) $(CORE_LIBS) -lpq -lcmocka

check-unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
# and the CLI suite over an instrumented CLI, which walks the core's error paths.
check-asan:
	$(MAKE) --no-print-directory B=$(B)/asan CFLAGS="$(SAN_CFLAGS)" \
	    LDFLAGS="$(SAN_LDFLAGS)" check-unit check-cli

check-cli: $(B)/tokenauth
	@sh tests/cli/run.sh $(B)/tokenauth
	@bash tests/cli/completion.sh packaging/bash-completion/tokenauth $(B)/tokenauth

check-remote: $(B)/tokenauth
	@sh tests/remote/run.sh $(B)

check-concurrency: $(B)/tokenauth $(B)/tests/stress
	@sh tests/cli/concurrency.sh $(B)/tokenauth $(B)/tests/stress

$(B)/tests/stress: tests/stress.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS)

# libFuzzer harnesses (clang), each run briefly: the core's FUZZ_SRC here,
# the front-ends' through their own rules (explicit rules win over this one).
FUZZ_TIME ?= 15
$(B)/fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) -o $@ $< $(CORE_SRC) $(CORE_LIBS)

check-fuzz: $(FUZZ_BIN)
	@sh tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_BIN)

# The standing adversarial suite (SECURITY.md): one script per boundary in
# tests/attacks, then the front-ends' own attack targets.
check-attacks: all $(B)/tests/test_verify_faults $(B)/tests/test_store $(B)/tests/test_remote_gate \
               $(B)/tests/test_store_conformance
	@sh tests/attacks/run.sh $(B)
	@for t in $(ATTACK_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done

# Never installs anything (a packager runs it): on a fresh machine run
# 'make deps check', as .ci/run does in two steps.
check:
	@sh scripts/install-deps.sh --check
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check-unit
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-cli
	@$(MAKE) --no-print-directory check-concurrency
	@$(MAKE) --no-print-directory check-remote
	@$(MAKE) --no-print-directory check-fuzz
	@for t in $(CHECK_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done
	@$(MAKE) --no-print-directory check-attacks
	@echo "make check: all suites passed"

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(B)

# Benchmark sources live in bench/; the core's rule is here, the
# front-ends' in their .mk files (BENCH_TARGETS).
$(B)/bench: bench/bench.c $(CORE_LIB)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS)

bench-core: $(B)/bench
	$(B)/bench

bench: bench-core
	@for t in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done

# ---- install -----------------------------------------------------------------

MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
SASLDIR  ?= /usr/lib/$(MULTIARCH)/sasl2
UNITDIR  ?= /lib/systemd/system

# Installs what was built: the CLI always, the front-ends when present.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(B)/tokenauth $(DESTDIR)$(BINDIR)/tokenauth
	install -m 0644 man/tokenauth.1 $(DESTDIR)$(MANDIR)/man1/tokenauth.1
	install -m 0644 man/tokenauth.conf.5 $(DESTDIR)$(MANDIR)/man5/tokenauth.conf.5
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 packaging/bash-completion/tokenauth $(DESTDIR)$(BASHCOMPDIR)/tokenauth
	install -d $(DESTDIR)$(DATADIR)
	install -m 0644 packaging/postgresql-roles.sql $(DESTDIR)$(DATADIR)/postgresql-roles.sql
	if [ -f $(B)/pam_tokenauth.so ]; then \
	    install -d $(DESTDIR)$(PAMDIR) && \
	    install -m 0644 $(B)/pam_tokenauth.so $(DESTDIR)$(PAMDIR)/pam_tokenauth.so && \
	    install -m 0644 man/pam_tokenauth.8 $(DESTDIR)$(MANDIR)/man8/pam_tokenauth.8; fi
	if [ -f $(B)/libtokenauth.so ]; then \
	    install -d $(DESTDIR)$(SASLDIR) && \
	    install -m 0644 $(B)/libtokenauth.so $(DESTDIR)$(SASLDIR)/libtokenauth.so && \
	    install -m 0644 man/sasl_tokenauth.8 $(DESTDIR)$(MANDIR)/man8/sasl_tokenauth.8; fi
	if [ -f $(B)/tokenauthd ]; then \
	    install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) && \
	    install -m 0755 $(B)/tokenauthd $(DESTDIR)$(SBINDIR)/tokenauthd && \
	    install -m 0644 man/tokenauthd.8 $(DESTDIR)$(MANDIR)/man8/tokenauthd.8 && \
	    sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/tokenauthd.service \
	        >$(DESTDIR)$(UNITDIR)/tokenauthd.service; fi
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/tokenauth
	test -e $(DESTDIR)$(SYSCONFDIR)/tokenauth/tokenauth.conf || \
	    install -m 0600 packaging/tokenauth.conf $(DESTDIR)$(SYSCONFDIR)/tokenauth/tokenauth.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tokenauth $(DESTDIR)$(MANDIR)/man1/tokenauth.1 \
	    $(DESTDIR)$(MANDIR)/man5/tokenauth.conf.5 $(DESTDIR)$(PAMDIR)/pam_tokenauth.so \
	    $(DESTDIR)$(MANDIR)/man8/pam_tokenauth.8 $(DESTDIR)$(SASLDIR)/libtokenauth.so \
	    $(DESTDIR)$(MANDIR)/man8/sasl_tokenauth.8 $(DESTDIR)$(SBINDIR)/tokenauthd \
	    $(DESTDIR)$(MANDIR)/man8/tokenauthd.8 $(DESTDIR)$(UNITDIR)/tokenauthd.service \
	    $(DESTDIR)$(DATADIR)/postgresql-roles.sql $(DESTDIR)$(BASHCOMPDIR)/tokenauth
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null
	@echo "kept $(SYSCONFDIR)/tokenauth and the store; remove them by hand if wanted"

# ---- RPM -----------------------------------------------------------------------

# The packages of packaging/rpm/tokenauth.spec from the committed tree
# (git archive HEAD), built under $(B)/rpm.  --nodeps: a Debian host has
# the libraries but not Fedora's -devel package names.  RPMBUILD_FLAGS
# adds rpmbuild options (e.g. --nocheck).
RPM_TOP     = $(abspath $(B))/rpm
RPM_VERSION = $(shell sed -n 's/^Version:[[:space:]]*//p' packaging/rpm/tokenauth.spec)
RPMBUILD_FLAGS ?=

rpm:
	rm -rf $(RPM_TOP)
	mkdir -p $(RPM_TOP)/SOURCES
	git archive --format=tar.gz --prefix=tokenauth-$(RPM_VERSION)/ \
	    -o $(RPM_TOP)/SOURCES/tokenauth-$(RPM_VERSION).tar.gz HEAD
	rpmbuild -bb --nodeps $(RPMBUILD_FLAGS) --define "_topdir $(RPM_TOP)" \
	    packaging/rpm/tokenauth.spec
	@ls $(RPM_TOP)/RPMS/*/*.rpm

clean:
	rm -rf $(B)
