"""A minimal Django project serving django-oauth-toolkit for Limen's benchmark."""
