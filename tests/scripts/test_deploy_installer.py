"""scripts/install-pi.sh, run for real in a scratch tree with stand-in system commands.

The installer is pointed at a fake root (``KIOSK_ROOT``) and finds, first on its PATH, stand-ins for the
commands that would change a real Pi (apt-get, useradd, usermod, systemctl, raspi-config, udevadm, python3).
They keep their state in files (accounts, packages, unit states, raspi-config settings) and log every change
they make, so a test can see exactly what a run changed: files in the tree, and commands that ran.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASH = "/bin/bash"
#: What the installer reads from its checkout.
SOURCE_PARTS = ("scripts", "docs", "kiosk", "hal", "ui", "pyproject.toml", "config.example.toml")

pytestmark = pytest.mark.skipif(not Path(BASH).exists(), reason="bash is needed to run the installer")

CMDLINE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=5e3da3da-02 rootfstype=ext4 fsck.repair=yes rootwait\n"
)
CONFIG_TXT = (
    "# For more options see config.txt(5)\ndtparam=audio=on\ncamera_auto_detect=1\n\n[cm4]\notg_mode=1\n"
)

# Stand-ins. Each logs what it changes to $FAKE_STATE/log; queries only read the state files.
STUBS = {
    "getent": r"""
db=$1 name=$2
grep -m1 "^$name:" "$FAKE_STATE/$db" || exit 2
""",
    "useradd": r"""
echo "useradd $*" >>"$FAKE_STATE/log"
name=${*: -1}
echo "$name:x:$FAKE_UID:$FAKE_GID::/var/lib/dukcapil-kiosk:/usr/sbin/nologin" >>"$FAKE_STATE/passwd"
echo "$name:x:$FAKE_GID:" >>"$FAKE_STATE/group"
""",
    "usermod": r"""
echo "usermod $*" >>"$FAKE_STATE/log"
group=$3 user=$4
sed -i -E -e "s/^($group:x:[0-9]+:)\$/\1$user/" -e "t" \
    -e "s/^($group:x:[0-9]+:.+)\$/\1,$user/" "$FAKE_STATE/group"
""",
    "dpkg-query": r"""
package=${*: -1}
grep -qx "$package" "$FAKE_STATE/packages" || exit 1
printf 'ii '
""",
    "apt-get": r"""
echo "apt-get $*" >>"$FAKE_STATE/log"
if [ "$1" = install ]; then
    for arg in "$@"; do
        case $arg in install | -*) ;; *) echo "$arg" >>"$FAKE_STATE/packages" ;; esac
    done
fi
""",
    "systemctl": r"""
state() { grep -m1 "^$1 " "$FAKE_STATE/units" | cut -d' ' -f2; }
case $1 in
is-enabled) s=$(state "$2"); echo "${s:-disabled}"; [ "${s:-disabled}" = enabled ] ;;
get-default) cat "$FAKE_STATE/default-target" ;;
enable | mask)
    echo "systemctl $*" >>"$FAKE_STATE/log"
    [ "$1" = enable ] && new=enabled || new=masked
    sed -i "/^$2 /d" "$FAKE_STATE/units"; echo "$2 $new" >>"$FAKE_STATE/units" ;;
set-default) echo "systemctl $*" >>"$FAKE_STATE/log"; echo "$2" >"$FAKE_STATE/default-target" ;;
*) echo "systemctl $*" >>"$FAKE_STATE/log" ;;
esac
""",
    "raspi-config": r"""
[ "$1" = nonint ] || exit 2
case $2 in
get_*) grep -m1 "^${2#get_} " "$FAKE_STATE/raspi" | cut -d' ' -f2 ;;
do_*) echo "raspi-config $*" >>"$FAKE_STATE/log"
    sed -i "/^${2#do_} /d" "$FAKE_STATE/raspi"; echo "${2#do_} $3" >>"$FAKE_STATE/raspi" ;;
esac
""",
    "udevadm": r"""
echo "udevadm $*" >>"$FAKE_STATE/log"
""",
    # python3 -m venv makes a venv whose python logs pip installs and runs anything else for real.
    "python3": r"""
echo "python3 $*" >>"$FAKE_STATE/log"
[ "$1 $2 $3" = "-m venv --system-site-packages" ] || exit 2
mkdir -p "$4/bin"
echo "include-system-site-packages = true" >"$4/pyvenv.cfg"
cat >"$4/bin/python" <<'EOF'
#!/bin/bash
if [ "$1 $2" = "-m pip" ]; then echo "pip $*" >>"$FAKE_STATE/log"; exit 0; fi
exec "$REAL_PYTHON" "$@"
EOF
chmod +x "$4/bin/python"
""",
}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frozen copy of the checkout: the installer fingerprints its source, which must not change
    under it while a test runs (the shared working tree does)."""
    copy = tmp_path_factory.mktemp("checkout")
    for part in SOURCE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
        else:
            shutil.copy2(source, copy / part)
    return copy


@dataclass
class Pi:
    """A fresh Raspberry Pi OS Lite, as far as the installer can tell."""

    root: Path
    state: Path
    bin: Path
    tmp: Path
    checkout: Path

    def run(self, *, dry_run: bool = False, **env: str) -> subprocess.CompletedProcess:
        environ = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "KIOSK_ROOT": str(self.root),
            "FAKE_STATE": str(self.state),
            "FAKE_UID": str(os.getuid()),
            "FAKE_GID": str(os.getgid()),
            "REAL_PYTHON": sys.executable,
            "TMPDIR": str(self.tmp),
            "LC_ALL": "C",
            **({"DRY_RUN": "1"} if dry_run else {}),
            **env,
        }
        return subprocess.run(
            [BASH, str(self.checkout / "scripts" / "install-pi.sh")],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def log(self) -> list[str]:
        path = self.state / "log"
        return path.read_text().splitlines() if path.exists() else []

    def snapshot(self) -> dict[str, tuple]:
        """Every path under the root with its type, mode, owner and content digest."""
        tree = {}
        for path in sorted(self.root.rglob("*")):
            info = path.lstat()
            if path.is_symlink():
                what = ("link", os.readlink(path))
            elif path.is_dir():
                what = ("dir",)
            else:
                what = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
            tree[str(path.relative_to(self.root))] = (
                *what,
                stat.S_IMODE(info.st_mode),
                info.st_uid,
                info.st_gid,
            )
        return tree

    def changes_in(self, result: subprocess.CompletedProcess) -> list[str]:
        return [line for line in result.stdout.splitlines() if line.startswith("+ ")]


@pytest.fixture
def pi(tmp_path: Path, checkout: Path) -> Pi:
    root, state, bin_dir, tmp = (tmp_path / name for name in ("root", "state", "bin", "tmp"))
    for directory in (root / "etc", root / "boot" / "firmware", state, bin_dir, tmp):
        directory.mkdir(parents=True)
    (root / "etc" / "os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n'
    )
    (root / "boot" / "firmware" / "cmdline.txt").write_text(CMDLINE)
    (root / "boot" / "firmware" / "config.txt").write_text(CONFIG_TXT)
    uid, gid = os.getuid(), os.getgid()
    # "root" maps to whoever runs the test, so that real chowns work without privileges.
    (state / "passwd").write_text(f"root:x:{uid}:{gid}:root:/root:/bin/bash\n")
    groups = [f"root:x:{gid}:"] + [
        f"{name}:x:{number}:" for name, number in [("video", 44), ("render", 105), ("input", 101)]
    ]
    groups += [f"{name}:x:{number}:" for name, number in [("dialout", 20), ("gpio", 997), ("i2c", 998)]]
    (state / "group").write_text("\n".join(groups) + "\n")
    (state / "packages").write_text("python3-venv\nfonts-dejavu-core\n")
    (state / "units").write_text("getty@tty1.service enabled\n")
    (state / "default-target").write_text("graphical.target\n")
    (state / "raspi").write_text("i2c 1\nserial_hw 1\nserial_cons 0\n")
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text("#!/bin/bash\n" + body.lstrip("\n"))
        stub.chmod(0o755)
    return Pi(root, state, bin_dir, tmp, checkout)


# -- dry run ---------------------------------------------------------------------------------------------
def test_a_dry_run_on_a_fresh_pi_lists_every_step_and_changes_nothing(pi: Pi) -> None:
    before = pi.snapshot()
    result = pi.run(dry_run=True)
    assert result.returncode == 0, result.stderr

    assert pi.snapshot() == before
    assert pi.log() == []  # no stand-in was asked to change anything
    changes = "\n".join(pi.changes_in(result))
    for expected in [
        "+ apt-get update",
        "apt-get install -y --no-install-recommends python3-dev python3-picamera2 python3-lgpio",
        "i2c-tools polkitd",
        "+ useradd --system --user-group --home-dir /var/lib/dukcapil-kiosk --no-create-home",
        *(
            f"+ usermod --append --groups {g} kiosk"
            for g in ("video", "render", "input", "dialout", "gpio", "i2c")
        ),
        f"+ python3 -m venv --system-site-packages {pi.root}/opt/dukcapil-kiosk/venv",
        "-m pip install --no-binary pygame numpy\\<2",
        f"{pi.root}/etc/dukcapil-kiosk/config.toml",
        f"+ install -d -m 0700 -o kiosk -g kiosk {pi.root}/var/lib/dukcapil-kiosk",
        f"{pi.root}/etc/systemd/system/dukcapil-kiosk.service",
        f"{pi.root}/etc/udev/rules.d/99-dukcapil-signature-pad.rules",
        f"{pi.root}/etc/polkit-1/rules.d/50-dukcapil-kiosk.rules",
        "+ systemctl enable dukcapil-kiosk.service",
        "+ systemctl mask getty@tty1.service",
        "+ systemctl mask ctrl-alt-del.target",
        "+ systemctl set-default multi-user.target",
        "+ raspi-config nonint do_i2c 0",
        "+ raspi-config nonint do_serial_hw 0",
        "+ raspi-config nonint do_serial_cons 1",
        "vt.global_cursor_default=0",
        "dtoverlay=gpio-poweroff\\,gpiopin=12\\,active_low=1",
    ]:
        assert expected in changes, f"{expected!r} missing from the dry run:\n{changes}"
    assert result.stdout.splitlines()[-1].startswith("dry run: ")
    assert "nothing was changed" in result.stdout


def test_a_dry_run_says_the_same_thing_twice(pi: Pi) -> None:
    def normalised(result: subprocess.CompletedProcess) -> str:
        return re.sub(r"/tmp\.[A-Za-z0-9]+/", "/WORK/", result.stdout)

    assert normalised(pi.run(dry_run=True)) == normalised(pi.run(dry_run=True))


# -- a real run, then again ------------------------------------------------------------------------------
def test_installing_twice_changes_nothing_the_second_time(pi: Pi) -> None:
    first = pi.run()
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[-3].startswith("done: ")
    log_after_first = pi.log()
    assert any(line.startswith("pip -m pip install") for line in log_after_first)
    tree = pi.snapshot()

    second = pi.run()
    assert second.returncode == 0, second.stdout + second.stderr
    assert pi.changes_in(second) == []
    assert pi.log() == log_after_first  # no stand-in ran again
    assert pi.snapshot() == tree  # not a byte, mode or owner changed
    assert second.stdout.splitlines()[-1] == "nothing to change: the kiosk is installed and up to date"

    third = pi.run(dry_run=True)
    assert third.returncode == 0 and pi.changes_in(third) == []
    assert "dry run: 0 change(s) to make" in third.stdout


def test_what_an_install_leaves_on_the_pi(pi: Pi) -> None:
    assert pi.run().returncode == 0
    root = pi.root

    def mode(relative: str) -> int:
        return stat.S_IMODE((root / relative).stat().st_mode)

    assert mode("var/lib/dukcapil-kiosk") == 0o700
    assert mode("etc/dukcapil-kiosk") == 0o750
    assert mode("etc/dukcapil-kiosk/config.toml") == 0o640
    assert (root / "etc/dukcapil-kiosk/config.toml").read_bytes() == (
        REPO / "config.example.toml"
    ).read_bytes()
    unit = root / "etc/systemd/system/dukcapil-kiosk.service"
    assert unit.read_bytes() == (REPO / "scripts/systemd/dukcapil-kiosk.service").read_bytes()
    assert os.readlink(root / "usr/local/bin/kiosk") == "/opt/dukcapil-kiosk/venv/bin/kiosk"
    stick_rule = (root / "etc/udev/rules.d/99-dukcapil-usb-stick.rules").read_text()
    assert f"uid={os.getuid()},gid={os.getgid()}," in stick_rule and "@KIOSK" not in stick_rule
    cmdline = (root / "boot/firmware/cmdline.txt").read_text()
    assert cmdline.count("\n") == 1 and cmdline.startswith(CMDLINE.rstrip("\n"))
    assert cmdline.split().count("vt.global_cursor_default=0") == 1
    # The file ended in a [cm4] section: the overlay goes under [all] so that every Pi gets it.
    assert (
        (root / "boot/firmware/config.txt")
        .read_text()
        .endswith("[cm4]\notg_mode=1\n[all]\ndtoverlay=gpio-poweroff,gpiopin=12,active_low=1\n")
    )
    groups = (pi.state / "group").read_text()
    for group in ("video", "render", "input", "dialout", "gpio", "i2c"):
        assert re.search(rf"^{group}:x:\d+:kiosk$", groups, re.MULTILINE)
    units = (pi.state / "units").read_text()
    assert "dukcapil-kiosk.service enabled" in units and "getty@tty1.service masked" in units
    raspi = (pi.state / "raspi").read_text()
    assert {"i2c 0", "serial_hw 0", "serial_cons 1"} <= set(raspi.splitlines())


def test_an_update_keeps_the_config_and_reinstalls_only_the_firmware(pi: Pi) -> None:
    assert pi.run().returncode == 0
    config = pi.root / "etc/dukcapil-kiosk/config.toml"
    edited = config.read_text().replace('id = "BMT-MODAYAG-01"', 'id = "BMT-NUANGAN-02"')
    config.write_text(edited)  # the technician configured this kiosk
    (pi.root / "opt/dukcapil-kiosk/installed-source.sha256").write_text("an older version\n")
    before = pi.log()

    result = pi.run()
    assert result.returncode == 0
    assert config.read_text() == edited
    assert "config.toml (kept as it is)" in result.stdout
    new = pi.log()[len(before) :]
    assert len(new) == 1 and new[0].startswith("pip -m pip install --no-binary pygame numpy<2 ")
    assert new[0].endswith(" --compile")  # bytecode compiled at install: the kiosk's user cannot write it
    assert len(pi.changes_in(result)) == 2  # pip, and the new fingerprint


def test_a_config_the_kiosk_cannot_load_stops_the_install_with_its_reason(pi: Pi) -> None:
    assert pi.run().returncode == 0
    config = pi.root / "etc/dukcapil-kiosk/config.toml"
    config.write_text(config.read_text().replace('language = "id"', 'language = "fr"'))
    result = pi.run()
    assert result.returncode != 0
    assert "kiosk.language" in result.stderr and "fix /etc/dukcapil-kiosk/config.toml" in result.stderr


def test_the_signature_pad_rule_takes_another_adapter(pi: Pi) -> None:
    assert pi.run(PAD_USB_ID="067b:2303").returncode == 0
    rule = (pi.root / "etc/udev/rules.d/99-dukcapil-signature-pad.rules").read_text()
    assert 'ATTRS{idVendor}=="067b", ATTRS{idProduct}=="2303", SYMLINK+="signature-pad"' in rule


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAD_USB_ID": "FTDI"}, "PAD_USB_ID must be vendor:product"),
        ({"UPS_HAT": "x999"}, "UPS_HAT must be"),
    ],
)
def test_bad_settings_are_refused_before_anything_happens(pi: Pi, env: dict[str, str], message: str) -> None:
    before = pi.snapshot()
    result = pi.run(**env)
    assert result.returncode == 1 and message in result.stderr
    assert pi.snapshot() == before and pi.log() == []


def test_a_machine_that_is_not_a_pi_is_installed_without_the_pi_settings(pi: Pi) -> None:
    (pi.bin / "raspi-config").unlink()
    result = pi.run()
    assert result.returncode == 0
    assert "not a Raspberry Pi, skipping I2C, UART and boot settings" in result.stderr
    assert (pi.root / "boot/firmware/cmdline.txt").read_text() == CMDLINE
