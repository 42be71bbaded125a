"""The fusion convention shared by the tracer and the importers (layertable.absorbs)."""

import pytest

from roofsweep.layertable import absorbs


@pytest.mark.parametrize("group, has_act, is_bn, affine, expected", [
    ("activation", False, False, False, True),   # conv -> relu: fused
    ("activation", True, False, False, False),   # conv+relu -> relu: a second activation starts a row
    ("norm", False, True, False, True),          # conv -> BatchNorm: folded
    ("norm", False, False, False, False),        # conv -> LayerNorm: not foldable
    ("norm", True, True, False, False),          # conv+relu -> BatchNorm: not across a nonlinearity
    ("elementwise", False, False, True, True),   # conv -> + per-channel bias: folded
    ("elementwise", False, False, False, False), # conv -> + activation tensor (residual): own row
    ("elementwise", True, False, True, False),   # conv+relu -> * scale: not across a nonlinearity
])
def test_absorbs(group, has_act, is_bn, affine, expected):
    assert absorbs(group, has_act, is_bn, affine) is expected
