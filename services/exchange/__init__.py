"""The exchange format of docs/DATA-MODEL.md: packages of a tenant's asset tree, series and points."""
