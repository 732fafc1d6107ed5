# Guest test, two guests, plain doorbells (famezd --mode ivshmem): famez-client rings the other
# guest through the ring ioctl and waits for its ring through an eventfd bound to a vector.
. /tests/lib.sh
id=$(cat "$d/id")
echo "famez-guest: id $id vectors $(cat "$d/vectors") fabric $(cat "$d/fabric")"
if [ "$id" = 0 ]; then
	rings=""
	for i in $(seq 20); do rings="$rings int 1 0; sleep 1;"; done
	famez-client -D "$dev" -e "$rings wait-int 0 1 30" >/out 2>&1
else
	famez-client -D "$dev" -e "wait-int 0 1 60; int 0 0; sleep 2" >/out 2>&1
fi
echo "famez-guest: client exit $?"
sed 's/^/famez-guest: client: /' /out
