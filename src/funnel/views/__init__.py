"""Each page as plain data: what the pages need beyond the math (session keys, labels, link params, captions), with no streamlit."""
