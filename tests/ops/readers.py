"""Start/stop helper for the BI reader subprocess (shared by ops and e2e tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

READER = Path(__file__).resolve().parent / "bi_reader.py"


class BiReader:
    """One reader process; `mode` is `hold` (one connection throughout) or `reopen` (fresh each time)."""

    def __init__(self, published: Path, workdir: Path, mode: str) -> None:
        self.stop = workdir / f"reader-{mode}.stop"
        self.out = workdir / f"reader-{mode}.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(READER), mode, str(published), str(self.stop), str(self.out)],
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not Path(str(self.out) + ".ready").exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"reader died: {self.proc.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("reader did not start")
            time.sleep(0.05)

    def finish(self) -> dict:
        self.stop.write_text("stop")
        _, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        return json.loads(self.out.read_text())
