from django.urls import path

from reports import views_dashboard

urlpatterns = [
    path("", views_dashboard.dashboard, name="dashboard"),
    path("markers.json", views_dashboard.dashboard_markers, name="dashboard_markers"),
]
