"""The crash suite: the whole platform under load while its processes are killed.

``python -m deploy.local.chaos --help``. Starts a stack and every platform process of
``make run`` (services, relays, views) on loopback, drives realistic cases over HTTP, sends
SIGKILL to random processes it started (by PID) and restarts the broker, then waits for the
platform to catch up and compares every view with the fold of the services' event stores.
"""
