"""Block-structured search spaces (``roofsweep search``): the YAML schema and candidate IDs
(``space``), distinct block configurations traced once (``blocks``), exact vectorised costing
and the Pareto frontier (``vector``), the pipeline (``run.search``) and its Dask path
(``cluster``). See docs/search-spaces.md.
"""
