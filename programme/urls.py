from django.contrib import admin
from django.urls import include, path

from programme import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("programme.urls_records")),
    path("communes/", include("communes.urls")),
    path("", include("reports.urls")),
]
# Uploaded files are never served as static files: programme:attachment checks who asks.

# A request that fails because PostgreSQL is restarting answers 503 with a page saying so.
handler500 = "programme.errors.server_error_page"
