"""FrailWatch station edge agent (issue 5): device intake, pseudonyms, disk spool, uplink."""

__version__ = "0.1.0"
