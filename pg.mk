# pg.mk - the PostgreSQL store engine's suite: a private cluster
# (tests/pg/cluster.sh), the conformance suite against both engines, and
# the CLI end to end over store = postgresql:, the least-privilege roles
# of packaging/postgresql-roles.sql (tests/pg/roles.sh), three tokenauthd
# nodes sharing one PostgreSQL store, under load, through an outage of the
# server and a kill -9 (tests/pg/nodes.sh), PAM logins through
# pam_tokenauth.so on that store, directly and through a node
# (tests/pg/pam.sh), and store copy across engines (tests/pg/copy.sh).
# Fails, never skips, when the server binaries are missing ('make deps').
.PHONY: check-pg
CHECK_TARGETS += check-pg

check-pg: $(B)/tokenauth $(B)/tokenauthd $(B)/pam_tokenauth.so $(B)/tests/test_store_conformance \
          $(B)/tests/test_pg_faults \
          $(B)/tests/stress
	@sh tests/pg/run.sh $(B)
	@sh tests/pg/roles.sh $(B)
	@sh tests/pg/nodes.sh $(B)
	@sh tests/pg/pam.sh $(B)
	@sh tests/pg/copy.sh $(B)

# make bench-pg: tokenauthd on SQLite (the anchor), on PostgreSQL with one
# and two nodes, HOTP verify-and-commit through the core on PostgreSQL,
# and pgbench -S on the same server, all in one run (bench/pg.sh);
# BENCH_SECONDS per row (default 10), as the PAM benchmarks read it.
.PHONY: bench-pg
BENCH_TARGETS += bench-pg

$(B)/bench_pg_otp: bench/bench_pg_otp.c $(CORE_LIB)
	$(CC) $(CORE_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) -O2 -o $@ $< $(CORE_LIB) $(LDFLAGS) $(CORE_LIBS)

bench-pg: $(B)/tokenauthd $(B)/tokenauth $(B)/bench_pg_otp
	@bash bench/pg.sh $(B)
