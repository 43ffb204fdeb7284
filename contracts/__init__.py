"""Event contracts of the Integration Points platform.

The only code the services share besides the chassis: the envelope every event travels in,
each topic's discriminated union of event types, and golden samples that must always parse.
Depends on nothing but pydantic and the standard library.
"""
