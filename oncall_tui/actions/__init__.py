"""Write side: silences, annotations, rollback, runbook steps (read-only guard, confirm, audit)."""
