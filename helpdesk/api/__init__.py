"""The JSON API: key-authenticated, CSRF-exempt, one module per contract."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
