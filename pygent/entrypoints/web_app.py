"""The script ``pygent-ui`` hands to ``streamlit run``; the page lives in ``web_view``."""

from pygent.entrypoints.web_view import render_page

render_page()
