"""``python -m webapp.jobs worker|cron|rotate-keys``."""

from webapp.jobs.commands import jobs_cli

if __name__ == "__main__":
    jobs_cli()
