# pg.mk - the PostgreSQL store engine's suite: a private cluster
# (tests/pg/cluster.sh), the conformance suite against both engines, and
# the CLI end to end over store = postgresql:.  Fails, never skips, when
# the server binaries are missing ('make deps').
.PHONY: check-pg
CHECK_TARGETS += check-pg

check-pg: $(B)/tokenauth $(B)/tests/test_store_conformance
	@sh tests/pg/run.sh $(B)
