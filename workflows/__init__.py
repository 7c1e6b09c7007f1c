"""Entry points the deployment guide names (`python -m workflows.integrated_scheduler start`)."""
