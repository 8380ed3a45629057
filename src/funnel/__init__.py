"""funnel: pipeline stages, the MQL threshold and the funnel forecast, on a local SQLite store."""
