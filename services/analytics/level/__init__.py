"""The smart-factory level assessment (docs/ANALYTICS.md, "Smart-factory level")."""
