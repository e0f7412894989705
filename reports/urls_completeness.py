from django.urls import path

from reports import views_completeness as views

urlpatterns = [
    path("", views.completeness_page, name="completeness"),
    path("rebuild/", views.rebuild, name="completeness_rebuild"),
    path(
        "rebuild/<uuid:task_id>/",
        views.rebuild_progress,
        name="completeness_rebuild_progress",
    ),
    path(
        "rebuild/<uuid:task_id>/status/",
        views.rebuild_status,
        name="completeness_rebuild_status",
    ),
]
