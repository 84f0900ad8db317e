"""The demo factory: a fleet of simulated machines streaming realistic signals to IngestService.

`signals` models what each machine measures, `feed` turns those samples into
timestamped batches, `backlog` and `device` carry one machine's batches over
its own Ingest stream (acknowledged, resent after a reconnect), and `fleet`
runs one device per machine of a tenant manifest so that the demo has live
charts, and now and then an anomaly, from the moment it starts.
"""
