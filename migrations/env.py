"""Alembic environment: migrates the database named by DATABASE_URL (or the caller's URL)."""

from alembic import context

from npq.db.engine import make_engine
from npq.db.models import Base
from npq.settings import Settings

url = context.config.attributes.get("database_url") or Settings.from_env().database_url
# Rasa's SQL tracker store keeps conversations in a table of its own beside ours (on
# PostgreSQL); autogenerate must never offer to drop it.
FOREIGN_TABLES = frozenset({"events"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    return not (type_ == "table" and reflected and compare_to is None and name in FOREIGN_TABLES)


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
