"""``roofsweep hardware list | show NAME | validate FILE...``."""

from __future__ import annotations

from pathlib import Path

import typer

from roofsweep.cli import app
from roofsweep.cli.common import Format, console, emit, err_console, handle_errors, warn

hw_app = typer.Typer(
    help="Hardware profiles: list, show, validate. Example: roofsweep hardware show pixel6-cpu",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(hw_app, name="hardware")


def _profile_rows(profiles, origin: dict | None = None):
    import pandas as pd

    rows = []
    for p in profiles:
        rows.append(
            {
                "name": p.name,
                "display_name": p.display_name,
                "kind": p.kind,
                "default_dtype": p.default_dtype,
                "peak_macs_per_s": float(p.peak()),
                "bandwidth_bytes_per_s": float(p.bandwidth_bytes_per_s),
                "ridge_point": float(p.ridge_point()),
                "onchip_bytes": p.onchip_bytes,
                "estimated": ", ".join(p.estimated),
                "path": str(p.path) if p.path else "",
                "origin": (origin or {}).get(p.name, ""),
            }
        )
    return pd.DataFrame(rows)


@hw_app.command("list")
@handle_errors
def list_cmd(fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format.")) -> None:
    """Every hardware profile found (built-in, per-user folder, $ROOFSWEEP_PROFILE_PATH), by ridge point.

    Example: roofsweep hardware list --format csv
    """
    from roofsweep.hardware import discover
    from roofsweep.report.terminal import profile_list_table

    found = discover()
    origin = {e.profile.name: e.origin for e in found.entries if e.active}
    emit(_profile_rows(found.profiles, origin), fmt, [profile_list_table(found.profiles)])
    for e in found.shadowed:
        warn(f"{e.path}: profile '{e.profile.name}' is shadowed by {e.shadowed_by}")
    for problem in found.problems:
        warn(problem)
    if fmt == Format.table:
        dirs = ", ".join(f"{d.path} ({d.origin})" for d in found.dirs)
        err_console.print(f"searched: {dirs}", markup=False, highlight=False, soft_wrap=True)


@hw_app.command("show")
@handle_errors
def show_cmd(
    name: str = typer.Argument(..., help="Profile name or path to a YAML file."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Everything about one profile: peaks and ridge point per dtype, bandwidth, sources.

    Example: roofsweep hardware show nvidia-t4
    """
    import pandas as pd

    from roofsweep.hardware import get_profile
    from roofsweep.report.terminal import profile_panel

    p = get_profile(name)
    rows = pd.DataFrame(
        [
            {
                "name": p.name,
                "dtype": d,
                "peak_macs_per_s": float(v),
                "bandwidth_bytes_per_s": float(p.bandwidth_bytes_per_s),
                "ridge_point": float(p.ridge_point(d)),
                "default": d == p.default_dtype,
            }
            for d, v in p.peak_macs_per_s.items()
        ]
    )
    panels = [profile_panel(p)]
    if getattr(p, "calibration", None) is not None:
        from roofsweep.report.measure_tables import calibration_panel

        panels.append(calibration_panel(p.calibration))
    emit(rows, fmt, panels)


@hw_app.command("validate")
@handle_errors
def validate_cmd(files: list[Path] = typer.Argument(..., help="Profile YAML files to check.")) -> None:
    """Check profile files; print every problem as FILE: FIELD: REASON. Exit 1 if any.

    Example: roofsweep hardware validate my-npu.yaml
    """
    from roofsweep.hardware import validate_file

    bad = 0
    for f in files:
        problems = validate_file(f)
        if problems:
            bad += 1
            for line in problems:
                err_console.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(f"ok: {f}", markup=False, highlight=False)
    if bad:
        raise typer.Exit(1)
