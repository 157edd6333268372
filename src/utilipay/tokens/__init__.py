"""Named API tokens with scopes, for the admin API and ``/metrics``."""
