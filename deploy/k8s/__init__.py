"""The Kubernetes manifests of the platform; ``python -m deploy.k8s.validate`` checks them."""
