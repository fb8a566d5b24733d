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

check-pg: $(B)/tokenauth $(B)/tokenauthd $(B)/pam_tokenauth.so $(B)/tests/test_store_conformance
	@sh tests/pg/run.sh $(B)
	@sh tests/pg/roles.sh $(B)
	@sh tests/pg/nodes.sh $(B)
	@sh tests/pg/pam.sh $(B)
	@sh tests/pg/copy.sh $(B)
