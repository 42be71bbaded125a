"""Experiment configs: the pydantic schema, its defaults, its error lines and its limits."""

from __future__ import annotations

import pytest

from roofsweep.config import MAX_MODELS, load_experiment
from roofsweep.errors import ConfigError


def load(tmp_path, text: str):
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return path, lambda: load_experiment(path)


def test_defaults(tmp_path):
    _, go = load(tmp_path, "models: [mnv2]\n")
    exp = go()
    assert (exp.title, exp.preset, exp.overrides, exp.hardware) == ("exp", "default", {}, [])
    assert exp.ridge_points == [0, 5, 50, 500] and exp.per_layer_points == (5.0, 500.0)
    assert exp.out is None and exp.accuracy == {} and [r.label for r in exp.models] == ["mnv2"]


def test_model_options_labels_and_accuracy(tmp_path):
    _, go = load(tmp_path, "title: 7\nmodels:\n  - {model: mnv1, width: 0.5, resolution: 160, label: small, top1: 63.3}\n"
                           "  - mnv2\nsettings: {dtype: fp16, use_onchip: 'true'}\noutput: out/here\n")
    exp = go()
    assert exp.title == "7"  # a number is text too
    small = exp.models[0]
    assert (small.label, small.width, small.resolution, small.batch) == ("small", 0.5, 160, 1)
    assert exp.accuracy == {"small": 63.3}
    assert exp.overrides == {"dtype": "fp16", "use_onchip": "true"}
    assert str(exp.out) == "out/here"


@pytest.mark.parametrize(("text", "expected"), [
    # FILE: FIELD: reason (line N), the line of the field itself
    ("models: [mnv2]\ncolour: red\n", "colour: unknown field 'colour'. Valid: figures, hardware, models,"),
    ("models:\n  - mnv2\n  - {model: mnv1, widht: 2}\n",
     "models[1].widht: unknown field 'widht'; did you mean 'width'? Valid: batch, label, model, resolution, top1, width (line 3)"),
    ("models: [mnv2]\nsettings:\n  dtype: int8\n  weigth_bytes_per_elem: 1\n",
     "settings.weigth_bytes_per_elem: unknown cost-model setting 'weigth_bytes_per_elem'; did you mean 'weight_bytes_per_elem'?"),
    ("models: [mnv2]\nsettings: {pad_rgb_to: 2}\n", "settings.pad_rgb_to: must be an integer >= 3 and <= 4096"),
    ("models: [mnv2]\npreset: papr\n", "preset: unknown preset 'papr'; did you mean 'paper'? Valid: default, paper (line 2)"),
    ("models: [{model: mnv2, top1: 101}]\n", "models[0].top1: must be a percentage in (0, 100], got 101 (line 1)"),
    ("models: [{width: 1}]\n", "models[0]: must be a model name or a mapping with a 'model' key (line 1)"),
    ("models: [mnv2]\nhardware: {a: 1}\n", "hardware: must be 'all', 'none' or a list of profile names/paths (line 2)"),
    ("models: [mnv2]\noutput: 5\n", "output: must be a folder path (line 2)"),
    ("title: x\n", "models: missing; this field is required"),
])
def test_errors_name_file_field_reason_and_line(tmp_path, text, expected):
    path, go = load(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        go()
    assert str(exc.value).startswith(f"{path}: {expected}"), str(exc.value)


def test_lists_are_bounded(tmp_path):
    _, go = load(tmp_path, "models: [" + ", ".join(["mnv2"] * (MAX_MODELS + 1)) + "]\n")
    with pytest.raises(ConfigError, match=f"models: lists {MAX_MODELS + 1} model names or mappings; at most {MAX_MODELS}"):
        go()


def test_profile_path_is_relative_to_the_config(tmp_path):
    (tmp_path / "p.yaml").write_text("name: p\nkind: cpu\ndefault_dtype: int8\npeak_macs_per_s: {int8: 1e12}\n"
                                     "bandwidth: 1e10\n")
    _, go = load(tmp_path, "models: [mnv2]\nhardware: p.yaml\n")
    assert go().hardware == [str((tmp_path / "p.yaml").resolve())]
