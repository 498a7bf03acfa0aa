"""The web pages: dispatcher console, customer tracking page, planner view.

Plain HTML and ES modules in ``static/``, served as they are; the browser
libraries (Leaflet, Chart.js) come from ``node_modules/``, installed from the
npm registry by ``npm ci`` in this folder (``package-lock.json`` pins them).
See ``docs/web.md``.
"""
