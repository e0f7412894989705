from django.urls import include, path

app_name = "reports"

urlpatterns = [
    path("dashboard/", include("reports.urls_dashboard")),
    path("reports/", include("reports.urls_reviews")),
    path("completeness/", include("reports.urls_completeness")),
    path("exports/", include("reports.urls_exports")),
]
