"""The payer pages (H5): mobile pages a channel opens in its app's web view."""
