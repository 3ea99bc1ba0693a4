"""SQLModel tables, engines and sessions. Importing this package registers every table."""

from sqlmodel import SQLModel

from models import auth, catalog, customers  # noqa: F401

metadata = SQLModel.metadata
