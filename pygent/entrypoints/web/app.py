"""The script ``pygent-ui`` hands to ``streamlit run``; the page lives in ``view``."""

from pygent.entrypoints.web.view import render_page

render_page()
