"""Outcomes a check function reports besides returning normally."""


class Failed(Exception):
    """The provider broke a rule that the conformance module treats as a failure."""


class Skipped(Exception):
    """The module does not apply to this provider, for the reason in the message."""


def expect(condition, detail):
    """Raise Failed with `detail` unless `condition` holds."""
    if not condition:
        raise Failed(detail)
