"""tether: a harness for driving fast coding models without drowning in their output."""

__version__ = "0.1.0"
