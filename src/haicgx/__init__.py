"""haicgx: an explained ranking of HAIC chemotherapy regimens from a patient's tumour VCF."""

from functools import cache


def __getattr__(name: str) -> str:
    # The version is looked up when first asked for: importlib.metadata costs 35-40 ms, which
    # rule publish (python -m haicgx.outcome, once per patient) never needs.
    if name == "__version__":
        return _version()
    raise AttributeError(f"module 'haicgx' has no attribute {name!r}")


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("haicgx")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0.0.0+source"
