"""Testing without a model provider: the scripted model server (a real HTTP server
playing scripted answers in the OpenAI and Anthropic wire formats, at a chosen speed,
with simulated prefix caching and injected faults) and ``ScriptedModel``, the same
scripts played in process for unit tests of the loop. Used by tether's own tests and by
users testing their set-up offline (``tether fake-model``)."""

from tether.testing.model import ScriptedModel
from tether.testing.script import Script, load_script
from tether.testing.server import ScriptedServer

__all__ = ["Script", "ScriptedModel", "ScriptedServer", "load_script"]
