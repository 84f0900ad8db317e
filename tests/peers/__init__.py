"""Real factory peers (an OPC UA server) that the edge agent's tests talk to on loopback."""
