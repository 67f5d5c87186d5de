"""The chat application's pieces, kept out of app.py so each can be read and tested alone."""
