"""`lifecycle docs` (issue 17 item 5): one offline HTML file with lineage and every description.

About 1-3 minutes: `dbt docs generate` compiles the whole project and reads the catalog of the
session's real build (bi_published's warehouse copy); that is the point of the test.
"""

from __future__ import annotations

import re

from flows.docs import build_docs
from flows.report.page import DOCS_LINK


def test_docs_are_one_offline_file_with_lineage_and_descriptions(bi_published) -> None:
    path = build_docs(bi_published)
    assert path == bi_published.root / "docs" / "index.html"
    html = path.read_text()
    # Offline: no script, stylesheet or font fetched from the network.
    assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?://', html) == []
    # The manifest is inlined: descriptions of marts and columns, and the lineage (depends_on).
    assert "Segment messageId, the de-duplication key." in html
    assert "open_rate" in html and "mart_email_monthly" in html
    assert '"depends_on"' in html or "depends_on" in html
    assert not (bi_published.root / "docs" / ".index.html.tmp").exists()


def test_report_links_to_the_docs() -> None:
    assert 'href="../docs/index.html"' in DOCS_LINK
