# notify.sh - sourced by run.sh: sd_notify (Type=notify) and the systemd unit.
#
#  - notify.py plays systemd's side of NOTIFY_SOCKET (no systemd needed);
#  - systemd-analyze verify on packaging/tokenauthd.service with @SBINDIR@
#    replaced by the build folder, and its offline exposure score, when
#    systemd-analyze is installed (Debian 12: systemd 252).

# Python's checks, each line counted as ours.
conf notify "listen = unix:$FIX/notify-td.sock"
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	*) bad "${line#not ok - }" ;;
	esac
done <<EOT
$(python3 "$HERE/notify.py" "$TD" "$FIX/notify.conf" "$FIX/notify-td.sock" "$FIX/notify.sock" \
    "$FIX/notify.log" 2>&1 || echo "not ok - notify.py failed")
EOT

# A configuration path is ours to print in STATUS=, never a way to add a
# line (the protocol is NAME=value per line): a path with a newline and
# MAINPID=1 in it must not reach the manager as a MAINPID= field.
NL='
'
odd="$FIX/notify${NL}MAINPID=1.conf"
cp "$FIX/notify.conf" "$odd"
chmod 0600 "$odd"
out=$(python3 "$HERE/notify.py" "$TD" "$odd" "$FIX/notify-td.sock" "$FIX/notify.sock" \
    "$FIX/notify2.log" 2>&1)
check "notify: a config path with a newline starts and says READY=1" \
    sh -c 'printf "%s\n" "$1" | grep -q "^ok - notify: READY=1 at start"' _ "$out"
check "notify: ... and adds no MAINPID= line to the message" \
    sh -c '! printf "%s\n" "$1" | grep -q "$2"' _ "$out" "'MAINPID'"
rm -f "$odd"

# The folders systemd creates have the modes the packages ship (debian/rules,
# the RPM spec): /etc/tokenauth and /var/lib/tokenauth 0700.  A missing
# ConfigurationDirectoryMode= means 0755 and a warning at every start.
U=$HERE/../../packaging/tokenauthd.service
check "unit: ConfigurationDirectoryMode=0700 (/etc/tokenauth as packaged)" \
    grep -qx 'ConfigurationDirectoryMode=0700' "$U"
check "unit: StateDirectoryMode=0700 (/var/lib/tokenauth as packaged)" \
    grep -qx 'StateDirectoryMode=0700' "$U"

# The highest exposure (systemd-analyze security --offline) the unit may have.
UNIT_EXPOSURE_MAX=2.0
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$FIX/unit"
	sed "s|@SBINDIR@|$B|g" "$HERE/../../packaging/tokenauthd.service" >"$FIX/unit/tokenauthd.service"
	check "systemd-analyze verify: tokenauthd.service is clean" \
	    sh -c "systemd-analyze verify --man=no '$FIX/unit/tokenauthd.service' >'$FIX/unit/verify.out' 2>&1 && ! [ -s '$FIX/unit/verify.out' ]"
	[ -s "$FIX/unit/verify.out" ] && sed 's/^/#   /' "$FIX/unit/verify.out"
	exposure=$(systemd-analyze security --offline=yes "$FIX/unit/tokenauthd.service" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for tokenauthd.service: \([0-9.]*\).*/\1/p')
	echo "# systemd-analyze security: exposure ${exposure:-unknown}"
	check "unit exposure ${exposure:-unknown} <= $UNIT_EXPOSURE_MAX" \
	    awk -v e="${exposure:-99}" -v m="$UNIT_EXPOSURE_MAX" 'BEGIN { exit !(e + 0 <= m + 0) }'
else
	echo "# systemd-analyze not installed: unit checks skipped"
fi
