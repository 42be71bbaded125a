"""Fuzz hardware profiles and experiment configs in-process and print a tally of outcomes.

Uses the strategies and checks of ``tests/fuzz_cases.py`` (the same ones the test suite runs
2,200 of): mutated profile documents, random text spliced into a profile, mutated configs. Each
case must load to values inside their documented ranges or fail with one short
``RoofsweepError`` line; anything else is counted as ``VIOLATION`` (and the first few printed).

    python benchmarks/fuzz_inputs.py                 # 4,000 + 2,000 + 4,000 = 10,000 cases
    python benchmarks/fuzz_inputs.py --scale 0.1     # 1,000 cases, a quick look
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import fuzz_cases as F  # noqa: E402


def _run(name: str, n: int, strategy, check, tally: collections.Counter, failures: list) -> float:
    start = time.perf_counter()

    @settings(max_examples=n, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(strategy)
    def case(arg):
        try:
            outcome = check(arg)
        except Exception:  # noqa: BLE001 - a violation of the promise is what we count
            outcome = "VIOLATION"
            if len(failures) < 5:
                failures.append(f"{name}: {traceback.format_exc(limit=2)}")
        tally[(name, outcome)] += 1

    case()
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the case counts")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="roofsweep-fuzz-bench-"))
    base = F.to_yaml(F.BASE_PROFILE)

    def profile(doc):
        text = F.to_yaml(doc)
        return "unencodable" if text is None else F.check_profile(text)

    def spliced(pair):
        junk, at = pair
        return F.check_profile(base[:at] + junk + base[at:])

    def config(doc):
        text = F.to_yaml(doc)
        if text is None:
            return "unencodable"
        path = folder / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return F.check_config(path)

    tally: collections.Counter = collections.Counter()
    failures: list[str] = []
    seconds = {}
    plan = [("profile", 4000, F.profiles, profile),
            ("profile-text", 2000, st.tuples(st.text(max_size=200), st.integers(0, 400)), spliced),
            ("config", 4000, F.configs(), config)]
    for name, n, strategy, check in plan:
        seconds[name] = _run(name, max(1, int(n * args.scale)), strategy, check, tally, failures)
    by_kind: dict[str, dict[str, int]] = collections.defaultdict(dict)
    for (kind, outcome), count in sorted(tally.items()):
        by_kind[kind][outcome] = count
    total = sum(tally.values())
    violations = sum(c for (_, o), c in tally.items() if o == "VIOLATION")
    print(json.dumps({"cases": total, "violations": violations, "by_kind": by_kind,
                      "seconds": {k: round(v, 1) for k, v in seconds.items()}}, indent=2))
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
