"""URLs of the backtest pages, mounted at /backtests/."""

from django.urls import path

from . import views

app_name = "backtests"
urlpatterns = [
    path("", views.backtest_list, name="list"),
    path("compare/", views.backtest_compare, name="compare"),
    path("<int:pk>/", views.backtest_detail, name="detail"),
    path("<int:pk>/csv/", views.backtest_csv, name="csv"),
]
