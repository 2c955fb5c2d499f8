"""Complete profile parts, shared by the tests of every tier (and the bench)."""

ADDRESS = {"street": "Storgatan 1", "postal_code": "111 22", "city": "Stockholm", "country": "SE"}
BILLING = {"legal_name": "Ada AB", "tax_id": "SE556677889901", "address": ADDRESS}
MAILING = {"recipient": "Ada Lovelace", "phone": "+46 8 123 456", "address": ADDRESS,
           "email": "invoices@ada.example"}
