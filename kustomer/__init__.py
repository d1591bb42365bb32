"""Everything that speaks Kustomer: webhook intake, API client, mirror models, sandbox."""
