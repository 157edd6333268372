"""The HTTP server's application: the edge, the routes of every area, the running hub."""
