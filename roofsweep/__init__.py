"""roofsweep: roofline hardware-cost analysis of neural networks.

The package is a one-way pipeline (see docs/how-roofsweep-counts.md):

    zoo  ->  trace (LayerTable)  ->  costmodel (bytes)  ->  roofline / sweep / pareto  ->  report

Only ``roofsweep.zoo`` builders and ``roofsweep.trace`` import torch; everything downstream of a
LayerTable is pure numpy/pandas, so sweeping cached tables never imports torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
