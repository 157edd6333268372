"""The payer pages, one module per group; each is added to ``h5.mount.PAGES``."""
