from lambdex_cli.main import app

app(prog_name="lambdex")
