"""The simulated cluster's Kubernetes API over HTTP, for kubectl and API clients.

``c.serve()`` (:mod:`.serving`) starts it; the modules, one concept each:
:mod:`.server` (socket, threads, kubeconfig, clock), :mod:`.handler` (one
request: auth, limits, routing), :mod:`.routes` (URL shapes),
:mod:`.discovery`, :mod:`.resources` (the verbs), :mod:`.selection` (field
selectors, pages), :mod:`.watch`, :mod:`.tables` (server-side printing),
:mod:`.openapi` and :mod:`.status` (errors as Status objects).
docs/SERVE.md explains how to use it and why time and locking work as they do.
"""
