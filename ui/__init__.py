"""The Streamlit app's pages and helpers; `app.py` wires them into a navigation. Talks to `lab.api` only."""
