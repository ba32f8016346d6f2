"""``python -m provisioning.cli`` runs the command."""

from ._app import main

main()
