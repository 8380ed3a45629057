"""What every measurement shares: the cached stores, the timer, one row of the table.

Stores are generated once per size with `python -m funnel demo` and kept under `bench-data/`
(git-ignored), so a second `make bench` starts measuring at once. Each figure is the median of
several runs: one slow outlier on a shared 2-core machine must not decide a figure.
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar, cast

from funnel import store

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "bench-data"
SIZES = (100_000, 1_000_000)
DEAL_SHARE = 0.03
"""Deals per lead in the generated stores (30,000 deals beside 1,000,000 leads)."""
SLOW_RUN_S = 2.0
VERY_SLOW_RUN_S = 10.0

Unit = Literal["s", "bytes"]

SIZE_SUFFIXES = {"k": 1_000, "m": 1_000_000}


def parse_size(text: str) -> int:
    """A store size as `--sizes` takes it: `10m`, `1M`, `100k` or a plain count (`2500`).

    >>> [parse_size(t) for t in ("10m", "100k", "2500")]
    [10000000, 100000, 2500]
    """
    digits, unit = text.strip().lower(), 1
    if digits[-1:] in SIZE_SUFFIXES:
        digits, unit = digits[:-1], SIZE_SUFFIXES[digits[-1]]
    if not digits.isdigit() or int(digits) == 0:
        raise ValueError(f"'{text}' is not a size like 10m, 100k or 2500")
    return int(digits) * unit


class Run(NamedTuple):
    """One run of a child process: wall and CPU seconds (user + system) and its peak RSS in
    bytes, as the kernel counted them for that child alone (`wait4`)."""

    wall: float
    cpu: float
    peak_rss: int


def run_child(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `command` from the project's root, output discarded; raise if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{errors[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)


T = TypeVar("T")


@dataclass
class Bench:
    """The sizes to measure, how many runs make a median, where the stores live."""

    sizes: tuple[int, ...] = SIZES
    runs: int = 5
    data_dir: Path = DEFAULT_DATA
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    _kept: dict[tuple[str, int], Any] = field(default_factory=dict, repr=False)

    @property
    def largest(self) -> int:
        return max(self.sizes)

    def store(self, leads: int) -> Path:
        """The demo store with `leads` leads (and deals in proportion), generated on first use."""
        path = self.data_dir / f"leads_{leads}.db"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            deals = max(60, round(leads * DEAL_SHARE))
            self.log(f"generating {path} ({leads:,} leads, {deals:,} deals), once")
            partial = path.with_suffix(".partial.db")
            partial.unlink(missing_ok=True)
            subprocess.run(
                [
                    *(sys.executable, "-m", "funnel", "demo"),
                    *("--leads", str(leads), "--deals", str(deals), "--db", str(partial)),
                ],
                check=True,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
            partial.rename(path)
            # The demo wrote the leads' copy (and may keep more) beside the partial store: each
            # is named for the leads' content, so it is the new store's too, not to be rebuilt
            # from SQLite on the first read (a minute at ten million leads).
            for beside in partial.parent.glob(f"{partial.name}.*"):
                beside.rename(path.with_name(path.name + beside.name.removeprefix(partial.name)))
        return path

    def scratch_store(self, leads: int) -> Path:
        """A fresh copy of the `leads` store, for measurements that write (the original stays
        as generated, so every run starts from the same data)."""
        copy = self.data_dir / f"scratch_{leads}.db"
        for leftover in (copy, copy.with_name(copy.name + "-wal"), copy.with_name(copy.name + "-shm")):
            leftover.unlink(missing_ok=True)
        # Through the store's backup (SQLite's backup API), never a file copy: this process may
        # hold the source open.
        with store.opened(self.store(leads)) as db:
            return store.backup(db, copy)

    def once(self, what: str, size: int, make: Callable[[], T]) -> T:
        """`make()` the first time, then the same object: a frame several measurements share
        (the scored leads), as the app's cache shares it, built once per run."""
        key = (what, size)
        if key not in self._kept:
            self._kept[key] = make()
        return cast(T, self._kept[key])

    def median_time(self, fn: Callable[[], object], runs: int | None = None) -> Timing:
        """Median wall and CPU time of `fn` in seconds, after one untimed warm-up call.

        A call slower than `SLOW_RUN_S` gets 3 timed runs; one slower than `VERY_SLOW_RUN_S` (a
        million-row import) is its own figure: warm-up effects are small beside it, and the
        machine is shared.
        """
        runs = runs or self.runs
        first = timed(fn)
        if first.wall > VERY_SLOW_RUN_S:
            return first
        if first.wall > SLOW_RUN_S:
            runs = min(runs, 3)
        return median([timed(fn) for _ in range(runs)])


class Timing(NamedTuple):
    """Wall time, and the CPU time of this process (all its threads), in seconds.

    On a shared machine wall time includes waiting for a core; CPU time does not. Where the
    work runs on one thread, CPU time is what the wall time would be on an idle machine.
    """

    wall: float
    cpu: float


def timed(fn: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def median(timings: list[Timing]) -> Timing:
    return Timing(statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings))


@dataclass
class Figure:
    """One row of the table: a figure at each size, its target, and the usual way beside it.

    `target` and `min_ratio` apply at the largest size; `usual` is the same work done the way a
    typical Streamlit app does it (pandas, no caching), measured in the same run.
    """

    name: str
    unit: Unit
    values: dict[int, float | None]
    target: float | None = None
    usual: float | None = None
    usual_how: str = ""
    min_ratio: float | None = None
    note: str = ""
    cpu: dict[int, float] = field(default_factory=dict)
    """CPU seconds beside each time: what the figure is worth when the machine is busy."""
    usual_cpu: float | None = None

    @classmethod
    def timed(
        cls,
        name: str,
        timings: dict[int, Timing | None],
        usual: Timing | None = None,
        **kwargs: Any,
    ) -> Figure:
        """A time figure from `Bench.median_time` results (None: could not be measured)."""
        return cls(
            name,
            "s",
            {s: None if t is None else t.wall for s, t in timings.items()},
            cpu={s: t.cpu for s, t in timings.items() if t is not None},
            usual=None if usual is None else usual.wall,
            usual_cpu=None if usual is None else usual.cpu,
            **kwargs,
        )

    def at(self, size: int) -> float | None:
        return self.values.get(size)

    def ratio(self, size: int) -> float | None:
        """The usual way's cost over ours, on CPU time where both have it.

        The two are timed minutes apart on a machine others share: a busy minute would skew a
        ratio of wall times either way, while CPU time is what each did itself. Polars spreads
        work over both cores, so CPU time counts ours at its most: the ratio errs low.
        """
        cpu = self.cpu.get(size)
        if self.usual_cpu is not None and cpu:
            return self.usual_cpu / cpu
        value = self.at(size)
        if self.usual is None or not value:
            return None
        return self.usual / value

    def met(self, size: int) -> bool | None:
        """Whether the target (and the ratio, if any) holds at `size`; None if there is none."""
        value = self.at(size)
        if self.target is None or value is None:
            return None
        ok = value <= self.target
        ratio = self.ratio(size)
        if self.min_ratio is not None:
            ok = ok and ratio is not None and ratio >= self.min_ratio
        return ok


def fmt(value: float | None, unit: Unit) -> str:
    if value is None:
        return "—"
    if unit == "bytes":
        if value >= 1e9:
            return f"{value / 1e9:.2f} GB"
        if value >= 1e6:
            return f"{value / 1e6:.1f} MB"
        return f"{value / 1e3:.0f} kB"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.0f} ms" if value >= 0.01 else f"{value * 1000:.1f} ms"


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def table(figures: list[Figure], sizes: tuple[int, ...]) -> str:
    """The figures as one Markdown table (what `make bench` prints and the README keeps)."""
    big = max(sizes)
    small = min(sizes)
    head = (
        ["figure"]
        + [size_label(s) for s in sizes]
        + [
            f"growth {size_label(small)}→{size_label(big)}",
            f"CPU at {size_label(big)}",
            f"target at {size_label(big)}",
            f"usual way at {size_label(big)}",
            "ratio",
            "met?",
        ]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in figures:
        low, high = f.at(small), f.at(big)
        growth = f"{high / low:.1f}x" if low and high is not None and small != big else "—"
        target = "—" if f.target is None else "≤ " + fmt(f.target, f.unit)
        if f.min_ratio is not None:
            target += f", ≥ {f.min_ratio:g}x"
        usual = fmt(f.usual, f.unit) + (f" ({f.usual_how})" if f.usual_how else "")
        ratio = f.ratio(big)
        met = f.met(big)
        row = (
            [f.name + (f" ({f.note})" if f.note else "")]
            + [fmt(f.at(s), f.unit) for s in sizes]
            + [
                growth,
                fmt(f.cpu.get(big), "s"),
                target,
                usual if f.usual is not None else "—",
                "—" if ratio is None else f"{ratio:.1f}x",
                "—" if met is None else ("yes" if met else "**no**"),
            ]
        )
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def machine() -> str:
    """nproc, CPU model and RAM: the figures mean nothing without the machine."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram = f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return f"{os.cpu_count()} cores, {cpu}, {ram}, Python {platform.python_version()}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(script: str, db: Path) -> Iterator[tuple[str, int]]:
    """A fresh `streamlit run` of `script` on `db`, as a user runs it; yields its URL and the
    server's pid once it answers, and stops it after."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)),
            *("--server.headless", "true", "--", "--db", str(db)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "FUNNEL_DB": str(db)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{script} did not start on {url}") from None
                time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
