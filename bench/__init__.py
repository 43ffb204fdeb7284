"""The benchmark suite: ``python -m bench`` measures the platform on the local stack.

Every figure it prints was measured in the same run, next to its calibration (the same work
done raw with asyncpg and aiokafka) and a peer (the ``eventsourcing`` library on the same
PostgreSQL). ``--smoke`` runs every benchmark once on tiny counts, so it keeps working.
"""
