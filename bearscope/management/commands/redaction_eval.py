"""Measure the redactor on the labelled support messages: recall, precision, look-alikes kept, speed."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bearscope.pii.evaluation import DEFAULT_SET, messages_load, redaction_evaluate


class Command(BaseCommand):
    help = (
        "Run the redactor over a labelled JSONL set (default: bearscope/pii/data/generated_messages.jsonl, "
        "written by scripts/pii_generate.py) and print recall and precision per kind (a finding counts "
        "when it covers the labelled span), the look-alikes it wrongly redacted, and milliseconds per "
        "message (p50/p99). Touches no database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled JSONL set")
        parser.add_argument("--examples", type=int, default=5, help="misses and wrong findings shown (5)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        path: Path = options["set"]
        try:
            messages = messages_load(path=path)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        if not messages:
            raise CommandError(f"{path} has no messages.")
        try:
            result = redaction_evaluate(messages=messages, examples=options["examples"])
        except (KeyError, TypeError) as exc:
            raise CommandError(f"{path} is not a labelled set (missing {exc}).") from exc
        result["set"] = str(path)
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self._print(result)

    def _print(self, r: dict) -> None:
        write = self.stdout.write
        write(f"Redaction on {r['messages']} messages ({r['set']})")
        write("")
        write("  kind      labelled  recall     found  precision  detected")
        for kind, row in [*r["kinds"].items(), ("all", r["overall"])]:
            write(
                f"  {kind:<8}  {row['labelled']:>8}  {_share(row['recall']):>7}  {row['found']:>7}  "
                f"{_share(row['precision']):>9}  {row['detected']:>8}"
            )
        write("")
        lookalikes = r["lookalikes"]
        write(f"  look-alikes wrongly redacted: {lookalikes['redacted']} of {lookalikes['total']}")
        for kind, row in lookalikes["by_kind"].items():
            write(f"    {kind:<13} {row['redacted']:>3} of {row['total']}")
        outside = ", ".join(f"{k} {v['redacted']} of {v['total']}" for k, v in r["out_of_scope"].items())
        if outside:
            write(f"  not looked for (redacted of present): {outside}")
        speed = r["speed_ms"]
        write(
            f"  speed: p50 {speed['p50']:.2f} ms, p99 {speed['p99']:.2f} ms, mean {speed['mean']:.2f} ms "
            "per message (a new Redactor and one redact)"
        )
        for title, key in (
            ("missed", "missed"),
            ("found but not labelled", "false_positives"),
            ("look-alikes redacted", "lookalikes_redacted"),
        ):
            if r["examples"][key]:
                write("")
                write(f"  {title} (first {len(r['examples'][key])}):")
                for example in r["examples"][key]:
                    where = f"{example['id']} {example['kind']:<6}"
                    write(f"    {where} {example['text']!r} in {example['context']!r}")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
