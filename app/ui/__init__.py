"""Shared pieces of the dashboard pages: context and caching, sidebar filters, Plotly figure
builders and the tested logic behind the pages (KPI deltas, forecast, segments, export, needs)."""
