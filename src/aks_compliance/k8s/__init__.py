"""Kubernetes objects as an input family: manifests, snapshots of a live cluster, and the collector.

Each ``--k8s`` argument (a manifests file or directory, or a snapshot file) is one *cluster scope*
(:class:`scope.K8sScope`): objects of different scopes never see each other, so joins (network
policies per namespace, RBAC bindings to roles) stay within one scope. A live cluster is first
collected into a snapshot (:mod:`collector`), and the snapshot is what gets checked, so a run can be
repeated offline on the same evidence.

Nothing here imports the ``kubernetes`` client except :mod:`collector`, and that only when a live
cluster is read: scanning manifests or a snapshot needs no client.
"""
