"""The tenancy service: tenants, plans, users, devices and the asset tree (the control plane)."""
