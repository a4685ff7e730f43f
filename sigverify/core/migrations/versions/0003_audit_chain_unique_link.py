"""Schema 3: the database itself refuses a fork in the audit chain.

Revision ID: 0003
Revises: 0002
Two records linking to the same predecessor (the same prev_hash) would be two chains; a unique
index makes the second insert fail, whatever a writer does, instead of relying only on the
writers serialising themselves (core/security/audit.py says how they do).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA_VERSION = 3


def upgrade() -> None:
    conn = op.get_bind()
    forks = conn.execute(sa.text(
        "SELECT prev_hash, COUNT(*) FROM audit_log GROUP BY prev_hash HAVING COUNT(*) > 1")).all()
    if forks:
        # never "repair" an audit trail silently: say so and leave the database as it was
        raise RuntimeError(f"the audit trail forks ({len(forks)} records share a predecessor): "
                           "run `sigverify audit verify` and keep this database for the auditors; "
                           "it was not upgraded")
    op.create_index("uq_audit_log_prev_hash", "audit_log", ["prev_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_audit_log_prev_hash", "audit_log")
