"""Message templates with ``#name#`` placeholders, and their CRUD."""
