"""`protoshift chat -i`: an interactive chat on the terminal.

One event loop (`asyncio.Runner`) and one backend chain live for the whole session; each reply is
one `runner.run(...)`, so Ctrl-C during a reply cancels just that reply (the Runner turns SIGINT
into a cancellation), while Ctrl-C at the prompt is readline's KeyboardInterrupt: the line is cleared.
Lines are read with readline (history in `$XDG_STATE_HOME/protoshift/history`); replies stream
through `chat.live.StreamView`; the conversation itself is `chat.conversation.Conversation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import select
import sys
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from protoshift.cli.chain import create_chain
from protoshift.cli.chat.conversation import (
    COMMANDS,
    EFFORT_CHOICES,
    EFFORTS,
    NOT_RUN,
    Command,
    Composer,
    Conversation,
    Usage,
    content_text,
    history_path,
    load_request,
    message_text,
    parse_command,
)
from protoshift.cli.chat.live import StreamView, tool_panel
from protoshift.cli.chat.markdown import Markdown
from protoshift.cli.chat.render import ending_note, footer
from protoshift.cli.chat.request import ChatOptions, build_request, resolve_alias
from protoshift.cli.exits import OK, CLIError, InputError, map_failure
from protoshift.cli.io.console import Diagnostics, no_color
from protoshift.cli.io.output import atomic_file, json_document
from protoshift.cli.settings import Settings
from protoshift.translator.accumulate import ChunkAccumulator

if TYPE_CHECKING:
    from protoshift.cli.logs.recorder import ChatLog, Exchange
    from protoshift.cloud.backend import Client

HISTORY_LENGTH = 1000

MULTILINE_HELP = (
    "Multi-line messages: paste them (a paste is one message, its line breaks kept; Enter sends it), "
    'end a line with \\ to go on on the next one, or open a block with """ and close it with a line '
    'ending in """. Start a message with // to send text beginning with /.'
)
KEYS_HELP = (
    "Keys: Ctrl-C stops a reply (what arrived stays, marked as cut) or clears the line; "
    "Ctrl-D leaves; Up/Down and Ctrl-R search the history."
)


def run_interactive(options: ChatOptions, settings: Settings, diag: Diagnostics) -> int:
    if options.dry_run:
        raise InputError("--dry-run sends nothing, so it cannot start a chat session", hint="drop -i or --dry-run")
    terminal = _open_terminal()  # first: without a terminal, reading a conversation is pointless
    # -a without -p: the files go with the first message typed
    held = options.attachments if options.prompt is None else []
    request = build_request(replace(options, stream=False, attachments=[] if held else options.attachments),
                            settings, empty_ok=True, diag=diag)  # fmt: skip
    source = options.input if options.input not in (None, "-") else "<stdin>"
    loaded = len(request["messages"]) - (options.prompt is not None) - (options.system is not None)
    log = _open_log(options, settings, diag)
    if options.continues:
        request = log.history.continue_request(request, options.model)
        loaded, source = len(log.history.messages), f"conversation {log.conversation}"
    resolve_alias(request, settings)
    _attach_terminal(terminal)
    console = Console(highlight=False)
    override = options.model if options.continues else settings.model
    conversation = Conversation(request, settings.default_model(settings.backend), override)
    chat = InteractiveChat(conversation, settings, diag, console, log=log)
    chat.held_parts = _held_parts(held)
    try:
        return chat.run(loaded_from=source if loaded > 0 else None)
    finally:
        log.close()


def _open_log(options: ChatOptions, settings: Settings, diag: Diagnostics) -> ChatLog:
    from protoshift.cli.logs.recorder import ChatLog

    return ChatLog.open(options, settings, diag)


def _held_parts(attachments: list[str]) -> list[dict[str, Any]]:
    if not attachments:
        return []
    from protoshift.cli.chat.attachments import attachment_parts

    return attachment_parts(attachments)


@contextlib.contextmanager
def keys_unechoed() -> Iterator[None]:
    """While a reply streams in, keys are not echoed. An echo (`^C`, text typed ahead) lands after the
    live region's last line, which rich pads to the full width: the cursor wraps to a line below the
    region, so the region's clean-up misses its top line and the reply shows twice in the scrollback.
    Keys typed ahead are not lost: readline reads (and shows) them at the next prompt."""
    try:
        fd = sys.stdin.fileno()
        before = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):  # not a terminal: nothing is echoed anyway
        yield
        return
    quiet = list(before)
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)  # lflag
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)  # TCSANOW: the keys typed ahead stay queued


def _open_terminal() -> int | None:
    """The terminal to read keys from when stdin is not one (a conversation piped in); None when
    stdin is the terminal already."""
    if sys.stdin.isatty():
        return None
    try:
        return os.open("/dev/tty", os.O_RDWR)
    except OSError:
        raise InputError(
            "an interactive session needs a terminal, and there is none (/dev/tty)",
            hint="drop -i to send the request once",
        ) from None


def _attach_terminal(fd: int | None) -> None:
    """Keys come from the terminal even when the conversation came in on stdin: fd 0 becomes it."""
    if fd is None:
        return
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")


class LineReader:
    """Prompt, line editing and history (readline when there is one); multi-line via `Composer`."""

    def __init__(self, path: Path, *, color: bool) -> None:
        self.path = path
        self.color = color
        self._readline: Any = None
        self._start = 0
        self.pasted = False  # the last message read began with a paste
        if sys.stdin.isatty() and sys.stdout.isatty():
            with contextlib.suppress(ImportError):
                import readline

                self._readline = readline
                self._setup(readline)

    def _setup(self, readline: Any) -> None:
        readline.set_history_length(HISTORY_LENGTH)
        with contextlib.suppress(OSError):
            readline.read_history_file(str(self.path))
        self._start = readline.get_current_history_length()
        names = sorted(COMMANDS)

        def complete(text: str, state: int) -> str | None:
            buffer = readline.get_line_buffer()
            if not buffer.startswith("/") or " " in buffer:
                return None
            matches = [f"/{name} " for name in names if f"/{name}".startswith(text)]
            return matches[state] if state < len(matches) else None

        readline.set_completer(complete)
        readline.set_completer_delims(" \t\n")
        readline.parse_and_bind("tab: complete")
        if "libedit" not in (readline.__doc__ or ""):
            # GNU readline 8.1+ then inserts a paste whole, its line breaks kept, tabs not completing,
            # and Enter sends it as one message. CPython turns it off (bpo-42819, for its REPL).
            readline.parse_and_bind("set enable-bracketed-paste on")

    def prompt(self, continuing: bool) -> str:
        mark = "..." if continuing else ">"
        if not self.color:
            return mark + " "
        # \001 and \002 tell readline the colour codes take no room on the line
        return f"\001\x1b[1;36m\002{mark}\001\x1b[0m\002 "

    def read_message(self) -> str | None:
        """The next message or command; None on Ctrl-D at an empty prompt. `pasted` then says
        whether it began with a paste."""
        composer = Composer()
        while True:
            try:
                line = input(self.prompt(composer.continuing))
                while self._more_waiting():  # the rest of a paste the terminal did not bracket
                    line += "\n" + input(self.prompt(True))
            except KeyboardInterrupt:  # clears the line (and a message being composed)
                composer.reset()
                sys.stdout.write("\n")
                sys.stdout.flush()
                continue
            except EOFError:
                sys.stdout.write("\n")
                sys.stdout.flush()
                self.pasted = composer.pasted
                return composer.end()
            text = composer.feed(line)
            if text is not None and text.strip():
                self.pasted = composer.pasted
                return text

    @staticmethod
    def _more_waiting() -> bool:
        """Whether another whole line is already waiting when one was just read: no one types Enter
        and a whole line within the same instant, a paste does (a terminal without bracketed paste,
        libedit). Keys typed ahead while a reply streamed read the same way: one message."""
        try:
            return bool(select.select([sys.stdin], [], [], 0)[0]) and sys.stdin.isatty()
        except (OSError, ValueError):
            return False

    def save(self) -> None:
        """Append this session's lines to the history file, which keeps the last HISTORY_LENGTH."""
        readline = self._readline
        if readline is None:
            return
        # A paste of many lines is one entry here (Up brings it back whole in this session), but the
        # file holds an entry a line: it would come back as many. Such entries stay out of the file.
        for at in range(readline.get_current_history_length(), self._start, -1):
            if "\n" in (readline.get_history_item(at) or ""):
                readline.remove_history_item(at - 1)
        new = readline.get_current_history_length() - self._start
        if new <= 0:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                self.path.touch(mode=0o600)
            readline.append_history_file(min(new, HISTORY_LENGTH), str(self.path))
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
            if len(lines) > 2 * HISTORY_LENGTH:
                self.path.write_text("".join(lines[-HISTORY_LENGTH:]), encoding="utf-8")
        except OSError:
            pass  # no history is no reason to fail on the way out


class InteractiveChat:
    def __init__(
        self, conversation: Conversation, settings: Settings, diag: Diagnostics, console: Console, *, log: ChatLog
    ) -> None:
        self.conversation = conversation
        self.settings = settings
        self.diag = diag
        self.console = console
        self.log = log
        self.usage = Usage()
        self.show_reasoning = True
        self.markdown = settings.markdown
        self.held_parts: list[dict[str, Any]] = []  # -a without -p: they go with the first message
        self.backend: Client | None = None  # the chain lives as long as the session (set in run)
        self._handlers: dict[str, Callable[[Command, asyncio.Runner], bool]] = {
            "help": self._help,
            "model": self._model,
            "system": self._system,
            "think": self._think,
            "markdown": self._markdown,
            "effort": self._effort,
            "retry": self._retry,
            "tool": self._tool,
            "clear": self._clear,
            "save": self._save,
            "load": self._load,
            "usage": self._usage,
            "exit": lambda command, runner: False,
        }

    # -- the session -----------------------------------------------------------------------------

    def run(self, *, loaded_from: str | None = None) -> int:
        reader = LineReader(history_path(), color=self.console.is_terminal and not no_color())
        with asyncio.Runner() as runner:
            self.backend = create_chain(self.settings, self.diag)
            try:
                self._greet(loaded_from)
                if self.conversation.needs_reply():  # a loaded conversation or -p: answer it first
                    if loaded_from is None:
                        self._echo_user()
                    self._turn(runner)
                while True:
                    try:
                        text = reader.read_message()
                        if text is None or not self._handle(text, runner, pasted=reader.pasted):
                            break
                    except KeyboardInterrupt:  # Ctrl-C between a reply and the prompt
                        self.console.print()
            finally:
                reader.save()
                if self.backend is not None:
                    runner.run(self.backend.aclose())
        return OK

    def _handle(self, text: str, runner: asyncio.Runner, *, pasted: bool = False) -> bool:
        """One typed message or command. False: leave."""
        command = parse_command(text)
        if command is not None and pasted and command.name not in self._handlers:
            command = None  # a pasted block that begins with a path (`/usr/lib/...: error`) is text
        if command is None:
            content: str | list[dict[str, Any]] = message_text(text)
            if self.held_parts:
                content, self.held_parts = [{"type": "text", "text": content}, *self.held_parts], []
            skipped = self.conversation.add_user(content)
            if skipped:
                self._note(f"{len(skipped)} tool call(s) left unanswered: sent {NOT_RUN!r} (answer with /tool TEXT)")
            self._turn(runner)
            return True
        handler = self._handlers.get(command.name)
        if handler is None:
            self._error(f"unknown command /{command.name} — /help lists them")
            return True
        try:
            return handler(command, runner)
        except CLIError as exc:
            self._error(exc.message)
            return True

    def _greet(self, loaded_from: str | None) -> None:
        chain = [
            self.settings.backend,
            *(f"{f.name}:{f.model}" if f.model else f.name for f in self.settings.fallbacks),
        ]
        self._dim(
            f"protoshift chat · {self.conversation.model} · {' → '.join(chain)} · /help for commands, Ctrl-D to leave"
        )
        if loaded_from is not None:
            self._show_loaded(loaded_from)

    def _show_loaded(self, name: str) -> None:
        messages = self.conversation.messages
        self._dim(f"loaded {len(messages)} message(s) from {name}")
        shown = [m for m in messages if m.get("role") in ("user", "assistant")][-2:]
        for message in shown:
            text = content_text(message.get("content"))
            if message.get("role") == "user":
                self.console.print(Text("> ", style="bold cyan") + Text(text))
            else:
                if message.get("reasoning_content") and self.show_reasoning:
                    self.console.print(Text(message["reasoning_content"], style="dim"))
                if text:
                    self.console.print(Markdown(text) if self.markdown else Text(text))
                panel = tool_panel(message.get("tool_calls") or ())
                if panel is not None:
                    self.console.print(panel)

    def _echo_user(self) -> None:
        last = self.conversation.messages[-1]
        if last.get("role") == "user":
            self.console.print(Text("> ", style="bold cyan") + Text(content_text(last.get("content"))))

    # -- one reply -------------------------------------------------------------------------------

    def _turn(self, runner: asyncio.Runner) -> None:
        conversation = self.conversation
        conversation.begin_reply()
        request = conversation.request_to_send()
        exchange = self.log.exchange(request, self.settings)
        view = StreamView(
            self.console, show_reasoning=self.show_reasoning, waiting=conversation.model, markdown=self.markdown
        )
        accumulator = ChunkAccumulator()
        started = time.monotonic()
        failure: BaseException | None = None
        try:
            with keys_unechoed():
                try:
                    runner.run(self._stream(request, view, accumulator, exchange))
                finally:
                    view.close()
        except KeyboardInterrupt as exc:
            failure = exc
        except Exception as exc:
            if map_failure(exc) is None:
                exchange.fail(exc)
                raise
            failure = exc
        elapsed = time.monotonic() - started
        if failure is None:
            self._answered(accumulator, exchange, elapsed)
        else:
            self._cut_short(accumulator, exchange, failure, elapsed)

    def _answered(self, accumulator: ChunkAccumulator, exchange: Exchange, elapsed: float) -> None:
        message = accumulator.message()
        completion = accumulator.completion()
        exchange.end(completion, reply=self.conversation.add_reply(message))
        panel = tool_panel(message.get("tool_calls") or ())
        if panel is not None:
            self.console.print(panel)
            self._dim("the model asked for a tool: answer with /tool TEXT (one per call), or just go on")
        self.usage.add(accumulator.usage)
        self._status(completion, elapsed)
        if (note := ending_note((completion.get("choices") or [{}])[0].get("finish_reason"))) is not None:
            self._note(note)

    def _cut_short(
        self, accumulator: ChunkAccumulator, exchange: Exchange, failure: BaseException, elapsed: float
    ) -> None:
        """Ctrl-C or a failure: what arrived is kept (and logged, partial); the session goes on."""
        message = accumulator.message()
        arrived = bool((message.get("content") or "").strip())
        exchange.fail(failure, reply=self.conversation.add_reply(message, cut=True))
        if accumulator.usage:
            self.usage.add(accumulator.usage)
        if isinstance(failure, KeyboardInterrupt):
            self._status(accumulator.completion(), elapsed, note="cut")
            if arrived:
                self._note("reply cut: what arrived stays in the conversation; /retry asks again")
            else:
                self._note("reply cut before any text arrived; /retry sends your message again")
            return
        mapped = map_failure(failure)
        assert mapped is not None
        kept = "the partial reply is kept; " if arrived else ""
        self._error(f"{mapped.message} ({kept}/retry sends your message again)")

    async def _stream(
        self, request: dict[str, Any], view: StreamView, accumulator: ChunkAccumulator, exchange: Exchange
    ) -> None:
        view.start()
        animation = asyncio.create_task(view.animate())
        try:
            await self._receive(request, view, accumulator, exchange)
        finally:
            animation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await animation

    async def _receive(
        self, request: dict[str, Any], view: StreamView, accumulator: ChunkAccumulator, exchange: Exchange
    ) -> None:
        assert self.backend is not None
        async with contextlib.aclosing(self.backend.stream(request, exchange.call)) as chunks:
            async for chunk in chunks:
                accumulator.add(chunk)
                exchange.chunk(chunk)
                for choice in chunk.get("choices") or ():
                    if choice.get("index", 0) != 0:
                        continue
                    delta = choice.get("delta") or {}
                    if reasoning := delta.get("reasoning_content"):
                        view.reasoning(reasoning)
                    if content := delta.get("content"):
                        view.content(content)
                    if refusal := delta.get("refusal"):
                        view.content(refusal)

    def _status(self, completion: dict[str, Any], elapsed: float, note: str | None = None) -> None:
        """The dim line under each reply: model · tokens in/out (cached) · cost · time."""
        cost = self.log.prices.cost(completion.get("model") or self.conversation.model, completion.get("usage"))
        self._dim(footer(completion, elapsed, cost=cost, model=self.conversation.model, note=note))

    # -- commands --------------------------------------------------------------------------------

    def _help(self, command: Command, runner: asyncio.Runner) -> bool:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for name, text in COMMANDS.items():
            argument, _, what = text.partition(" — ")
            if not what:
                argument, what = "", argument
            table.add_row(f"/{name} {argument}".rstrip(), what)
        self.console.print(table)
        self.console.print(Text(MULTILINE_HELP, style="dim"))
        self.console.print(Text(KEYS_HELP, style="dim"))
        return True

    def _model(self, command: Command, runner: asyncio.Runner) -> bool:
        if command.argument:
            target = self.settings.aliases().resolve(command.argument)
            if target is not None and target.backend not in (None, self.settings.backend):
                raise InputError(f"/model {command.argument}: an alias of {target.backend}:{target.model}; "
                                 f"start a session with -m {command.argument} for another backend")  # fmt: skip
            self.conversation.set_model(target.model if target is not None else command.argument)
        self._dim(f"model: {self.conversation.model}")
        return True

    def _system(self, command: Command, runner: asyncio.Runner) -> bool:
        if command.argument == "-":
            self.conversation.set_system(None)
            self._dim("system prompt removed")
        elif command.argument:
            self.conversation.set_system(command.argument)
            self._dim("system prompt set")
        else:
            self._dim(f"system prompt: {self.conversation.system or '(none)'}")
        return True

    def _think(self, command: Command, runner: asyncio.Runner) -> bool:
        choice = command.argument.lower()
        if choice not in ("", "on", "off"):
            raise InputError("/think takes on or off")
        self.show_reasoning = (not self.show_reasoning) if not choice else choice == "on"
        self._dim(f"reasoning {'shown' if self.show_reasoning else 'hidden'}")
        return True

    def _markdown(self, command: Command, runner: asyncio.Runner) -> bool:
        choice = command.argument.lower()
        if choice not in ("", "on", "off"):
            raise InputError("/markdown takes on or off")
        self.markdown = (not self.markdown) if not choice else choice == "on"
        self._dim("replies rendered as markdown" if self.markdown else "replies printed as they come (no markdown)")
        return True

    def _effort(self, command: Command, runner: asyncio.Runner) -> bool:
        level = command.argument.lower()
        request = self.conversation.request
        if level == "off":
            request.pop("reasoning_effort", None)
        elif level in EFFORTS:
            request["reasoning_effort"] = level
        elif level:
            raise InputError(f"/effort takes {EFFORT_CHOICES.replace('|', ', ')}")
        self._dim(f"reasoning_effort: {request.get('reasoning_effort', 'off')}")
        return True

    def _retry(self, command: Command, runner: asyncio.Runner) -> bool:
        if self.conversation.rewind_for_retry():
            self._turn(runner)
        else:
            self._dim("nothing to retry: send a message first")
        return True

    def _tool(self, command: Command, runner: asyncio.Runner) -> bool:
        call = self.conversation.answer_tool(command.argument)
        if call is None:
            self._dim("no tool call is waiting for a result")
            return True
        left = len(self.conversation.pending_tool_calls())
        if left:
            self._dim(f"{left} more tool call(s) wait for a result: /tool TEXT")
        else:
            self._turn(runner)
        return True

    def _clear(self, command: Command, runner: asyncio.Runner) -> bool:
        self.conversation.clear()
        self.log.restart()
        self._dim("conversation cleared" + (" (the system prompt stays)" if self.conversation.system else ""))
        return True

    def _save(self, command: Command, runner: asyncio.Runner) -> bool:
        if not command.argument:
            raise InputError("/save FILE: say where")
        path = command.path()
        request = self.conversation.to_request()
        try:
            with atomic_file(path) as fh:
                fh.write(json_document(request))
        except OSError as exc:
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
        self._dim(f"saved {len(request['messages'])} message(s) to {path} (resume: protoshift chat {path} -i)")
        return True

    def _load(self, command: Command, runner: asyncio.Runner) -> bool:
        if not command.argument:
            raise InputError("/load FILE: say which")
        path = command.path()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        self.conversation.replace(load_request(data, str(path)))
        self.log.restart()
        self._show_loaded(str(path))
        if self.conversation.needs_reply():
            self._dim("it ends with your message: /retry sends it")
        return True

    def _usage(self, command: Command, runner: asyncio.Runner) -> bool:
        usage = self.usage
        line = (
            f"{usage.turns} repl{'y' if usage.turns == 1 else 'ies'} · {usage.prompt_tokens} in"
            f" / {usage.completion_tokens} out · {usage.prompt_tokens + usage.completion_tokens} tokens"
        )
        if usage.cached_tokens:
            line += f" ({usage.cached_tokens} of the input from cache)"
        self.console.print(line)
        return True

    # -- lines -----------------------------------------------------------------------------------

    def _dim(self, text: str) -> None:
        self.console.print(Text(text, style="dim"))

    def _note(self, text: str) -> None:
        self.console.print(Text(text, style="yellow"))

    def _error(self, text: str) -> None:
        # one line however long: the terminal wraps it, rich adds no line breaks
        self.console.print(Text(f"error: {text}", style="red"), soft_wrap=True)
