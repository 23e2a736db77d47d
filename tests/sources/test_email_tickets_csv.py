"""SendGrid, Zendesk pages, spend and erasure CSVs."""

from __future__ import annotations

from flows.sources.ingest import ingest_source

from .conftest import query, sg, ticket, write_json, write_jsonl


def test_sendgrid_arrays_and_jsonl_dedupe_on_event_id_and_event(settings, raw):
    write_json(raw / "email" / "post1.json", [sg(1, "processed"), sg(1, "delivered", sg_event_id="ev-1")])
    write_jsonl(
        raw / "email" / "stream.jsonl",
        [
            sg(1, "delivered"),  # redelivery of post1's second event
            sg(2, "bounce", type="blocked", category=["a", "b"], marketing_campaign_id=12),
            sg(3, "open", timestamp=1767225600123),  # milliseconds
            sg(4, "Processed", timestamp="1767225600"),  # numeric string, capitalised event
            sg(5, "click", timestamp="soon"),
            sg(6, "open", sg_event_id=None),
        ],
    )
    summary = ingest_source(settings, "email")
    assert (summary.rows, summary.duplicates, summary.rejects) == (5, 1, 2)
    rows = {
        r[0]: r[1:]
        for r in query(
            settings,
            "select sg_event_id || '/' || event, bounce_type, category::varchar, marketing_campaign_id, "
            "ts::varchar from raw.sendgrid_events",
        )
    }
    assert rows["ev-2/bounce"] == ("blocked", '["a","b"]', "12", "2026-01-01 00:00:02")
    assert rows["ev-3/open"][3] == "2026-01-01 00:00:00.123"
    assert rows["ev-4/processed"][3] == "2026-01-01 00:00:00"
    assert dict(query(settings, "select _line, reason from raw.rejects")) == {
        5: "unparseable timestamp: soon",
        6: "missing sg_event_id",
    }


def test_zendesk_pages_keep_every_version_and_latest_view(settings, raw):
    write_json(
        raw / "tickets" / "p1.json",
        {
            "tickets": [ticket(1, "2026-01-01T01:00:00Z"), ticket(2, "2026-01-01T01:00:00Z")],
            "after_cursor": "abc",
            "end_of_stream": False,
        },
    )
    write_json(
        raw / "tickets" / "p2.json",
        {
            "tickets": [
                ticket(1, "2026-01-02T01:00:00Z", status="solved"),
                ticket(2, "2026-01-01T01:00:00Z"),  # same version again
                ticket(3, "not a date"),
            ],
            "next_page": None,
            "end_time": 1767225600,
        },
    )
    write_json(
        raw / "tickets" / "users.json",
        {"users": [{"id": 101, "email": "a@x.com", "name": "A", "updated_at": "2026-01-01T00:00:00Z"}]},
    )
    write_json(
        raw / "tickets" / "metrics.json",
        {
            "ticket_metrics": [
                {
                    "id": 9,
                    "ticket_id": 1,
                    "replies": 2,
                    "reply_time_in_minutes": {"calendar": 30, "business": 10},
                    "full_resolution_time_in_minutes": {"calendar": 600},
                    "updated_at": "2026-01-02T00:00:00Z",
                }
            ]
        },
    )
    write_json(raw / "tickets" / "events.json", {"ticket_events": [{"id": 1}]})
    summary = ingest_source(settings, "tickets")
    assert (summary.files, summary.rows, summary.duplicates, summary.rejects) == (5, 5, 1, 2)
    assert query(settings, "select id, status from raw.zendesk_tickets_latest order by id") == [
        (1, "solved"),
        (2, "open"),
    ]
    assert query(settings, "select count(*) from raw.zendesk_tickets") == [(3,)]
    assert query(
        settings,
        "select reply_time_calendar_minutes, full_resolution_time_calendar_minutes, replies "
        "from raw.zendesk_ticket_metrics",
    ) == [(30, 600, 2)]
    assert query(settings, "select email from raw.zendesk_users") == [("a@x.com",)]
    reasons = sorted(r[0] for r in query(settings, "select reason from raw.rejects"))
    assert reasons[0].startswith("not a Zendesk export page")
    assert reasons[1] == "unparseable updated_at: not a date"


def test_spend_and_erasure_csv(settings, raw):
    (raw / "spend").mkdir()
    (raw / "spend" / "2026-01.csv").write_bytes(
        b"date,source,medium,campaign,spend,currency\n"
        b'2026-01-01,google,cpc,"brand, exact",12.50,usd\n'
        b"2026-01-02,google,cpc,x,lots,USD\n"
        b"2026-01-03,meta,\xff,y,3,EUR\n"
        b"2026-01-04,meta,paid_social,,4,EUR\n"
        b'2026-01-01,google,cpc,"brand, exact",12.50,usd\n'
    )
    (raw / "erasure").mkdir()
    (raw / "erasure" / "req.csv").write_text(
        "requested_at,email\n2026-01-05T10:00:00Z, Gone@Example.com\nnever,x@y.z\n"
    )
    spend = ingest_source(settings, "spend")
    assert (spend.rows, spend.duplicates, spend.rejects) == (2, 1, 2)
    assert query(settings, "select campaign, spend::varchar, currency from raw.spend order by date") == [
        ("brand, exact", "12.50", "USD"),
        (None, "4.00", "EUR"),
    ]
    assert dict(query(settings, "select _line, reason from raw.rejects where source = 'spend'")) == {
        3: "non-numeric spend: lots",
        4: "unreadable CSV row: INVALID ENCODING",
    }
    erasure = ingest_source(settings, "erasure")
    assert (erasure.rows, erasure.rejects) == (1, 1)
    assert query(settings, "select email, requested_at::varchar from raw.erasure_requests") == [
        ("Gone@Example.com", "2026-01-05 10:00:00")
    ]
