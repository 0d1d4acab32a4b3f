"""`nook doctor`: runtime build, CPU variant and why, GPU, data folder, bundled model, a canary reply."""

from __future__ import annotations

import argparse
import json

from engine.diagnostics import run_checks

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def add_doctor_parser(sub) -> None:
    doctor = sub.add_parser("doctor", help="check the runtime, CPU variant, GPU, disk and a test reply")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument("--no-canary", action="store_true", help="skip the test reply in a child process")


def run_doctor(args: argparse.Namespace) -> int:
    """Exit 0 when everything can work, 1 when a check failed (each failure says what to do)."""
    report = run_checks(canary=not args.no_canary)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for check in report.checks:
            print(f"[{MARKS[check.status]}] {check.name:7} {check.summary}")
            if check.fix:
                print(f"         -> {check.fix}")
        print("Everything needed to chat works." if report.ok else "Something needs fixing (see FAIL above).")
    return 0 if report.ok else 1
