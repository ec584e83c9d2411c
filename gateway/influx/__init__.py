"""InfluxDB for the gateway: vectorised line protocol, v1/v2 transports, the batched acknowledged
writer and ``frailwatch influx init``. See docs/influx.md.

Import from the submodules (``gateway.influx.writer`` etc.); this package imports nothing heavy.
"""
