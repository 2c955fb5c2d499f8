"""Billing: customer accounts, users and credentials, and the double-entry ledger."""
