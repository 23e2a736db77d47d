"""`lifecycle docs`: the dbt docs (lineage, every model and column description) as one offline file.

Why: the descriptions live in the dbt YAML; analysts want them, with the lineage graph, without a
dbt install or a server. `dbt docs generate --static` writes `static_index.html`, a single HTML
file with the manifest and catalog inlined (https://docs.getdbt.com/reference/commands/cmd-docs),
into this data dir's dbt target (DIR/dbt_target, never dbt_project/target). It is copied to
`DIR/docs/index.html` by write-then-rename, so a browser never opens half a file. The catalog needs
the warehouse, so this runs under the run lock like any other dbt command.
"""

from __future__ import annotations

import os
from pathlib import Path

from flows.errors import LifecycleError
from flows.settings import Settings
from flows.transform.dbt import run_dbt
from flows.transform.run_guard import warehouse_guard


def docs_dir(settings: Settings) -> Path:
    return settings.root / "docs"


def build_docs(settings: Settings) -> Path:
    """Generate the static dbt docs and publish them as DIR/docs/index.html; returns its path."""
    if not settings.warehouse_path.exists():
        raise LifecycleError(
            f"no warehouse at {settings.warehouse_path}: the docs describe a built project",
            hint="run `lifecycle run` (or `lifecycle build`) first",
        )
    with warehouse_guard(settings):
        run_dbt(settings, ["docs", "generate", "--static"])
    source = settings.dbt_target_dir / "static_index.html"
    if not source.exists():
        raise LifecycleError(
            f"dbt docs generate wrote no {source.name}", hint=f"see {settings.root / 'dbt_logs'}"
        )
    out_dir = docs_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "index.html"
    tmp = out_dir / ".index.html.tmp"
    tmp.write_bytes(source.read_bytes())
    os.replace(tmp, target)
    return target
