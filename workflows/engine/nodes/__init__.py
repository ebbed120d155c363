"""Built-in node types, one module per type; each registers itself with the registry."""
