"""The read side: plain functions over a session that return plain data, one module
per reader (the dashboard's pages, the exports). A unit of work runs them
(`uow.read(view, ...)`, `uow.stream(view, ...)`), so the session never leaves
`storage/`. The public pages' reads are `storage.public_views`.
"""
