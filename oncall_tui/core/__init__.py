"""UI-free logic: sanitising, redaction, golden signals, grouping, correlation."""
