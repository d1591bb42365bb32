"""Control routes about the seeded history: what it holds, its reference labels, the contact reasons."""

import csv
import io
from collections import Counter
from typing import Any

from . import history
from .routing import Raw, Response


class HistoryRoutes:
    """Mixed into SandboxApp: reads the history the state seeded (empty unless SandboxConfig.history)."""

    def history_route_table(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/_sandbox/history", self.ctl_history),
            ("GET", "/_sandbox/history/labels.csv", self.ctl_history_labels),
            ("GET", "/_sandbox/history/contact-reasons", self.ctl_contact_reasons),
        ]

    def ctl_history(self, **_: Any) -> Response:
        with self.state.lock:
            labels = list(self.state.history_labels.values())
            counts = dict(self.state.history_counts)

        def by(field: str) -> dict[str, int]:
            return dict(Counter(label[field] or "none" for label in labels).most_common())

        return (
            200,
            {
                "conversations": len(labels),
                **counts,
                "labelled": sum(1 for label in labels if label["intent"]),
                "with_contact_reason": sum(1 for label in labels if label["contact_reason"]),
                "by_intent": by("intent"),
                "by_channel": by("channel"),
                "by_status": by("status"),
                "by_language": by("language"),
            },
            {},
        )

    def ctl_history_labels(self, **_: Any) -> Response:
        """The intended label of each history conversation that has one (vague, off-topic ones have none)."""
        with self.state.lock:
            labels = list(self.state.history_labels.items())
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["conversation", "intent", "sub_intent"])
        writer.writerows(
            [id_, label["intent"], label["sub_intent"] or ""] for id_, label in labels if label["intent"]
        )
        return 200, Raw(out.getvalue().encode(), "text/csv; charset=utf-8"), {}

    def ctl_contact_reasons(self, **_: Any) -> Response:
        return 200, {"attribute": history.CONTACT_REASON, "reasons": history.contact_reasons()}, {}
