"""Every `roofsweep ...` command in the ```bash blocks of README.md and docs/*.md runs.

The commands are read from the files (continuation lines joined, `&&` chains split, trailing
`# comments` dropped), deduplicated, and run in-process with typer's CliRunner in a scratch
folder that links the repository's ``tests/`` and ``configs/`` (so the relative paths the docs
use resolve, and any report they write lands there). A command documented with a trailing
``# error: TEXT`` must fail with a one-line error holding TEXT.

What is not run is listed explicitly below, each with its reason: the commands that time this
machine (probe/measure/validate/calibrate) and the long runs (search of 10^5 samples or more).
Names the docs use for the reader's own files (``my_package.models:build_net``,
``my-npu.yaml``...) are replaced by small real ones (``PLACEHOLDERS``). A sweep/compare/run
that would write a report gets ``--no-report``, except the README's first command, whose
report is checked.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from roofsweep.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BASH_BLOCK = re.compile(r"^```bash[ \t]*\n(.*?)^```", re.S | re.M)
# A `$ roofsweep ...` prompt line in any other fenced block (an output sample) is a command too.
PROMPT_LINE = re.compile(r"^```[\w-]*[ \t]*\n(.*?)^```", re.S | re.M)

# subcommand -> why it is not run here (each needs this machine's hardware, and minutes)
NOT_RUN = {
    "probe": "microbenchmarks this host's peak MAC/s and bandwidth (timing, minutes)",
    "measure": "times real inference on this host",
    "validate": "measures real latency of several models",
    "calibrate": "fits a latency model from minutes of microbenchmarks",
}
MAX_SEARCH_SAMPLES = 10**5  # `search --samples N` with N at least this is a long run: not run

# The reader's own files and code, as the docs name them -> what stands in for them here.
PLACEHOLDERS = {
    "my_package.models:build_net": "tests._tiny_models:tiny",  # a package.module:callable
    "my-npu.yaml": "my-npu.yaml",            # written by the fixture: a copy of a shipped profile
    "my-accuracies.csv": "my-accuracies.csv",  # written by the fixture: model,top1 rows
    "my-small-space.yaml": "my-small-space.yaml",  # written by the fixture: a 4-candidate space
}
SMALL_SPACE = {
    "name": "small", "resolutions": [64], "width_multipliers": [1.0], "activation": "relu",
    "num_classes": 10, "stem": {"kernel": 3, "stride": 2, "channels": 8},
    "stages": [{"name": "a", "widths": [16], "blocks": [
        {"type": "uib", "stride": 2, "start_dw": [0, 3], "mid_dw": [3], "expand": [2, 4]}]}],
    "head": {"channels": 32, "hidden": 64},
}  # 2 start_dw x 2 expand = 4 candidates
# A documented extra -> the spec fragments of commands that need it (checked: an install line
# naming the extra comes before such a command in its file).
EXTRA_FOR = {"models": ("torchvision:", "timm:"), "onnx": (".onnx",), "tflite": (".tflite",),
             "cluster": ("--scheduler",)}
FIRST_REPORT = ("sweep", "--model", "mnv4-conv-m")  # README's quick start: its report is checked


@dataclass(frozen=True)
class DocCommand:
    where: str  # file:line
    argv: tuple[str, ...]  # after `roofsweep`
    comment: str  # the trailing `# ...` text
    text_before: str  # the file up to this command (to find its install line)


def _logical_lines(block: str, first_line: int):
    """(line number, text) of a bash block, continuation lines joined."""
    buf, start = "", first_line
    for n, raw in enumerate(block.splitlines(), first_line):
        if not buf:
            start = n
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        yield start, buf + raw
        buf = ""
    if buf:
        yield start, buf


def _command_lines(text: str):
    """(line number, text) of every shell line: bash blocks whole, other blocks' ``$`` lines."""
    for m in PROMPT_LINE.finditer(text):
        first = text[: m.start(1)].count("\n") + 1
        bash = text[m.start():m.start(1)].startswith("```bash")
        for n, line in _logical_lines(m.group(1), first):
            if line.startswith("$ "):
                yield n, line[2:]
            elif bash:
                yield n, line


def doc_commands() -> list[DocCommand]:
    out = []
    for path in DOC_FILES:
        text = path.read_text()
        for n, line in _command_lines(text):
            code, _, comment = line.partition(" #") if not line.lstrip().startswith("#") else ("", "", "")
            for part in code.split("&&"):
                words = shlex.split(part)
                if words and (words[0] == "roofsweep" or words[0].endswith("/roofsweep")):
                    before = "\n".join(text.splitlines()[:n])  # the file up to this line
                    out.append(DocCommand(f"{path.name}:{n}", tuple(words[1:]), comment.strip(), before))
    return out


COMMANDS = doc_commands()


def _written_by_not_run() -> set[str]:
    """The files the not-run commands would write (``--out``/``--fit-out``): a command reading
    one (``--hardware my-host-calibrated.yaml``) is not run either."""
    out = set()
    for c in COMMANDS:
        if c.argv and c.argv[0] in NOT_RUN:
            out |= {c.argv[i + 1] for i, a in enumerate(c.argv[:-1]) if a in ("--out", "--fit-out")}
    return out


def why_not_run(argv: tuple[str, ...]) -> str | None:
    if argv and argv[0] in NOT_RUN:
        return NOT_RUN[argv[0]]
    needs = sorted(set(argv) & WRITTEN_BY_NOT_RUN)
    if needs:
        return f"reads {needs[0]}, which a command not run here writes"
    if argv[:1] == ("search",) and "--samples" in argv:
        if int(argv[argv.index("--samples") + 1]) >= MAX_SEARCH_SAMPLES:
            return f"search of {MAX_SEARCH_SAMPLES:,} samples or more (a long run)"
    return None


def prepared(argv: tuple[str, ...]) -> list[str]:
    """The command as run here: placeholders replaced, ``--no-report`` where a report would be
    written into the scratch folder (the README's first command excepted)."""
    args = []
    for a in argv:
        for name, stand_in in PLACEHOLDERS.items():
            a = a.replace(name, stand_in)
        args.append(a)
    writes_report = args[:1] in (["sweep"], ["compare"], ["run"]) and not {"--out", "-o", "--no-report"} & set(args)
    fmt = args[args.index("--format") + 1] if "--format" in args else "table"
    if writes_report and fmt == "table" and tuple(args) != FIRST_REPORT:
        args.append("--no-report")
    return args


WRITTEN_BY_NOT_RUN = _written_by_not_run()
RUN = {}  # argv -> every place it is documented (identical commands run once)
for c in COMMANDS:
    RUN.setdefault(c.argv, []).append(c)


def test_the_docs_hold_the_commands_this_test_runs():
    """The extraction finds what the docs show (a guard against a regex that matches nothing)."""
    where = {c.where.split(":")[0] for c in COMMANDS}
    assert {"README.md", "user-guide.md", "importing-models.md", "search-spaces.md"} <= where
    assert FIRST_REPORT in RUN  # README's quick start, from its `&&` chain
    assert ("layers", "--model", "mnv2.onnx") in RUN  # a documented error
    assert any(c.argv[:1] == ("search",) and why_not_run(c.argv) for c in COMMANDS)
    assert sum(why_not_run(a) is None for a in RUN) >= 40


def test_every_command_needing_an_extra_sits_under_its_install_line():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert all(f"\n{extra} = [" in pyproject for extra in EXTRA_FOR)
    missing = [f"{c.where}: `roofsweep {' '.join(c.argv)}` needs the {extra} extra"
               for c in COMMANDS for extra, needles in EXTRA_FOR.items()
               if any(n in a for a in c.argv for n in needles)
               and not re.search(rf"pip install[^\n]*\[[\w,]*\b{extra}\b", c.text_before)]
    assert not missing, "no install line above: " + "; ".join(missing)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    for name in ("tests", "configs"):
        (d / name).symlink_to(ROOT / name, target_is_directory=True)
    profile = yaml.safe_load((ROOT / "roofsweep" / "hardware_profiles" / "pixel6-cpu.yaml").read_text())
    profile["name"] = "my-npu"
    (d / "my-npu.yaml").write_text(yaml.safe_dump(profile))
    (d / "my-accuracies.csv").write_text("model,top1\nmnv2,72.0\ntests._tiny_models:tiny,50.0\n")
    (d / "my-small-space.yaml").write_text(yaml.safe_dump(SMALL_SPACE))
    return d


def _python_lines():
    """`python -c "..."` lines of the bash blocks (the ONNX export the next commands read)."""
    for path in DOC_FILES:
        for m in BASH_BLOCK.finditer(path.read_text()):
            for _, line in _logical_lines(m.group(1), 0):
                words = shlex.split(line, comments=True)
                if words[:2] == ["python", "-c"]:
                    yield words[2]


@pytest.mark.parametrize("argv", sorted(RUN), ids=lambda a: " ".join(a)[:80])
def test_documented_command_runs(argv, scratch, monkeypatch):
    docs = RUN[argv]
    reason = why_not_run(argv)
    if reason is not None:  # the explicit list above: only its command name is checked to exist
        r = CliRunner().invoke(app, [*argv, "--help"], catch_exceptions=False)
        assert r.exit_code == 0, f"{docs[0].where}: {r.output}"
        return
    monkeypatch.chdir(scratch)
    if any(a.endswith("mnv2.onnx") for a in argv) and not (scratch / "mnv2.onnx").exists():
        for code in _python_lines():  # the documented export, run here in-process
            if "mnv2.onnx" in code:
                exec(compile(code, docs[0].where, "exec"), {})  # noqa: S102 - the docs' own line
    r = CliRunner().invoke(app, prepared(argv), catch_exceptions=False)
    where = ", ".join(c.where for c in docs)
    comment = docs[0].comment
    if comment.startswith("error:"):
        expected = comment[len("error:"):].split("...")[0].strip(" ;")
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.exit_code == 1 and len(lines) == 1 and expected in lines[0], f"{where}: {r.output}"
        return
    assert r.exit_code == 0, f"{where}: roofsweep {' '.join(argv)}\n{r.output}"
    assert "Traceback" not in r.output
    for px in re.findall(r"native (\d+) px", comment):  # the size the docs promise, in the header
        assert f"x{px}x{px} (" in r.stdout, f"{where}: not traced at {px} px\n{r.stdout[:300]}"
    for macs in re.findall(r"\b(\d+(?:\.\d+)?) GMAC\b", comment):  # a documented total
        assert f": {macs} GMAC," in r.stdout, f"{where}: not {macs} GMAC\n{r.stdout[-300:]}"
    if argv == FIRST_REPORT:  # README: "writes roofsweep-reports/sweep-mnv4-conv-m/index.html"
        assert (scratch / "roofsweep-reports" / "sweep-mnv4-conv-m" / "index.html").is_file()
