"""Orders: the catalogue, orders and their lines, payment and implementation."""
