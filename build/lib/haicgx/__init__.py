"""haicgx: an explained ranking of HAIC chemotherapy regimens from a patient's tumour VCF."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("haicgx")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
