#!/usr/bin/env bash
# Build the Balise Raspberry Pi OS image (64-bit: Zero 2 W, 3, 4, 5) with pi-gen.
#
#   sudo firmware/build.sh --pi-gen DIR [--wheel FILE] [--data-partition SIZE]
#
#   --pi-gen DIR           a checkout of pi-gen's arm64 branch (its README lists what
#                          the build host needs: Debian or Raspberry Pi OS, root, qemu
#                          binfmt support on a PC)
#   --wheel FILE           the Balise wheel to install; default: build one from this
#                          repository with hatchling
#   --data-partition SIZE  add a data partition for the spool (e.g. 1G), which allows a
#                          read-only root (`readonly_root: true` in the probe's entry)
#
# The image lands in DIR/deploy/. See docs/deployment.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
pi_gen="" wheel="" data_size=""
while [ $# -gt 0 ]; do
	case $1 in
	--pi-gen) pi_gen=$(realpath "$2"); shift 2 ;;
	--wheel) wheel=$(realpath "$2"); shift 2 ;;
	--data-partition) data_size=$2; shift 2 ;;
	*) echo "build.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
	esac
done
die() { echo "build.sh: $*" >&2; exit 1; }
[ -n "$pi_gen" ] || die "--pi-gen DIR is required"
[ -x "$pi_gen/build.sh" ] || die "$pi_gen is not a pi-gen checkout"
grep -q '^export ARCH=arm64' "$pi_gen/build.sh" || die "$pi_gen: use pi-gen's arm64 branch"
[ "$(id -u)" -eq 0 ] || die "pi-gen needs root"

if [ -z "$wheel" ]; then
	python=$repo/.venv/bin/python
	[ -x "$python" ] || python=python3
	# hatchling names the wheel it wrote on stderr.
	wheel=$("$python" -m hatchling build --target wheel --directory "$repo/build/wheel" 2>&1 >/dev/null |
		tail -n 1)
fi
export BALISE_WHEEL=$wheel
BALISE_DATA_PARTITION=0
if [ -n "$data_size" ]; then BALISE_DATA_PARTITION=1; fi
export BALISE_DATA_PARTITION

{
	cat "$here/pi-gen/config.example"
	# Nobody is meant to know it: operators log in with SSH keys (user-data).
	echo "FIRST_USER_PASS=$(head -c 24 /dev/urandom | base64)"
	echo "STAGE_LIST=\"$pi_gen/stage0 $pi_gen/stage1 $pi_gen/stage2 $here/pi-gen/stage-balise\""
} >"$pi_gen/config"
# Only the Balise image: not stage2's plain Lite image as well.
touch "$pi_gen/stage2/SKIP_IMAGES"

(cd "$pi_gen" && ./build.sh)

image=$(find "$pi_gen/deploy" -name '*-balise.img' -newer "$pi_gen/config" | head -n 1)
[ -n "$image" ] || die "pi-gen made no *-balise.img in $pi_gen/deploy"
if [ -n "$data_size" ]; then
	"$here/scripts/add-data-partition" "$image" "$data_size"
fi
xz --threads=0 --force "$image"
echo "build.sh: $image.xz is ready to flash"
