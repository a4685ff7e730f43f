"""Schema 1: customers, reference signatures, verifications, settings, users, audit log, batches.

Revision ID: 0001
Revises:
The tables are spelled out as they were at schema 1 (not taken from store.py), so this revision
builds the same database whatever later revisions change.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA_VERSION = 1


def upgrade() -> None:
    op.create_table("schema_version", sa.Column("version", sa.Integer, nullable=False))
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False, unique=True),
        sa.Column("name", sa.String(256)),
        sa.Column("account", sa.String(64)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128)),
    )
    op.create_index("ix_customers_account", "customers", ["account"])
    op.create_table(
        "reference_signatures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_pk", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("file_name", sa.String(1024)),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("image_bytes", sa.LargeBinary, nullable=False),
        sa.Column("box", sa.String(64)),
        sa.Column("normalized_png", sa.LargeBinary, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.Column("removed_at", sa.String(32)),
        sa.Column("removed_by", sa.String(128)),
        sa.Column("removal_reason", sa.Text),
    )
    op.create_index("ix_reference_signatures_customer_pk", "reference_signatures", ["customer_pk"])
    op.create_table(
        "verifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("file_name", sa.String(1024)),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("box", sa.String(64)),
        sa.Column("score", sa.Float),
        sa.Column("decision", sa.String(16)),
        sa.Column("reference_scores", sa.Text),
        sa.Column("thresholds", sa.Text),
        sa.Column("model_version", sa.String(64)),
        sa.Column("providers", sa.String(256)),
        sa.Column("user", sa.String(128)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("final_decision", sa.String(32)),
        sa.Column("final_by", sa.String(128)),
        sa.Column("final_at", sa.String(32)),
    )
    op.create_index("ix_verifications_customer_id", "verifications", ["customer_id"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(128), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("disabled", sa.Integer, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("user", sa.String(128)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "batch_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(2048), nullable=False),
        sa.Column("options", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32)),
        sa.Column("user", sa.String(128)),
    )
    op.create_table(
        "batch_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("batch_runs.id"), nullable=False),
        sa.Column("item_key", sa.String(2048), nullable=False),
        sa.Column("customer_id", sa.String(128)),
        sa.Column("score", sa.Float),
        sa.Column("decision", sa.String(16)),
        sa.Column("reference_id", sa.Integer),
        sa.Column("box", sa.String(64)),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("run_id", "item_key"),
    )
    op.create_index("ix_batch_items_run_id", "batch_items", ["run_id"])


def downgrade() -> None:
    for table in ("batch_items", "batch_runs", "audit_log", "users", "settings", "verifications",
                  "reference_signatures", "customers", "schema_version"):
        op.drop_table(table)
