from django.urls import path

from reports import views_exports as views

urlpatterns = [
    path("", views.export_list, name="export_list"),
    path("contributions/", views.export_contributions, name="export_contributions"),
    path("<int:pk>/", views.export_detail, name="export_detail"),
    path("<int:pk>/download/", views.export_download, name="export_download"),
]
