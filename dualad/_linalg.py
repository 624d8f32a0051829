"""numpy.linalg on duals (placeholder: filled in by the linear-algebra work)."""
