"""Kubernetes manifests of the platform and their offline validation (``python -m deploy.k8s.validate``)."""
