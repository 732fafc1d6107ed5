# Guest test, two guests, plain doorbells (famezd --mode ivshmem): famez-client rings the other
# guest through the ring ioctl and waits for its ring through an eventfd bound to a vector. The
# second guest raises a flag in the shared memory once its eventfds are bound (famez-client
# binds them before it runs a command): the first rings only then, since QEMU drops a ring to a
# peer that is not there yet.
. /tests/lib.sh
id=$(cat "$d/id")
echo "famez-guest: id $id vectors $(cat "$d/vectors") fabric $(cat "$d/fabric")"
if [ "$id" = 0 ]; then
	famez-client -D "$dev" -e "wait-mem 4096 1 300; int 1 0; wait-int 0 1 120" >/out 2>&1
else
	famez-client -D "$dev" -e "write 4096 1; wait-int 0 1 120; int 0 0" >/out 2>&1
fi
echo "famez-guest: client exit $?"
sed 's/^/famez-guest: client: /' /out
