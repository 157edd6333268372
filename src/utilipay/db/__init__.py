"""Database access: one SQLAlchemy ``MetaData`` for every business area's tables."""

from sqlalchemy import MetaData

metadata = MetaData()
