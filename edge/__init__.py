"""The sfcloud edge agent (`sf edge`): reads OPC UA servers and MQTT brokers on the factory floor,
keeps every reading in a local SQLite buffer until the cloud has acknowledged it, and forwards it
over the Ingest stream."""
