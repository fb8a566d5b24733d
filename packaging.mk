# packaging.mk - "make deb": the Debian packages described in debian/,
# built offline with dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS is
# passed through, e.g. nocheck).  dpkg-buildpackage writes its results
# next to the tree it builds, so the tree is copied to
# build/deb/tokenauth-VERSION first: the .deb, .buildinfo and .changes
# files land in build/deb/ and nothing is written outside the checkout.
# Needs debhelper and dpkg-dev ('make deps'); lintian checks the result:
#   lintian --fail-on error,warning build/deb/*.changes
DEB_DIR     = build/deb
DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_TREE    = $(DEB_DIR)/tokenauth-$(DEB_VERSION)
DEB_JOBS   ?= 2

.PHONY: deb
deb:
	@test -n "$(DEB_VERSION)" || { echo "make deb: needs dpkg-dev (make deps)" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_TREE)
	tar -cf - --anchored --exclude=./.git --exclude=./build --exclude='./build-*' . | \
	    tar -xf - -C $(DEB_TREE)
	cd $(DEB_TREE) && dpkg-buildpackage -us -uc -b --jobs-try=$(DEB_JOBS)
	rm -rf $(DEB_TREE)
	@ls -1 $(DEB_DIR)

# "make check-packages" (root on Debian; a SKIP line elsewhere): builds the
# packages above, runs lintian, installs them for real and uses them as
# README.md "Install" says (pam-auth-update, sudo, Apache WebDAV, slapd,
# tokenauthd, an upgrade, a purge), then puts the machine back as it found
# it and checks that it did (tests/packages/run.sh).  In "make check": it
# passed twice in a row from a fresh clone before it was added there.
CHECK_TARGETS += check-packages
.PHONY: check-packages
check-packages:
	@sh tests/packages/run.sh

# The pam-auth-update profile as it lands in common-auth (after pam_unix,
# before pam_sss), through the real libpam under pam_wrapper: no Unix or
# LDAP password reaches a remote endpoint or locks a user's tokens.
.PHONY: check-attacks-profile
ATTACK_TARGETS += check-attacks-profile
check-attacks-profile: $(B)/pam_tokenauth.so
	@sh tests/packaging/pam_profile_stack.sh $(B)
