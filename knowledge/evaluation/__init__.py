"""Evaluation: question sets, metrics, judges and runs that compare configurations (issue 12)."""
