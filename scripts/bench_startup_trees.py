"""Start-up of ``kiosk run --simulate`` from two source trees in one run: a before/after that means something.

Usage::

    git archive <commit> | tar -x -C /tmp/before          # the code before a change
    python scripts/bench_startup_trees.py /tmp/before       # against this tree; --starts 7 by default

Each tree's packages are compiled into one bytecode cache (as installed kiosks have them), and every tree's
kiosk, and the bare pygame window of ``scripts/bench.py``, gets one untimed start first. Then the starts are
alternated (so that a busy moment of a shared machine falls on all of them alike) and timed by
``scripts/bench.py``'s own :func:`_time_to_ready`: exec to ``READY=1`` (the first welcome frame) and to
``STATUS=serving`` (the kiosk built; a kiosk that sends both at once has both at the same moment). Each tree
runs from its own directory with ``PYTHONPATH`` set to it, so the tree's code is imported, not the venv's
editable install; each has its own lab (keys, config, data directory), with no server running (start-up does
not wait for the network). Prints medians, every start, and the RSS at ``READY=1``, as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402 - the timing helpers are the bench's own, not a copy
from ingest_lab import IngestLab  # noqa: E402

HERE = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Time the trees' start-ups; print the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the other source tree (e.g. an exported commit)")
    parser.add_argument("after", type=Path, nargs="?", default=HERE, help="default: this tree")
    parser.add_argument("--starts", type=int, default=7, help="timed starts of each program (default 7)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="startup-trees-"))
    log = work / "log.txt"
    bytecode = work / "pycache"
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    commands = {}
    for name, tree in trees.items():
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", *(str(tree / p) for p in ("kiosk", "hal", "ui"))],
            env=bench._startup_env(bytecode),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        config = IngestLab.create(work / f"lab-{name}").write_config("http://127.0.0.1:9/")
        commands[name] = [
            *("env", "-C", str(tree), f"PYTHONPATH={tree}"),
            *(sys.executable, "-m", "kiosk", "run", "--simulate", "--windowed", "--config", str(config)),
        ]
    commands["bare pygame window"] = ["env", "-C", str(work), sys.executable, "-c", bench._BARE_PYGAME_READY]

    def start(name: str) -> bench.StartUp:
        # Only the kiosks say STATUS=serving; the bare window says READY=1 and nothing else.
        serving = name in trees
        return bench._time_to_ready(commands[name], work, log, bytecode=bytecode, serving=serving)

    for name in commands:
        start(name)  # untimed: writes the bytecode cache of what this program imports
    runs: dict[str, list[bench.StartUp]] = {name: [] for name in commands}
    for _ in range(args.starts):
        for name in commands:
            runs[name].append(start(name))
    summary = {
        name: {
            "first_frame_ms": round(statistics.median(r.ready_s for r in starts) * 1000, 1),
            "built_ms": round(statistics.median((r.serving_s or r.ready_s) for r in starts) * 1000, 1),
            "every_first_frame_ms": [round(r.ready_s * 1000) for r in starts],
            "rss_at_first_frame_mb": round(statistics.median(r.memory["VmRSS"] for r in starts), 1),
        }
        for name, starts in runs.items()
    }
    print(json.dumps({"trees": {k: str(v) for k, v in trees.items()}, "starts": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
