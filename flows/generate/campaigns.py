"""The demo's win-back campaign: a simulated year of Lifecycle syncing `win_back` daily, with a holdout.

Holdout lift can only be measured after the fact, so the generated world includes the campaign as
Lifecycle would have run it (issue 19, DECISIONS "Demo holdout effect"):

- every day, at 00:30 UTC, a simulated sync puts the customers who became at_risk since the last
  one (last order `at_risk_days` + 1 days ago, the dbt rule) and whose address is not suppressed
  into the segment; each is assigned with the SAME function and salt as `lifecycle sync`
  (`flows.activation.holdouts.assign_group`, over the person_id dbt will give them);
- the treated are sent a "We miss you" SendGrid campaign that morning (real event chain: delivered,
  opens, clicks, bounces through `EmailProgramme`);
- the treatment effect: a treated person whose mail can be delivered comes back and orders, with
  probability `effect` (default `DEFAULT_EFFECT`), on a day drawn uniformly from the next
  `EFFECT_DAYS` days (inside the 30-day lift window). Held-out persons get nothing. Every other
  behaviour is the same for both groups, so the expected measured conversion lift is about
  `effect * (1 - baseline conversion)` (an intent-to-treat effect diluted by undeliverable mail);
- the simulated syncs' assignment log goes to `raw/sync_history/holdout_assignments.csv`, which
  `lifecycle sync` adopts (checking every group against the function) as its earlier history.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from flows.generate.email_events import Sends

SEGMENT = "win_back"
DEFAULT_EFFECT = 0.25
EFFECT_DAYS = 25  # extra orders fall 1..25 days after the send, inside lift_window_days (30)
AT_RISK_DAYS = 90  # dbt var at_risk_days
SYNC_SECONDS = 30 * 60  # the simulated daily sync runs at 00:30 UTC
CAMPAIGN_ID_BASE = 40_000


def person_ids(user_ids: list[str]) -> np.ndarray:
    """The person_id dbt gives a person whose best identifier is this userId (macro person_id_from)."""
    return np.array(
        ["p_" + hashlib.md5(f"user_id:{u}".encode()).hexdigest()[:16] for u in user_ids], dtype=object
    )


@dataclass
class WinBackCampaign:
    user_ids: list[str]
    start_ts: int
    share: float
    salt: str
    effect: float = DEFAULT_EFFECT
    holdout: np.ndarray = field(init=False)
    pids: np.ndarray = field(init=False)
    log_person: list[np.ndarray] = field(default_factory=list)
    log_day: list[np.ndarray] = field(default_factory=list)
    sends: int = 0

    def __post_init__(self) -> None:
        from flows.activation.holdouts import HOLDOUT, assign_group

        self.pids = person_ids(self.user_ids)
        self.holdout = np.array(
            [assign_group(p, SEGMENT, self.salt, self.share) == HOLDOUT for p in self.pids], dtype=bool
        )

    def plan(
        self,
        d: int,
        n_orders: np.ndarray,
        last_order_day: np.ndarray,
        suppressed: np.ndarray,
        bad_address: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[Sends | None, np.ndarray, np.ndarray]:
        """Today's sync: (the treated's Sends, persons who will order, on which day)."""
        none = np.zeros(0, dtype=np.int64)
        entering = np.flatnonzero((n_orders > 0) & (last_order_day == d - AT_RISK_DAYS - 1) & ~suppressed)
        if not len(entering):
            return None, none, none
        self.log_person.append(entering)
        self.log_day.append(np.full(len(entering), d, dtype=np.int64))
        treated = entering[~self.holdout[entering]]
        if not len(treated):
            return None, none, none
        self.sends += 1
        day0 = self.start_ts + d * 86400
        ts0 = day0 + 9 * 3600 + rng.integers(0, 3600, len(treated))
        name = f"We miss you {self.sends}"
        sends = Sends(treated, ts0, CAMPAIGN_ID_BASE + self.sends, name, None, 1.3, False)
        reached = treated[~bad_address[treated]]
        back = reached[rng.random(len(reached)) < self.effect]
        return sends, back, d + rng.integers(1, EFFECT_DAYS + 1, len(back))

    def write_log(self, raw_dir: Path) -> int:
        """The simulated syncs' assignments, in the `sync.holdout_assignments` columns; rows written."""
        out = raw_dir / "sync_history"
        out.mkdir(parents=True, exist_ok=True)
        person = np.concatenate(self.log_person) if self.log_person else np.zeros(0, dtype=np.int64)
        day = np.concatenate(self.log_day) if self.log_day else np.zeros(0, dtype=np.int64)
        frame = pl.DataFrame(
            {
                "segment": [SEGMENT] * len(person),
                "person_id": self.pids[person].tolist(),
                "assigned_group": np.where(self.holdout[person], "holdout", "treated").tolist(),
                "assigned_at": pl.Series((self.start_ts + day * 86400 + SYNC_SECONDS) * 1_000_000).cast(
                    pl.Datetime("us")
                ),
            },
            schema={
                "segment": pl.Utf8,
                "person_id": pl.Utf8,
                "assigned_group": pl.Utf8,
                "assigned_at": pl.Datetime("us"),
            },
        )
        tmp = out / ".holdout_assignments.csv.tmp"
        frame.write_csv(tmp, datetime_format="%Y-%m-%dT%H:%M:%S")
        tmp.replace(out / "holdout_assignments.csv")
        return frame.height
