from helpdesk import create_app

app = create_app()
