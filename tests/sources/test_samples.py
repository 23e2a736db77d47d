"""The documented payloads in ../shared/samples ingest verbatim with exact, explained counts.

Files are read in place (symlinked dirs), never copied into the repo. Expected numbers, by file:
- Segment (19 .json docs): 5 complete messages but only 2 distinct messageIds (the docs reuse
  022bb90c... in common_01, identify_02, page_02 and ajs-f8ca... in track_02/03) -> 2 rows,
  3 duplicates; 2 invalid JSON documents + 12 messages without messageId -> 14 rejects.
- SendGrid (27 docs, 39 records): 10 records lack sg_event_id -> rejects; webhook_07 repeats
  webhook_06's (sg_event_id, event) -> 1 duplicate; 28 rows.
- Zendesk (6 docs): cursor page + time page + ticket-object hold the same ticket version -> 1 row,
  2 duplicates; 2 ticket_metrics rows; a ticket_events page and a bare metric object -> 2 rejects.
"""

from __future__ import annotations

from flows.sources.ingest import ingest_all

from .conftest import query


def test_documented_samples_ingest_with_correct_counts(settings, samples_dir):
    settings.raw_dir.mkdir(parents=True)
    for source, sample in (("web", "segment"), ("email", "sendgrid"), ("tickets", "zendesk")):
        (settings.raw_dir / source).symlink_to(samples_dir / sample, target_is_directory=True)
    summary = ingest_all(settings)
    got = {s.source: (s.files, s.rows, s.duplicates, s.rejects) for s in summary.sources.values()}
    assert got["web"] == (19, 2, 3, 14)
    assert got["email"] == (27, 28, 1, 10)
    assert got["tickets"] == (6, 3, 2, 2)
    assert summary.total_rejects == 26
    table = str(summary).splitlines()
    assert table[0].split() == ["source", "files", "rows", "duplicates", "rejects"]
    assert table[-1].split() == ["total", "52", "33", "6", "26"]
    assert query(settings, "select count(*) from raw.rejects") == [(26,)]
    # Every record is accounted for in the manifest.
    assert query(
        settings,
        "select count(*) from raw.load_manifest where rows_in <> rows_loaded + duplicates + rejects",
    ) == [(0,)]
    # Unknown fields survive: the full SendGrid record is kept.
    assert query(
        settings,
        "select message->>'$.url_offset.type' from raw.sendgrid_events where _file like '%_27.json'",
    ) == [("html",)]
    assert query(settings, "select id, satisfaction_score, via_channel from raw.zendesk_tickets") == [
        (35436, "good", "web")
    ]
    # Second run: nothing new.
    again = ingest_all(settings)
    assert again.total_files == 0 and again.total_rows == 0
