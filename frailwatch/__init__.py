"""FrailWatch: the command-line shell and local services shared by every role."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("frailwatch")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"
