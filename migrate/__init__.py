"""helm-to-kustomize: move llm-d-modelservice Helm releases to Kustomize, and prove nothing changed."""

__version__ = "0.1.0"
PROG = "helm-to-kustomize"
