"""``roofsweep hardware list | show NAME | validate FILE...``."""

from __future__ import annotations

from pathlib import Path

import typer

from roofsweep.cli import Command, Group, app
from roofsweep.cli.common import Format, console, emit, err_console, handle_errors, warn

hw_app = typer.Typer(
    cls=Group,
    help="Hardware profiles: list, show, validate. Example: roofsweep hardware show pixel6-cpu",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(hw_app, name="hardware")


@hw_app.command("list")
@handle_errors
def list_cmd(fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv.")) -> None:
    """Every hardware profile found (built-in, per-user folder, $ROOFSWEEP_PROFILE_PATH), by ridge point.

    Example: roofsweep hardware list --format csv
    """
    from roofsweep.hardware import discover
    from roofsweep.report.export import profile_rows
    from roofsweep.report.terminal import profile_list_table

    found = discover()
    origin = {e.profile.name: e.origin for e in found.entries if e.active}
    emit(profile_rows(found.profiles, origin), fmt, [profile_list_table(found.profiles)])
    for e in found.shadowed:
        warn(f"{e.path}: profile '{e.profile.name}' is shadowed by {e.shadowed_by}")
    for problem in found.problems:
        warn(problem)
    if fmt == Format.table:
        dirs = ", ".join(f"{d.path} ({d.origin})" for d in found.dirs)
        err_console.print(f"searched: {dirs}", markup=False, highlight=False, soft_wrap=True)


@hw_app.command("show", cls=Command)
@handle_errors
def show_cmd(
    name: str = typer.Argument(..., metavar="NAME", help="Profile name or path to a YAML file."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Everything about one profile: peaks and ridge point per dtype, bandwidth, sources.

    Example: roofsweep hardware show nvidia-t4
    """
    from roofsweep.hardware import get_profile
    from roofsweep.report.export import profile_dtype_rows
    from roofsweep.report.terminal import profile_panel

    p = get_profile(name)
    panels = [profile_panel(p)]
    if getattr(p, "calibration", None) is not None:
        from roofsweep.report.measure_tables import calibration_panel

        panels.append(calibration_panel(p.calibration))
    emit(profile_dtype_rows(p), fmt, panels)


@hw_app.command("validate", cls=Command)
@handle_errors
def validate_cmd(files: list[Path] = typer.Argument(..., metavar="FILE...", help="Profile YAML files to check.")) -> None:
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
