"""The programme database: SQLAlchemy 2.x models and session handling."""

from npq.db.engine import make_engine, make_session_factory, session_scope
from npq.db.models import Base

__all__ = ["Base", "make_engine", "make_session_factory", "session_scope"]
