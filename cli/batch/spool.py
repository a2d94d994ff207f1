"""The check pass's translations, kept on disk for the send pass: each batch line is translated once.

`batch run` checks the whole input before it sends anything (nothing is sent unless every line is
good), and checking a line for a backend of another API (Claude's Messages) means bridging it.
Rather than translate every line a second time to send it, the check pass writes what it produced —
the backend's body as the JSON bytes that will be sent, its beta flags and its model — to an unnamed
temporary file, one line per input line; the send pass reads that file back. Memory stays flat (the
file is read as it goes); the disk holds about the input's size until the run ends.

Only for a run whose every request goes to one backend: with `--fallback`, a request may move to a
backend of another API, so the send pass reads the input again. The same when the spool cannot be
written (the temporary folder full, a file size limit): it is only a saving, so the run goes on
without it, and says so.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator

from pydantic_core import from_json, to_json

from protoshift.translator.bridges import Outbound

__all__ = ["TranslationSpool"]


class TranslationSpool:
    def __init__(self) -> None:
        # open for the run's life; unnamed: gone when closed, or when the process dies
        self._file = tempfile.TemporaryFile(prefix="protoshift-batch-")  # noqa: SIM115
        self.failure: OSError | None = None  # why it cannot be used (then it is closed)

    def add(self, custom_id: str, outbound: Outbound) -> None:
        if self.failure is not None:
            return
        # `custom_id, betas, model` as a JSON array, a tab, the body: no JSON text holds a raw tab or newline
        head = to_json([custom_id, outbound.betas, outbound.model])
        try:
            self._file.write(head + b"\t" + to_json(outbound.body) + b"\n")
        except OSError as exc:
            self._failed(exc)

    def ready(self) -> bool:
        """Whether every line is on disk, to be read back (False: the send pass reads the input)."""
        if self.failure is None:
            try:
                self._file.flush()
            except OSError as exc:
                self._failed(exc)
        return self.failure is None

    def _failed(self, exc: OSError) -> None:
        self.failure = exc
        with contextlib.suppress(OSError):
            self._file.close()

    def __iter__(self) -> Iterator[tuple[str, Outbound]]:
        """Each line's request as the check pass bridged it: its body only as bytes (parsed again only
        if the backend refuses a parameter and the body must be adapted)."""
        self._file.seek(0)
        for line in self._file:
            head, _, body = line.rstrip(b"\n").partition(b"\t")
            custom_id, betas, model = from_json(head)
            yield custom_id, Outbound({}, betas=betas, model=model, encoded=body)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
