"""Projections: one read model per agency, each in its own database and consumer group.

Reads the domain topics; writes nothing to Kafka. Each view holds only what its agency may
see, and serves its agency's read API.
"""
