"""Terminal tables and the report of ``probe`` / ``measure`` / ``validate`` / ``calibrate`` (read only).

Every function turns a library result into rich renderables (or a report folder); none
measures or computes a prediction.
"""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from roofsweep.units import fmt_intensity, fmt_macs, fmt_time

PREDICTOR_LABELS = {
    "roofline": "roofline bound (scaled)",
    "fitted_rp": "fitted ridge point (in-sample)",
    "calibrated": "calibrated",
    "macs": "MAC count (scaled)",
}


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def _num(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def measure_line(res) -> Text:
    """``model on runtime/device (threads): median ... over N runs (min, IQR, max)``."""
    s = res.summary()
    stat = res.meta.get("statistic", "median")
    return Text(
        f"{res.model} on {s['runtime']}/{res.device} ({res.threads} threads): {stat} {fmt_time(s['latency_s'])} "
        f"over {s['repeats']} runs (min {fmt_time(s['min_s'])}, IQR {fmt_time(s['iqr_s'])}, max {fmt_time(s['max_s'])})"
    )


def measured_layers_table(res):
    """Per-layer measured times of a ``MeasureResult`` (hooked run / profiler)."""
    from roofsweep.report.terminal import layers_table

    t = res.layers.rename(columns={"measured_s": "time_s"})
    t = t.assign(intensity_macs_per_byte=float("nan"), bound="measured")
    source = "onnxruntime profiler" if res.meta.get("runtime") == "onnxruntime" else "hooked run"
    return layers_table(t, title=f"Measured per-layer time: {res.model} ({source})")


def accuracy_table(result) -> Table:
    """One row per predictor: median |error|, MAPE, within +-10/25 %, Spearman, log-Pearson."""
    t = Table(title="Predictors vs measured latency", box=box.SIMPLE_HEAVY)
    for h in ("predictor", "median |err|", "MAPE", "within 10 %", "within 25 %", "Spearman", "Pearson (log)"):
        t.add_column(h, justify="left" if h == "predictor" else "right")
    for key, label in PREDICTOR_LABELS.items():
        m = result.predictors.get(key)
        if m is None:
            t.add_row(label, "-", "-", "-", "-", "-", "-")
            continue
        t.add_row(label, _pct(m["median_abs_error"]), _pct(m["mape"]), _pct(m["within_10pct"]),
                  _pct(m["within_25pct"]), _num(m["spearman"]), _num(m["pearson_log"]))
    return t


def validation_renderables(result) -> list:
    """Models, op types, predictor accuracy and the ridge-point line of a ``ValidationResult``."""
    calibrated = "calibrated_s" in result.models.columns
    t = Table(title=f"Predicted vs measured on {result.profile} ({result.cost_model}, {result.dtype}, {result.runtime})")
    heads = ["model", "MACs", "roofline bound"] + (["calibrated"] if calibrated else []) + ["measured", "measured / bound"]
    if calibrated:
        heads.append("calibrated error")
    for h in heads:
        t.add_column(h, justify="left" if h == "model" else "right")
    for _, r in result.models.iterrows():
        row = [str(r["model"]), fmt_macs(r["macs"]), fmt_time(r["predicted_s"])]
        if calibrated:
            row.append(fmt_time(r["calibrated_s"]))
        row += [fmt_time(r["measured_s"]), f"{r['ratio']:.2f}"]
        if calibrated:
            row.append(f"{100 * (r['calibrated_s'] / r['measured_s'] - 1):+.1f} %")
        t.add_row(*row)
    o = Table(title="By op type (all models; per-layer times)")
    for h in ("op type", "layers", "predicted", "measured", "measured / predicted"):
        o.add_column(h, justify="left" if h == "op type" else "right")
    for _, r in result.op_types.iterrows():
        o.add_row(str(r["op_type"]), str(int(r["layers"])), fmt_time(r["predicted_s"]), fmt_time(r["measured_s"]),
                  f"{r['ratio']:.2f}")
    s = result.summary()
    line = Text(
        f"Profile ridge point {fmt_intensity(s['ridge_point'])}; best-fitting ridge point "
        f"{fmt_intensity(s['fitted_ridge_point'])} (Spearman {s['fitted_spearman']:.3f}; any RP in "
        f"{s['fitted_best_range'][0]:.3g}-{s['fitted_best_range'][1]:.3g} ranks as well). "
        f"Latency is {'calibrated' if result.latency_is == 'calibrated' else 'the roofline bound'}; "
        f"{len(result.models)} models measured" + (f", skipped: {', '.join(result.skipped)}" if result.skipped else "")
        + "."
    )
    return [t, o, accuracy_table(result), line]


def calibration_table(cal) -> Table:
    """Per op type: e_c, e_m, overhead, microbenchmarks, median |error| of a ``Calibration``."""
    t = Table(title=f"Calibration ({cal.runtime}/{cal.device}, {cal.threads} threads, {cal.dtype}, {cal.date})",
              box=box.SIMPLE)
    for h in ("op type", "e_c (of peak)", "e_m (of bandwidth)", "overhead", "samples", "median |err|",
              "fused activations (ns/elem + overhead)"):
        t.add_column(h, justify="left" if h in ("op type", "fused activations (ns/elem + overhead)") else "right")
    for op, p in list(cal.op_types.items()) + [("(fallback)", cal.fallback)]:
        t.add_row(op, f"{p.compute_efficiency:.3g}", f"{p.memory_efficiency:.3g}", fmt_time(p.overhead_s),
                  "-" if p.samples is None else str(p.samples), _pct(p.median_abs_error),
                  _activation_costs(p.activations) or "-")
    return t


def _activation_costs(table) -> str:
    return ", ".join(f"{a} {p.s_per_elem * 1e9:.2g}+{fmt_time(p.overhead_s)}" for a, p in (table or {}).items())


def calibration_panel(cal) -> Panel:
    """The ``calibration:`` section of a profile, for ``hardware show``."""
    r = cal.residuals
    acts = _activation_costs(cal.activations) or "-"
    lines = [
        calibration_table(cal),
        Text(f"activations, where an op type has no entry of its own (ns/elem + overhead): {acts}"),
        Text(f"per module call {fmt_time(cal.call_overhead_s)}, per forward {fmt_time(cal.run_overhead_s)}; "
             f"timing: {cal.statistic} of runs, {cal.clock} clock"
             + (f", allocator {cal.allocator}" if getattr(cal, "allocator", None) else "")),
        Text(f"fit on {r.samples} microbenchmarks: median |error| {_pct(r.median_abs_error)}, within 10 % "
             f"{_pct(r.within_10pct)}, within 25 % {_pct(r.within_25pct)}, max {_pct(r.max_abs_error)}"),
        Text(f"method: {cal.method}", style="dim"),
    ]
    return Panel(Group(*lines), title="calibration", title_align="left", expand=False)


def write_validation_report(result, target, force: bool, command: str):
    """The validate report folder: predicted-vs-measured figure (+-10/25 % bands), tables."""
    from roofsweep.report import figures
    from roofsweep.report.bundle import write_report
    from roofsweep.report.data import ReportData

    calibrated = "calibrated_s" in result.models.columns
    fig, ax = figures.new_figure((7.5, 5.5))
    figures.plot_predicted_vs_measured(ax, result.models, predicted="calibrated_s" if calibrated else "predicted_s",
                                     bands=(0.10, 0.25))
    s = result.summary()
    summary = [(k, f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in s.items()]
    for key, m in result.predictors.items():
        if isinstance(m, dict):
            summary.append((f"{key}: median |error|, within 25 %, Spearman",
                            f"{_pct(m['median_abs_error'])}, {_pct(m['within_25pct'])}, {_num(m['spearman'])}"))
    which = "Calibrated" if calibrated else "Roofline-predicted"
    report = ReportData(
        title=f"roofsweep validate: {result.profile}",
        command=command,
        preset=result.cost_model,
        summary=summary,
        layer_tables={(str(m), "measured"): g.reset_index(drop=True)
                      for m, g in result.layers.groupby("model", sort=False)},
        figure_captions={"predicted_vs_measured": f"{which} vs measured latency, one point per model; "
                                                  "shaded: within +-10 % and +-25 %."},
        notes=list(result.notes),
        models=list(result.models["model"]),
        profiles=[result.profile],
    )
    return write_report(target, report, {"predicted_vs_measured": fig}, force=force)
