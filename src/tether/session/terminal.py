"""The session's terminal: prompt_toolkit on a terminal (history, completion of
commands, paths and task ids, multi-line input, Esc and Ctrl-C to stop), plain lines
from stdin otherwise. Output printed while the prompt is up appears above it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from rich.console import Console

from tether.session.commands import COMMANDS, handle
from tether.session.session import Session
from tether.workspace import Workspace

ALSO = ("quit", "exit")


class SessionCompleter(Completer):
    """``/`` commands, then task ids after ``/run`` and ``/save plan``, else paths."""

    def __init__(self, session: Session):
        self.session = session

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        word = document.get_word_before_cursor(WORD=True)
        if text.startswith("/") and " " not in text:
            for name in sorted([*COMMANDS, *ALSO]):
                if name.startswith(text[1:]):
                    yield Completion("/" + name, start_position=-len(text))
            return
        if text.startswith(("/run ", "/save plan ")):
            yield from self._task_ids(word)
            return
        if word and not word.startswith("/"):
            shown = 0
            for path in self.session.files.files:
                if path.startswith(word) or (("/" not in word) and f"/{word}" in path):
                    yield Completion(path, start_position=-len(word))
                    shown += 1
                    if shown >= 50:
                        return

    def _task_ids(self, word: str) -> Iterable[Completion]:
        from tether.workflow.planfile import load_plan

        try:
            tasks = load_plan(self.session.ws).tasks
        except Exception:  # a PLAN.md that does not parse: no completions, no crash
            return
        for task in tasks:
            if task.id.startswith(word.upper()) and task.status != "done":
                yield Completion(task.id, start_position=-len(word), display_meta=task.title[:40])


async def run_session(ws: Workspace) -> int:
    """Run the session until the developer leaves; returns the exit code."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return await _interactive(ws)
    return await _plain(ws)


async def _interactive(ws: Workspace) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.patch_stdout import patch_stdout

    with patch_stdout(raw=True):
        session = Session(ws, Console(force_terminal=True, highlight=False))
        session.state.history_file.parent.mkdir(parents=True, exist_ok=True)
        keys = KeyBindings()

        @keys.add("escape", "enter")
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        @keys.add("escape")
        def _escape(event: KeyPressEvent) -> None:
            if session.running and not event.current_buffer.text:
                session.stop()

        prompt: PromptSession[str] = PromptSession(
            history=FileHistory(str(session.state.history_file)),
            completer=SessionCompleter(session),
            key_bindings=keys,
            complete_while_typing=False,
            refresh_interval=0.5,
        )
        session.greet()
        while True:
            try:
                line = await prompt.prompt_async(session.prompt_text)
            except KeyboardInterrupt:
                if not session.interrupt():
                    break
                continue
            except EOFError:
                session.quitting = True
                if session.running:
                    session.stop()
                break
            while line.endswith("\\"):
                line = line[:-1] + "\n" + await prompt.prompt_async("… ")
            if not await handle(session, line):
                break
        await session.close()
    return 0


async def _plain(ws: Workspace) -> int:
    """No terminal: one line at a time from stdin; at its end, the running task ends
    first (it is not stopped)."""
    session = Session(ws, Console(highlight=False))
    session.greet()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            if session.steering.waiting:  # nobody is left to answer: keep it and stop
                session.stop()
            break
        if not await handle(session, line.rstrip("\n")):
            break
    await session.close()
    return 0
