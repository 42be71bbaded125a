"""Reporters: turn the engine's DataFrames into terminal tables, files and figures.

Modules (imported on their own, so printing a table never imports matplotlib):

``terminal``  rich renderables (tables, panels); nothing prints - the CLI does
``export``    ``to_json`` / ``to_csv`` of any result DataFrame, column names unchanged
``figures``   matplotlib figures, one module per figure family (paper Fig. 2 / Fig. 3, latency
              vs ridge point, roofline chart, time by op type, predicted vs measured), their
              style, label placement, SVG export with hover text and ``render_figures``
``data``      ``ReportData``, everything one report shows
``html``      ``render_html(ReportData)``: one self-contained page from the Jinja2 ``templates/``;
              what it shows is chosen in ``html_view``, ``html_findings``, ``html_tables``
``bundle``    ``write_report(out_dir, ReportData, figures)``: the report folder, written atomically
"""
