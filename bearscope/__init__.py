"""BearScope: the AI layer for Kustomer CRM."""
