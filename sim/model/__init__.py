"""Model layer: the SimPy helpline. It plays out contacts and records events, nothing else.

helpline (the environment and the phone caller's journey), lines (a line group),
callers (attributes drawn at creation), routing (pure decisions), callbacks (the answering
machine), chats, emails, arrivals, calendar, streams, eventlog (what is recorded).
"""
