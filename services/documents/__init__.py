"""Documents: rendering (HTML → PDF), the file store, and the documents each service asks for."""
