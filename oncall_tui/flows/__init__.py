"""Write flows: one small :class:`~oncall_tui.flows.base.ActionFlow` per write action.

Each flow is preview → confirmation screen → the write run through the
:class:`~oncall_tui.incident.Incident` in a worker → a notification. Flows hold no incident
logic: what a silence, ack, rollback or retry does lives in the incident and ``actions``.
"""
