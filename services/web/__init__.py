"""The case workers' web pages (German, rendered on the server): sign-in, caseload, a case's
timeline, the command forms of the four services and the steering report.

It holds no data of its own: it reads the signed-in agency's view over its read API (with
the user's signed token), sends commands to the services' HTTP APIs on the agency's behalf,
and reads the steering view's figures. It never imports a service: HTTP only.
"""
