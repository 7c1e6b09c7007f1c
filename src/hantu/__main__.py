from hantu.cli.main import run

run()
