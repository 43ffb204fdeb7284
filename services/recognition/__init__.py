"""recognition: placeholder package; the service is built in issue 3."""
