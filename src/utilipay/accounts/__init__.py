"""An account's bills wherever they live: the hub's own tables for a hosted biller, the
biller protocol's ``query`` for a remote one."""
