"""The web app's pages: login, logout and the live plant view."""
