"""The torch-free engine: cost model, roofline, sweeps, Pareto frontiers.

Everything here takes LayerTables (pandas DataFrames of element counts) and plain numbers and
returns DataFrames. It imports neither torch nor the tracer:
``python -X importtime -c "import roofsweep.engine.sweep"`` shows neither.
"""
