"""The people who run the hub in the console: users, roles, sessions, second factors and
the four-eyes approvals of sensitive changes."""
