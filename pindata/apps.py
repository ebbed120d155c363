from django.apps import AppConfig


class PindataConfig(AppConfig):
    name = "pindata"
    verbose_name = "Pin data"
