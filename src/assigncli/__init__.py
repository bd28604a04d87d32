"""assigncli: caseload assignment that balances case effort against officers' real capacity."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("assigncli")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
