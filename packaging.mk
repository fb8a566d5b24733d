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
