"""The live Streamlit dashboard of gancore: a thin view that reads run snapshots and sends run commands.

`streamlit run dashboard/app.py`. The modules that build figures (`charts`, `theory`) and the link and
export helpers (`share`) are pure and never import Streamlit, so they are tested without a server.
"""
