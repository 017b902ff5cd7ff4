"""What the road past one database (docs/scaling.md, Citus schema-based sharding) asks of
the data model, declared once and enforced by tests/test_sharding_rules.py:

- each tenant schema becomes a distributed schema living whole on one worker node, so a tenant
  table may reference (foreign key, join) only tables of its own schema, or public tables that
  Citus replicates to every node: the reference tables below;
- no query joins two tenant schemas (they may sit on different nodes).
"""

# Public models whose tables become Citus reference tables (replicated to every worker). Tenant
# rows name users by id (appointments' staff_id, calendar feeds' created_by_id), and reading a
# staff member's name next to them must stay on the tenant's node.
REFERENCE_MODELS = frozenset({"accounts.User"})
