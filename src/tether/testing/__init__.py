"""The scripted model server: a real HTTP server that plays scripted answers in the
OpenAI and Anthropic wire formats, at a chosen speed, with simulated prefix caching
and injected faults. Used by tether's own tests and by users testing their set-up
offline (``tether fake-model``)."""

from tether.testing.script import Script, load_script
from tether.testing.server import ScriptedServer

__all__ = ["Script", "ScriptedServer", "load_script"]
