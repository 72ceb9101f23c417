"""Bytes written to the terminal per second: ``oncall-tui --demo --refresh 1`` versus ``htop -d 10``.

Each program runs in its own detached tmux session on a private tmux server
(``tmux -L <socket> -f <generated conf>``: status line off, so the pane is exactly WxH,
default 160x45), with ``pipe-pane -o 'cat >> FILE'`` copying everything the program writes to
its pane into FILE. After a settle time (default 5 s) the size of FILE is noted, and again after
the window (default 30 s): bytes/s = growth / window. Both see the same TERM (tmux-256color)
and COLORTERM (truecolor by default; Textual then uses 24-bit colour, htop ignores it).

oncall-tui shows the embedded demo incident (story time 900 s in by default: alerts firing,
values moving every refresh). htop refreshes every 1 s (``-d 10`` tenths).

Goal: oncall-tui bytes/s <= htop bytes/s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Tmux:
    def __init__(self, workdir: Path, term: str) -> None:
        self.socket = f"oncall-bench-{os.getpid()}"
        self.conf = workdir / "tmux.conf"
        self.conf.write_text(
            f'set -g default-terminal "{term}"\n'
            "set -g status off\n"
            "setw -g remain-on-exit on\n"
        )

    def __call__(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def kill_server(self) -> None:
        self("kill-server", check=False)


def measure(
    tmux: Tmux, name: str, command: str, args: argparse.Namespace, workdir: Path
) -> dict:
    log = workdir / f"{name}.out"
    log.touch()
    env = [f"COLORTERM={args.colorterm}"] if args.colorterm else []
    session = f"bench-{name}"
    width, height = args.size
    tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        str(width),
        "-y",
        str(height),
        *(x for e in env for x in ("-e", e)),
        "-c",
        str(ROOT),
        command,
    )
    tmux("pipe-pane", "-o", "-t", session, f"cat >> {shlex.quote(str(log))}")
    pane = tmux("display", "-p", "-t", session, "#{pane_width}x#{pane_height}").strip()
    time.sleep(args.settle)
    size0, t0 = log.stat().st_size, time.monotonic()
    time.sleep(args.window)
    size1, t1 = log.stat().st_size, time.monotonic()
    dead = tmux(
        "display", "-p", "-t", session, "#{pane_dead} #{pane_dead_status}"
    ).strip()
    screen = tmux("capture-pane", "-p", "-t", session)
    tmux("kill-session", "-t", session, check=False)
    if dead.startswith("1"):
        raise SystemExit(
            f"{name} exited during the measurement ({dead}); screen:\n{screen}"
        )
    lines = [ln.rstrip() for ln in screen.splitlines() if ln.strip()]
    return {
        "name": name,
        "command": command,
        "pane": pane,
        "bytes": size1 - size0,
        "seconds": t1 - t0,
        "rate": (size1 - size0) / (t1 - t0),
        "startup_bytes": size0,
        "screen_head": lines[:3],
        "log": log,
    }


def main() -> None:
    from _common import parse_size

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Goal: oncall-tui bytes/s <= htop bytes/s.",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=30.0,
        help="counting window in seconds (default 30)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds before counting starts (default 5)",
    )
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(160, 45),
        metavar="WxH",
        help="pane size (default 160x45)",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=1.0,
        help="oncall-tui --refresh seconds (default 1)",
    )
    parser.add_argument(
        "--demo-at",
        type=float,
        default=900.0,
        help="oncall-tui --demo-at story seconds (default 900)",
    )
    parser.add_argument(
        "--htop-delay",
        type=int,
        default=10,
        help="htop -d, in tenths of a second (default 10)",
    )
    parser.add_argument(
        "--term",
        default="tmux-256color",
        help="TERM inside the panes (default tmux-256color)",
    )
    parser.add_argument(
        "--colorterm",
        default="truecolor",
        help="COLORTERM inside the panes ('' to unset; default truecolor)",
    )
    parser.add_argument(
        "--only", choices=("oncall-tui", "htop"), help="measure just one of them"
    )
    parser.add_argument("--keep", metavar="DIR", help="copy the captured output to DIR")
    args = parser.parse_args()

    for tool in ("tmux", "htop"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y tmux htop")
    exe = Path(sys.executable).with_name("oncall-tui")
    oncall = [str(exe)] if exe.exists() else [sys.executable, "-m", "oncall_tui"]
    oncall += [
        "--demo",
        "--refresh",
        f"{args.refresh:g}",
        "--demo-at",
        f"{args.demo_at:g}",
    ]
    commands = {
        "oncall-tui": shlex.join(oncall),
        "htop": shlex.join(
            [shutil.which("htop") or "htop", "-d", str(args.htop_delay)]
        ),
    }
    if args.only:
        commands = {args.only: commands[args.only]}

    results = []
    with tempfile.TemporaryDirectory(prefix="tty-bytes-") as tmp:
        workdir = Path(tmp)
        tmux = Tmux(workdir, args.term)
        try:
            print(
                f"tty bytes: pane {args.size[0]}x{args.size[1]}, TERM={args.term} COLORTERM={args.colorterm or '(unset)'}, "
                f"settle {args.settle:g} s, window {args.window:g} s, one program at a time"
            )
            for name, command in commands.items():
                print(f"  measuring {name}: {command}", flush=True)
                r = measure(tmux, name, command, args, workdir)
                results.append(r)
                print(
                    f"    pane {r['pane']}; {r['startup_bytes']} bytes during settle; "
                    f"{r['bytes']} bytes in {r['seconds']:.1f} s; screen starts: {r['screen_head'][:1]}",
                    flush=True,
                )
            if args.keep:
                os.makedirs(args.keep, exist_ok=True)
                for r in results:
                    shutil.copy(r["log"], Path(args.keep) / r["log"].name)
        finally:
            tmux.kill_server()

    print("\nRESULT bytes written to the terminal per second")
    for r in results:
        print(
            f"  {r['name']:<11} {r['rate']:10.0f} B/s   ({r['bytes']} B in {r['seconds']:.1f} s)"
        )
    rates = {r["name"]: r["rate"] for r in results}
    if len(rates) == 2:
        ratio = rates["oncall-tui"] / rates["htop"] if rates["htop"] else float("inf")
        print(
            f"  ratio oncall-tui/htop {ratio:.2f}x   goal <= 1.0x: {'MET' if ratio <= 1.0 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
