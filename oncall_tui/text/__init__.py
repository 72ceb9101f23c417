"""Text the app may show or write: untrusted text made inert (:mod:`.sanitize`) and secrets
redacted (:mod:`.redact`). The bottom of the layering: every other package may import it and it
imports none of ours (settings, core, clients, actions and the UI all do)."""
