"""Production analytics (issue 8, items 1 and 2): OEE from shift calendars, machine state and part
counters; SPC charts, Western Electric rules, Cp/Cpk and SPC events (docs/ANALYTICS.md)."""
