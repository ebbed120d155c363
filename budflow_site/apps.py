from django.apps import AppConfig


class BudflowSiteConfig(AppConfig):
    name = "budflow_site"
    verbose_name = "BudFlow"
