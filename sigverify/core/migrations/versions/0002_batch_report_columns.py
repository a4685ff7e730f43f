"""Schema 2: batch report columns (batch_items.details, batch_items.crop_png; owner: core/batch/).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA_VERSION = 2


def upgrade() -> None:
    # a store made at schema 1 by sigverify before Alembic got these from create_all already
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("batch_items")}
    for column in (sa.Column("details", sa.Text),  # JSON: file label, X9 fields, scores, timings
                   sa.Column("crop_png", sa.LargeBinary)):  # signature thumbnail, via cipher
        if column.name not in present:
            op.add_column("batch_items", column)


def downgrade() -> None:
    with op.batch_alter_table("batch_items") as batch:
        batch.drop_column("crop_png")
        batch.drop_column("details")
