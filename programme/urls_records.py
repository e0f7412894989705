from django.urls import path

from programme import picker, views
from programme.imports import views as imports

app_name = "programme"

urlpatterns = [
    path("communes/<int:pk>/", views.commune_detail, name="commune_detail"),
    path("visits/", views.VisitListView.as_view(), name="visit_list"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("difficulties/", views.DifficultyListView.as_view(), name="difficulty_list"),
    path("difficulties/new/", views.difficulty_new, name="difficulty_new"),
    path("difficulties/<int:pk>/", views.difficulty_detail, name="difficulty_detail"),
    path("difficulties/<int:pk>/edit/", views.difficulty_edit, name="difficulty_edit"),
    path("contributions/", views.ContributionListView.as_view(), name="contribution_list"),
    path("contributions/new/", views.contribution_new, name="contribution_new"),
    path("contributions/<int:pk>/", views.contribution_detail, name="contribution_detail"),
    path("contributions/<int:pk>/edit/", views.contribution_edit, name="contribution_edit"),
    path(
        "contributions/<int:pk>/confirm/", views.contribution_confirm, name="contribution_confirm"
    ),
    path("plans/items/", views.PlanItemListView.as_view(), name="plan_item_list"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", views.plan_edit, name="plan_edit"),
    path("plans/items/<int:pk>/edit/", views.plan_item_edit, name="plan_item_edit"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("attachments/add/<str:kind>/<int:pk>/", views.attachment_add, name="attachment_add"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/commit/", imports.import_commit, name="import_commit"),
    path("imports/<int:pk>/undo/", imports.import_undo, name="import_undo"),
    path("imports/<int:pk>/problems.csv", imports.import_problems, name="import_problems"),
    path("imports/template/<slug:kind>.xlsx", imports.import_template, name="import_template"),
    path("pick/plan-items/", picker.plan_items_view, name="pick_plan_items"),
    path("pick/<slug:source>/", picker.pick_view, name="pick"),
]
