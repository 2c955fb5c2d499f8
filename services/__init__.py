"""The billing console's back-end services and the code they share (``services.common``)."""
