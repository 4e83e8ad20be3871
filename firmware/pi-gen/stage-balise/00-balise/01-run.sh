#!/bin/bash -e
# pi-gen sub-stage: install the Balise probe into the image.
#   BALISE_WHEEL           the wheel to install (firmware/build.sh builds it)
#   BALISE_DATA_PARTITION  1: the image gets a data partition for the spool (build.sh adds it)
: "${BALISE_WHEEL:?BALISE_WHEEL must name the Balise wheel (use firmware/build.sh)}"
FIRMWARE_DIR="$(cd "${STAGE_DIR}/../.." && pwd)"
WHEEL_NAME="$(basename "${BALISE_WHEEL}")"

install -d -m 755 "${ROOTFS_DIR}/opt/balise/dist" "${ROOTFS_DIR}/usr/local/lib/balise"
install -m 644 "${BALISE_WHEEL}" "${ROOTFS_DIR}/opt/balise/dist/${WHEEL_NAME}"
install -m 644 "${FIRMWARE_DIR}"/systemd/*.service "${ROOTFS_DIR}/etc/systemd/system/"
install -m 755 "${FIRMWARE_DIR}/scripts/grow-data" "${ROOTFS_DIR}/usr/local/lib/balise/grow-data"
install -m 644 "${FIRMWARE_DIR}/sysctl.d/60-balise-ping.conf" "${ROOTFS_DIR}/etc/sysctl.d/"
install -d -m 755 "${ROOTFS_DIR}/etc/systemd/system.conf.d"
install -m 644 "${FIRMWARE_DIR}/system.conf.d/60-balise-watchdog.conf" "${ROOTFS_DIR}/etc/systemd/system.conf.d/"

# The SoC's watchdog device, which systemd pets (RuntimeWatchdogSec).
if ! grep -q '^dtparam=watchdog=on' "${ROOTFS_DIR}/boot/firmware/config.txt"; then
	printf '\n[all]\ndtparam=watchdog=on\n' >> "${ROOTFS_DIR}/boot/firmware/config.txt"
fi

if [ "${BALISE_DATA_PARTITION:-0}" = "1" ]; then
	# The spool lives on its own partition (the card's last), so the root file system
	# can be made read-only. Root keeps its build size; balise-grow-data grows the data
	# partition to fill the card instead.
	printf 'LABEL=balise-data  /var/lib/balise  ext4  defaults,noatime,commit=60  0  2\n' \
		>> "${ROOTFS_DIR}/etc/fstab"
	sed -i 's/ resize\b//' "${ROOTFS_DIR}/boot/firmware/cmdline.txt"
fi

on_chroot <<CHROOT
set -e
id balise >/dev/null 2>&1 || useradd --system --home-dir /var/lib/balise --no-create-home \
	--shell /usr/sbin/nologin balise
install -d -o balise -g balise -m 750 /var/lib/balise
install -d -o root -g balise -m 750 /etc/balise
python3 -m venv /opt/balise/venv
/opt/balise/venv/bin/pip install --no-cache-dir "balise[raw] @ file:///opt/balise/dist/${WHEEL_NAME}"
systemctl enable balise-probe.service balise-enroll.service
if [ "${BALISE_DATA_PARTITION:-0}" = "1" ]; then systemctl enable balise-grow-data.service; fi
CHROOT
