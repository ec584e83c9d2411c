"""FrailWatch station edge agent: device intake, pseudonyms, disk spool, uplink."""

__version__ = "0.1.0"
