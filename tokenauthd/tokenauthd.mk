# tokenauthd - the verify service.  Included from the top Makefile, which
# provides CC, CFLAGS, CPPFLAGS, LDFLAGS, B, CORE_LIB, CORE_LIBS, ASAN_FLAGS.

TOKENAUTHD_SRC  = $(wildcard tokenauthd/*.c)
TOKENAUTHD_LIBS = -lmicrohttpd -lpthread

$(B)/tokenauthd: $(TOKENAUTHD_SRC) tokenauthd/*.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(TOKENAUTHD_SRC) $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS) \
	    $(TOKENAUTHD_LIBS)

# The service again under AddressSanitizer + UBSan, for the load test in check.
$(B)/asan/tokenauthd: $(TOKENAUTHD_SRC) tokenauthd/*.h common/*.c common/*.h
	@$(MAKE) --no-print-directory B=$(B)/asan CFLAGS="$(ASAN_FLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" $(B)/asan/tokenauthd-inner

$(B)/tokenauthd-inner: $(B)/tokenauthd
	@:

PROGS         += $(B)/tokenauthd
CHECK_TARGETS += check-tokenauthd
BENCH_TARGETS += bench-tokenauthd

.PHONY: check-tokenauthd bench-tokenauthd

check-tokenauthd: $(B)/tokenauthd $(B)/tokenauth $(B)/asan/tokenauthd
	@bash tests/tokenauthd/run.sh $(B)

# 30 s of wrk against validate on 127.0.0.1 at 64 connections.
bench-tokenauthd: $(B)/tokenauthd $(B)/tokenauth
	@bash tests/tokenauthd/bench.sh $(B) 30
