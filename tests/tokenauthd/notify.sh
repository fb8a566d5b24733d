# notify.sh - sourced by run.sh: sd_notify (Type=notify).
#
#  - notify.py plays systemd's side of NOTIFY_SOCKET (no systemd needed).

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
