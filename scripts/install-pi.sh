#!/usr/bin/env bash
# Install or update the Dukcapil kiosk on Raspberry Pi OS Lite (Bookworm), from this checkout.
#
# Idempotent: every step looks first and changes only what differs, so the same command installs a fresh
# Pi, updates one after `git pull`, and repairs one that was changed by hand. An existing config file is
# never overwritten. See docs/deploy.md for the whole procedure (data partition, read-only root, UPS).
#
# Usage:
#   sudo scripts/install-pi.sh              install or update
#   DRY_RUN=1 scripts/install-pi.sh         print what would change, change nothing (no root needed)
#
# Environment:
#   DRY_RUN=1            print each command that would change the system instead of running it
#   PAD_USB_ID=vvvv:pppp USB vendor:product of the signature pad's serial adapter (default 0403:6001)
#   PRINTER_USB_ID=vvvv:pppp USB vendor:product of a serial receipt printer's adapter (default 067b:2303)
#   UPS_HAT=x728         x728 (adds the gpio-poweroff overlay its power cut needs), x729, x120x or none
#   KIOSK_ROOT=DIR       prefix of every path read or written; empty = the real system. For the tests, which
#                        run the installer in a scratch tree with stand-ins for apt-get, useradd, systemctl
#                        and raspi-config: those commands still act on the running system otherwise.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly SRC_DIR
readonly ROOT="${KIOSK_ROOT:-}"
readonly DRY_RUN="${DRY_RUN:-0}"
readonly PAD_USB_ID="${PAD_USB_ID:-0403:6001}"
readonly PRINTER_USB_ID="${PRINTER_USB_ID:-067b:2303}"
readonly UPS_HAT="${UPS_HAT:-x728}"

readonly KIOSK_USER=kiosk
readonly KIOSK_GROUPS=(video render input dialout gpio i2c)
readonly APP_DIR=/opt/dukcapil-kiosk
readonly VENV="$APP_DIR/venv"
readonly CONFIG_DIR=/etc/dukcapil-kiosk
readonly CONFIG_FILE="$CONFIG_DIR/config.toml"
readonly DATA_DIR=/var/lib/dukcapil-kiosk
readonly UNIT=dukcapil-kiosk.service

# picamera2 and libcamera come only from apt; pygame is built against Debian's SDL2 (whose KMSDRM video
# driver runs the touchscreen without X), so its headers and a compiler are needed once.
readonly APT_PACKAGES=(
    python3-venv python3-dev python3-picamera2 python3-lgpio
    fonts-noto-core fonts-dejavu-core
    build-essential pkg-config libsdl2-dev libsdl2-image-dev libsdl2-mixer-dev libsdl2-ttf-dev libfreetype-dev
    i2c-tools polkitd
)

changes=0
units_changed=0
udev_changed=0

say() { printf '%s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'install-pi: %s\n' "$*" >&2
    exit 1
}

# Run a command that changes the system, or only print it in a dry run. A failure stops the install
# (explicitly: `set -e` does not reach into functions called from a condition).
run() {
    changes=$((changes + 1))
    # Quoted as a shell would need it, so a printed command can be copied and run by hand.
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if [ "$DRY_RUN" != 1 ]; then
        "$@" || die "this failed (status $?): $*"
    fi
}

# The uid:gid of a user or group name, from the account database.
uid_of() { getent passwd "$1" | cut -d: -f3 || true; }
gid_of() { getent group "$1" | cut -d: -f3 || true; }
# For install -o/-g: the number when the account exists, else its name (a dry run before useradd).
uid_or_name() { local id; id=$(uid_of "$1"); printf '%s\n' "${id:-$1}"; }
gid_or_name() { local id; id=$(gid_of "$1"); printf '%s\n' "${id:-$1}"; }

# install_file SRC DEST MODE OWNER GROUP: copy when content, mode or owner differ.
install_file() {
    local src=$1 dest=$2 mode=$3 owner=$4 group=$5
    local want_uid want_gid
    want_uid=$(uid_of "$owner")
    want_gid=$(gid_of "$group")
    if [ -f "$dest" ] && cmp -s "$src" "$dest" &&
        [ "$(stat -c '%a %u %g' "$dest")" = "${mode#0} ${want_uid:-?} ${want_gid:-?}" ]; then
        ok "$dest"
        return 1
    fi
    run install -D -m "$mode" -o "$(uid_or_name "$owner")" -g "$(gid_or_name "$group")" "$src" "$dest"
}

# ensure_dir DIR MODE OWNER GROUP
ensure_dir() {
    local dir=$1 mode=$2 owner=$3 group=$4
    local want_uid want_gid
    want_uid=$(uid_of "$owner")
    want_gid=$(gid_of "$group")
    if [ -d "$dir" ] && [ "$(stat -c '%a %u %g' "$dir")" = "${mode#0} ${want_uid:-?} ${want_gid:-?}" ]; then
        ok "$dir/"
        return 0
    fi
    run install -d -m "$mode" -o "$(uid_or_name "$owner")" -g "$(gid_or_name "$group")" "$dir"
}

# render TEMPLATE: a copy in the work directory with the placeholders filled in (echoes its path).
render() {
    local out
    out="$work/$(basename "$1")"
    sed -e "s/@KIOSK_UID@/$(uid_of "$KIOSK_USER")/g" -e "s/@KIOSK_GID@/$(gid_of "$KIOSK_USER")/g" \
        -e "s/ATTRS{idVendor}==\"[0-9a-f]*\"/ATTRS{idVendor}==\"${PAD_USB_ID%%:*}\"/" \
        -e "s/ATTRS{idProduct}==\"[0-9a-f]*\"/ATTRS{idProduct}==\"${PAD_USB_ID##*:}\"/" \
        -e "s/@PRINTER_VENDOR@/${PRINTER_USB_ID%%:*}/" -e "s/@PRINTER_PRODUCT@/${PRINTER_USB_ID##*:}/" "$1" >"$out"
    printf '%s\n' "$out"
}

# The firmware's source, summarised: pip reinstalls only when it changed since the last install.
source_fingerprint() {
    (cd "$SRC_DIR" && find pyproject.toml kiosk hal ui -type f ! -path '*/__pycache__/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# ----------------------------------------------------------------------------------------------------------
check_system() {
    if [ "$DRY_RUN" != 1 ] && [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
        die "run me as root: sudo $0 (or DRY_RUN=1 $0 to see what I would do)"
    fi
    local codename=""
    if [ -r "$ROOT/etc/os-release" ]; then
        codename=$(sed -n 's/^VERSION_CODENAME=//p' "$ROOT/etc/os-release")
    fi
    if [ "$codename" != bookworm ]; then
        warn "this is ${codename:-an unknown system}, not Raspberry Pi OS Bookworm: continuing, but untested"
    fi
    case "$PAD_USB_ID" in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) die "PAD_USB_ID must be vendor:product in lower-case hex, like 0403:6001 (got $PAD_USB_ID)" ;;
    esac
    case "$PRINTER_USB_ID" in
    [0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
    *) die "PRINTER_USB_ID must be vendor:product in lower-case hex, like 067b:2303 (got $PRINTER_USB_ID)" ;;
    esac
    case "$UPS_HAT" in
    x728 | x729 | x120x | none) ;;
    *) die "UPS_HAT must be x728, x729, x120x or none (got $UPS_HAT)" ;;
    esac
    [ -f "$SRC_DIR/config.example.toml" ] || die "no config.example.toml in $SRC_DIR: run me from the checkout"
}

install_packages() {
    local missing=() package
    for package in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null | grep -q '^ii'; then
            missing+=("$package")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        ok "apt packages"
        return
    fi
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

create_user() {
    if getent passwd "$KIOSK_USER" >/dev/null; then
        ok "user $KIOSK_USER"
    else
        run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
            --shell /usr/sbin/nologin "$KIOSK_USER"
    fi
    local group members
    for group in "${KIOSK_GROUPS[@]}"; do
        if ! getent group "$group" >/dev/null; then
            warn "group $group does not exist here (not a Raspberry Pi?): $KIOSK_USER is not added to it"
            continue
        fi
        members=$(getent group "$group" | cut -d: -f4)
        if [[ ",$members," == *",$KIOSK_USER,"* ]]; then
            ok "$KIOSK_USER in group $group"
        else
            run usermod --append --groups "$group" "$KIOSK_USER"
        fi
    done
}

install_app() {
    ensure_dir "$ROOT$APP_DIR" 0755 root root
    local python="$ROOT$VENV/bin/python"
    if [ -x "$python" ]; then
        grep -q '^include-system-site-packages = true' "$ROOT$VENV/pyvenv.cfg" ||
            die "$VENV exists without system site packages (picamera2 comes from apt): remove it and run me again"
        ok "$VENV"
    else
        run python3 -m venv --system-site-packages "$ROOT$VENV"
    fi
    local fingerprint stamp="$ROOT$APP_DIR/installed-source.sha256"
    fingerprint=$(source_fingerprint)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
        ok "kiosk firmware (unchanged since the last install)"
    else
        # numpy<2: Debian's picamera2 and simplejpeg are built against numpy 1.x, which pip must keep.
        # --no-binary pygame: build it against Debian's SDL2, whose KMSDRM driver the wheels may lack.
        # --compile (pip's default, said here so that no PIP_NO_COMPILE or pip.conf turns it off): the kiosk's
        # user cannot write bytecode into this root-owned venv, and a kiosk without it compiles its modules
        # again at every start, a power cut or watchdog restart included (docs/performance.md).
        run "$python" -m pip install --no-binary pygame "numpy<2" "${SRC_DIR}[pi]" --compile
        printf '%s\n' "$fingerprint" >"$work/fingerprint"
        run install -m 0644 "$work/fingerprint" "$stamp"
    fi
    install_file "$SRC_DIR/docs/deploy.md" "$ROOT$APP_DIR/share/deploy.md" 0644 root root || true
    install_file "$SRC_DIR/config.example.toml" "$ROOT$APP_DIR/share/config.example.toml" 0644 root root || true
    if [ "$(readlink "$ROOT/usr/local/bin/kiosk" 2>/dev/null)" = "$VENV/bin/kiosk" ]; then
        ok "/usr/local/bin/kiosk"
    else
        run install -d -m 0755 "$ROOT/usr/local/bin"
        run ln -sfn "$VENV/bin/kiosk" "$ROOT/usr/local/bin/kiosk"
    fi
}

install_config() {
    ensure_dir "$ROOT$CONFIG_DIR" 0750 root "$KIOSK_USER"
    if [ -e "$ROOT$CONFIG_FILE" ]; then
        ok "$CONFIG_FILE (kept as it is)"
    else
        run install -m 0640 -o "$(uid_or_name root)" -g "$(gid_or_name "$KIOSK_USER")" \
            "$SRC_DIR/config.example.toml" "$ROOT$CONFIG_FILE"
    fi
    ensure_dir "$ROOT$DATA_DIR" 0700 "$KIOSK_USER" "$KIOSK_USER"
    # A config the kiosk cannot load would only show up as a restart loop: check it now.
    local python="$ROOT$VENV/bin/python"
    if [ -x "$python" ] && [ -e "$ROOT$CONFIG_FILE" ]; then
        local data_dir
        data_dir=$("$python" -c 'import sys
from kiosk.config import ConfigError, load_config
try:
    print(load_config(sys.argv[1]).data_path)
except ConfigError as exc:
    sys.exit(f"config error: {exc}")' "$ROOT$CONFIG_FILE") || die "fix $CONFIG_FILE, then run me again"
        if [ "$data_dir" != "$DATA_DIR" ]; then
            warn "$CONFIG_FILE keeps data in $data_dir, but the service may only write to $DATA_DIR"
        else
            ok "$CONFIG_FILE loads"
        fi
    fi
}

install_units() {
    local d="$SRC_DIR/scripts/systemd"
    install_file "$d/dukcapil-kiosk.service" "$ROOT/etc/systemd/system/$UNIT" 0644 root root && units_changed=1
    install_file "$d/logind.conf.d/dukcapil-kiosk.conf" "$ROOT/etc/systemd/logind.conf.d/dukcapil-kiosk.conf" \
        0644 root root && units_changed=1
    install_file "$d/system.conf.d/dukcapil-kiosk.conf" "$ROOT/etc/systemd/system.conf.d/dukcapil-kiosk.conf" \
        0644 root root && units_changed=1
    install_file "$d/sysctl.d/90-dukcapil-kiosk.conf" "$ROOT/etc/sysctl.d/90-dukcapil-kiosk.conf" 0644 root root ||
        true
    install_file "$SRC_DIR/scripts/polkit/50-dukcapil-kiosk.rules" \
        "$ROOT/etc/polkit-1/rules.d/50-dukcapil-kiosk.rules" 0644 root root || true
    if [ "$units_changed" = 1 ] && [ -z "$ROOT" ]; then
        run systemctl daemon-reload
    fi
    if [ "$(systemctl is-enabled "$UNIT" 2>/dev/null || true)" = enabled ]; then
        ok "$UNIT enabled"
    else
        run systemctl enable "$UNIT"
    fi
    # Kiosk mode: the kiosk owns tty1, and a single Ctrl+Alt+Del does nothing.
    local unit
    for unit in getty@tty1.service ctrl-alt-del.target; do
        if [ "$(systemctl is-enabled "$unit" 2>/dev/null || true)" = masked ]; then
            ok "$unit masked"
        else
            run systemctl mask "$unit"
        fi
    done
    if [ "$(systemctl get-default 2>/dev/null || true)" = graphical.target ]; then
        run systemctl set-default multi-user.target
    else
        ok "no desktop at boot"
    fi
}

install_udev_rules() {
    local d="$SRC_DIR/scripts/udev" rendered name
    for name in 99-dukcapil-signature-pad.rules 99-dukcapil-receipt-printer.rules 99-dukcapil-usb-stick.rules; do
        rendered=$(render "$d/$name")
        install_file "$rendered" "$ROOT/etc/udev/rules.d/$name" 0644 root root && udev_changed=1
    done
    if [ "$udev_changed" = 1 ] && [ -z "$ROOT" ]; then
        run udevadm control --reload
        run udevadm trigger --subsystem-match=tty --action=add
    fi
}

# Add a line to config.txt unless it is already there, under an [all] section so that it applies to
# every Pi model whatever conditional section ([pi4], [cm4] ...) the file ends with.
boot_line() {
    local file=$1 line=$2
    if grep -qxF "$line" "$file"; then
        ok "$line in ${file#"$ROOT"}"
    elif [ "$(grep '^\[' "$file" | tail -n 1)" = "[all]" ] || ! grep -q '^\[' "$file"; then
        run sed -i -e "\$a $line" "$file"
    else
        run sed -i -e "\$a [all]" -e "\$a $line" "$file"
    fi
}

# Add a token to the one-line kernel command line unless it is already there.
cmdline_token() {
    local file=$1 token=$2
    if tr ' ' '\n' <"$file" | grep -qxF "$token"; then
        ok "$token in ${file#"$ROOT"}"
    else
        run sed -i -e "1 s/\$/ $token/" "$file"
    fi
}

configure_pi() {
    local boot="$ROOT/boot/firmware"
    [ -d "$boot" ] || boot="$ROOT/boot"
    if ! command -v raspi-config >/dev/null || [ ! -f "$boot/config.txt" ]; then
        warn "no raspi-config or $boot/config.txt: not a Raspberry Pi, skipping I2C, UART and boot settings"
        return
    fi
    # raspi-config's get_* answer 0 for "on".
    if [ "$(raspi-config nonint get_i2c)" = 0 ]; then ok "I2C on"; else run raspi-config nonint do_i2c 0; fi
    # The UART serves a serial printer or pad ([printer] port = /dev/ttyS0), not a login console.
    if [ "$(raspi-config nonint get_serial_hw)" = 0 ]; then ok "UART on"; else run raspi-config nonint do_serial_hw 0; fi
    if [ "$(raspi-config nonint get_serial_cons)" = 0 ]; then
        run raspi-config nonint do_serial_cons 1
    else
        ok "no serial console"
    fi
    if [ "$UPS_HAT" = x728 ]; then
        # The X728 cuts power after halt once GPIO12 ("boot OK") falls; the overlay holds it high until then.
        boot_line "$boot/config.txt" "dtoverlay=gpio-poweroff,gpiopin=12,active_low=1"
    fi
    # No blinking console cursor, no screen blanking, no boot logo under the kiosk's first frame.
    local token
    for token in vt.global_cursor_default=0 consoleblank=0 logo.nologo; do
        cmdline_token "$boot/cmdline.txt" "$token"
    done
}

main() {
    check_system
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    install_packages
    create_user
    install_app
    install_config
    install_units
    install_udev_rules
    configure_pi
    if [ "$DRY_RUN" = 1 ]; then
        say "dry run: $changes change(s) to make; nothing was changed"
    elif [ "$changes" -eq 0 ]; then
        say "nothing to change: the kiosk is installed and up to date"
    else
        say "done: $changes change(s). Next (see docs/deploy.md): set the technician PIN with"
        say "  sudo -u $KIOSK_USER kiosk set-pin"
        say "enrol the kiosk with the registry server, then reboot."
    fi
}

main "$@"
