from django.urls import path

from reports import views_reviews as views

urlpatterns = [
    path("", views.PeriodReportListView.as_view(), name="report_list"),
    path("new/", views.report_new, name="report_new"),
    path("<int:pk>/", views.report_detail, name="report_detail"),
    path("<int:pk>/submit/", views.report_submit, name="report_submit"),
    path("<int:pk>/approve/", views.report_approve, name="report_approve"),
    path("<int:pk>/return/", views.report_return, name="report_return"),
    path(
        "<int:pk>/export.<str:file_format>",
        views.report_export,
        name="report_export",
    ),
]
