"""The operator console: server-rendered pages (Jinja2 + htmx) at ``/console/`` for the
people who run the hub, each role with exactly its pages and actions (``staff.roles``).
It calls the same area services as the API; no business rule is written here."""
