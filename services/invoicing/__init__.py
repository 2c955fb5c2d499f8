"""Invoicing: what is invoiceable, invoice applications, and issued invoices."""
