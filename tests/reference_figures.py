"""The zoo's reference figures, one table for every test that checks them.

From ``shared/reference/mobilenet_architectures.md`` (counted from the official implementations):
(MACs, params) at the default resolution, batch 1, 1000 classes, BatchNorm in the parameters;
the hybrids' MACs include the attention matmuls.
"""

REFERENCE: dict[str, tuple[float, int]] = {
    "mnv1": (568.7e6, 4_231_976),  # timm mobilenetv1_100
    "mnv2": (300.8e6, 3_504_872),
    "mnv3-large": (216.6e6, 5_483_032),
    "mnv3-small": (56.5e6, 2_542_856),
    "mnv4-conv-s": (186.0e6, 3_774_024),
    "mnv4-conv-m": (1_080.2e6, 9_715_512),
    "mnv4-conv-l": (6_376e6, 32_590_864),
    "mnv4-hybrid-m": (1_271.2e6, 11_074_648),
    "mnv4-hybrid-l": (7_711.9e6, 37_764_624),
}
SPEC_MACS = {name: macs for name, (macs, _) in REFERENCE.items()}
SPEC_PARAMS = {name: params for name, (_, params) in REFERENCE.items()}
