"""Who may use the admin API: named API tokens with scopes, the check every admin route
makes, and the audit log's reader."""
